package produce

import (
	"context"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

func strp(s string) *string { return &s }

func TestLineReader(t *testing.T) {
	tests := []struct {
		name    string
		props   []string
		line    string
		want    *kgo.Record
		wantErr string
	}{
		{name: "value only", line: "hello world", want: &kgo.Record{Value: []byte("hello world")}},
		{name: "empty line is an empty value", line: "", want: &kgo.Record{Value: []byte{}}},
		{name: "tab in value when keys are off", line: "a\tb", want: &kgo.Record{Value: []byte("a\tb")}},
		{name: "default key separator is a tab", props: []string{"parse.key=true"}, line: "k\tv",
			want: &kgo.Record{Key: []byte("k"), Value: []byte("v")}},
		{name: "custom separator, split at the first", props: []string{"parse.key=true", "key.separator=:"}, line: "k:v:w",
			want: &kgo.Record{Key: []byte("k"), Value: []byte("v:w")}},
		{name: "multi-byte separator", props: []string{"parse.key=true", "key.separator=::"}, line: "k::v",
			want: &kgo.Record{Key: []byte("k"), Value: []byte("v")}},
		{name: "empty key", props: []string{"parse.key=true", "key.separator=:"}, line: ":v",
			want: &kgo.Record{Key: []byte{}, Value: []byte("v")}},
		{name: "missing separator", props: []string{"parse.key=true", "key.separator=:"}, line: "novalue",
			wantErr: `line 7: no key separator ":" found: "novalue"`},
		{name: "missing separator ignored", props: []string{"parse.key=true", "key.separator=:", "ignore.error=true"}, line: "novalue",
			want: &kgo.Record{Value: []byte("novalue")}},
		{name: "null marker", props: []string{"parse.key=true", "key.separator=:", "null.marker=NULL"}, line: "k:NULL",
			want: &kgo.Record{Key: []byte("k")}},
		{name: "headers", props: []string{"parse.headers=true", "parse.key=true"}, line: "h1:v1,h2:v2\tk\tv",
			want: &kgo.Record{
				Headers: []kgo.RecordHeader{{Key: "h1", Value: []byte("v1")}, {Key: "h2", Value: []byte("v2")}},
				Key:     []byte("k"), Value: []byte("v"),
			}},
		{name: "header without key separator", props: []string{"parse.headers=true"}, line: "h1\tv",
			wantErr: `line 7: no header key separator ":" found in "h1"`},
		{name: "missing headers delimiter", props: []string{"parse.headers=true"}, line: "v",
			wantErr: `line 7: no headers delimiter "\t" found: "v"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lr, err := newLineReader(tt.props)
			if err != nil {
				t.Fatal(err)
			}
			got, err := lr.record(tt.line, 7)
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
				t.Fatalf("got key %q value %q headers %v, want key %q value %q headers %v",
					got.Key, got.Value, got.Headers, tt.want.Key, tt.want.Value, tt.want.Headers)
			}
		})
	}
}

func TestLineReaderBadProperties(t *testing.T) {
	for _, props := range [][]string{
		{"parse.keys=true"},
		{"parse.key=yes"},
		{"parse.key=true", "key.separator="},
		{"null.marker=\t"},
		{"parse.headers=true", "headers.separator=:"},
		{"parse.headers=true", "headers.delimiter=,"},
	} {
		if _, err := newLineReader(props); err == nil {
			t.Errorf("newLineReader(%q): no error", props)
		}
	}
}

func TestAcksOpts(t *testing.T) {
	// One option sets the acks; a second turns idempotence off.
	for acks, n := range map[string]int{"all": 1, "ALL": 1, "-1": 1, "1": 2, "0": 2} {
		opts, err := acksOpts(acks, true, false)
		if err != nil || len(opts) != n {
			t.Errorf("acksOpts(%q) = %d opts, %v; want %d", acks, len(opts), err, n)
		}
	}
	if opts, err := acksOpts("all", false, true); err != nil || len(opts) != 2 {
		t.Errorf("acksOpts(all, --idempotent=false) = %d opts, %v; want 2", len(opts), err)
	}
	for _, acks := range []string{"1", "0"} {
		if _, err := acksOpts(acks, true, true); err == nil || !strings.Contains(err.Error(), "--idempotent needs --acks all") {
			t.Errorf("acksOpts(%q, --idempotent): %v, want the needs --acks all error", acks, err)
		}
	}
	for _, acks := range []string{"", "2", "none"} {
		if _, err := acksOpts(acks, true, false); err == nil {
			t.Errorf("acksOpts(%q): no error", acks)
		}
	}
}

func TestPartitionerOpt(t *testing.T) {
	for _, name := range []string{"murmur2", "round-robin", "sticky", "ROUND-ROBIN"} {
		if _, err := partitionerOpt(name, -1); err != nil {
			t.Errorf("partitionerOpt(%q): %v", name, err)
		}
	}
	if _, err := partitionerOpt("random", -1); err == nil || !strings.Contains(err.Error(), "want murmur2, round-robin or sticky") {
		t.Errorf("partitionerOpt(random): %v", err)
	}
	// An explicit partition wins over any partitioner name.
	if _, err := partitionerOpt("random", 2); err != nil {
		t.Errorf("partitionerOpt(random, 2): %v", err)
	}
}

// TestRunStopsAtBadLine needs no broker: the first line fails to parse, so
// nothing is sent.
func TestRunStopsAtBadLine(t *testing.T) {
	cl, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	lr, err := newLineReader([]string{"parse.key=true", "key.separator=:"})
	if err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), cl, strings.NewReader("no separator\nk:v\n"), io.Discard, lr, "t", -1)
	if err == nil || !strings.Contains(err.Error(), `line 1: no key separator ":" found`) {
		t.Fatalf("err = %v", err)
	}
}

func TestRequiredTopic(t *testing.T) {
	cmd := NewCommand()
	cmd.SetArgs([]string{}) // not nil: cobra would read os.Args
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), `"topic"`) {
		t.Fatalf("err = %v, want required flag topic", err)
	}
}

// FuzzLineReader checks that any line parses without panicking and that a
// parsed key and value, joined by the separator, give back the line.
func FuzzLineReader(f *testing.F) {
	f.Add("k:v", ":")
	f.Add("no separator", ":")
	f.Add("a::b::c", "::")
	f.Add("\xff\x00:\t", "\t")
	f.Fuzz(func(t *testing.T, line, sep string) {
		if sep == "" {
			return
		}
		lr, err := newLineReader([]string{"parse.key=true", "key.separator=" + sep, "ignore.error=true"})
		if err != nil {
			t.Fatal(err)
		}
		r, err := lr.record(line, 1)
		if err != nil {
			t.Fatal(err)
		}
		got := string(r.Value)
		if r.Key != nil {
			got = string(r.Key) + sep + got
		}
		if got != line {
			t.Fatalf("key %q value %q with separator %q do not rebuild %q", r.Key, r.Value, sep, line)
		}
	})
}
