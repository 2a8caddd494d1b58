package property

import (
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	allowed := []string{"parse.key", "key.separator"}
	tests := []struct {
		name    string
		in      []string
		allowed []string
		want    map[string]string
		wantErr string
	}{
		{name: "empty", in: nil, want: map[string]string{}},
		{name: "pairs", in: []string{"parse.key=true", "key.separator=:"}, allowed: allowed,
			want: map[string]string{"parse.key": "true", "key.separator": ":"}},
		{name: "value with equals", in: []string{"key.separator=="}, allowed: allowed,
			want: map[string]string{"key.separator": "="}},
		{name: "empty value", in: []string{"key.separator="}, allowed: allowed,
			want: map[string]string{"key.separator": ""}},
		{name: "any key when allowed is nil", in: []string{"cleanup.policy=compact"},
			want: map[string]string{"cleanup.policy": "compact"}},
		{name: "no equals", in: []string{"parse.key"}, allowed: allowed,
			wantErr: `--property "parse.key": want key=value`},
		{name: "empty key", in: []string{"=x"},
			wantErr: `--property "=x": want key=value`},
		{name: "duplicate", in: []string{"parse.key=true", "parse.key=false"}, allowed: allowed,
			wantErr: `--property "parse.key=false": key "parse.key" given more than once`},
		{name: "unknown", in: []string{"pares.key=true"}, allowed: allowed,
			wantErr: `--property "pares.key=true": unknown key "pares.key" (supported: key.separator, parse.key)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("property", tt.in, tt.allowed)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBool(t *testing.T) {
	m := map[string]string{"a": "true", "b": "FALSE", "c": "yes"}
	for key, want := range map[string]bool{"a": true, "b": false, "missing": true} {
		got, err := Bool(m, key, true)
		if err != nil || got != want {
			t.Errorf("Bool(%q) = %v, %v; want %v", key, got, err, want)
		}
	}
	if _, err := Bool(m, "c", false); err == nil {
		t.Error(`Bool("c") accepted "yes"`)
	}
}
