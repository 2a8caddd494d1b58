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

func TestSecurityOpts(t *testing.T) {
	jaas := `org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="p";`
	tests := []struct {
		props   map[string]string
		n       int
		wantErr bool
	}{
		{props: nil, n: 0},
		{props: map[string]string{"security.protocol": "plaintext"}, n: 0},
		{props: map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.jaas.config": jaas}, n: 1},
		{props: map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-512", "sasl.jaas.config": jaas}, n: 1},
		{props: map[string]string{"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-256", "sasl.jaas.config": jaas}, n: 2},
		{props: map[string]string{"security.protocol": "SSL", "ssl.endpoint.identification.algorithm": ""}, n: 1},
		{props: map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "GSSAPI", "sasl.jaas.config": jaas}, wantErr: true},
		{props: map[string]string{"security.protocol": "SASL_PLAINTEXT"}, wantErr: true},
		{props: map[string]string{"security.protocol": "TLS"}, wantErr: true},
		{props: map[string]string{"security.protocol": "SSL", "ssl.truststore.type": "JKS"}, wantErr: true},
		{props: map[string]string{"security.protocol": "SSL", "ssl.truststore.location": "/nonexistent"}, wantErr: true},
	}
	for _, tt := range tests {
		opts, err := SecurityOpts(tt.props)
		if (err != nil) != tt.wantErr || (!tt.wantErr && len(opts) != tt.n) {
			t.Errorf("SecurityOpts(%v) = %d opts, %v; want %d, err %v", tt.props, len(opts), err, tt.n, tt.wantErr)
		}
	}
}
