package clientflags

import (
	"reflect"
	"testing"

	"github.com/spf13/pflag"
)

func TestBrokers(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "localhost:9092", want: []string{"localhost:9092"}},
		{in: "a:1, b:2,,c:3 ", want: []string{"a:1", "b:2", "c:3"}},
		{in: " , ", wantErr: true},
	}
	for _, tt := range tests {
		f := Flags{BootstrapServer: tt.in}
		got, err := f.Brokers()
		if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Brokers(%q) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestRegisterDefault(t *testing.T) {
	var f Flags
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	f.Register(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if f.BootstrapServer != DefaultBootstrapServer {
		t.Fatalf("default = %q", f.BootstrapServer)
	}
}
