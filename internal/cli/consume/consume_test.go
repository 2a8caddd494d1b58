package consume

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/cli/internal/golden"
)

// testRecords covers a keyed record with headers, a null key, a tombstone
// (null value) and an empty value.
func testRecords() []*kgo.Record {
	ts := time.UnixMilli(1700000000123)
	return []*kgo.Record{
		{Topic: "t", Partition: 0, Offset: 0, Timestamp: ts, Key: []byte("k1"), Value: []byte("hello"),
			Headers: []kgo.RecordHeader{{Key: "h1", Value: []byte("a")}, {Key: "h2", Value: nil}}},
		{Topic: "t", Partition: 2, Offset: 41, Timestamp: ts.Add(time.Second), Value: []byte("no key")},
		{Topic: "t", Partition: 2, Offset: 42, Timestamp: ts, Key: []byte("k1")},
		{Topic: "t", Partition: 3, Offset: 7, Timestamp: ts, Key: []byte{}, Value: []byte{}},
	}
}

func TestFormatter(t *testing.T) {
	tests := []struct {
		name  string
		props []string
	}{
		{name: "default", props: nil},
		{name: "key", props: []string{"print.key=true"}},
		{name: "key_colon", props: []string{"print.key=true", "key.separator=:"}},
		{name: "all", props: []string{"print.timestamp=true", "print.partition=true", "print.offset=true",
			"print.headers=true", "print.key=true"}},
		{name: "no_value", props: []string{"print.key=true", "print.offset=true", "print.value=false"}},
		{name: "custom_literals", props: []string{"print.key=true", "null.literal=<nil>", "line.separator=|\n",
			"print.headers=true", "headers.separator=;"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := newFormatter(tt.props)
			if err != nil {
				t.Fatal(err)
			}
			var b []byte
			for _, r := range testRecords() {
				b = f.appendRecord(b, r)
			}
			golden.Assert(t, "format_"+tt.name+".txt", b)
		})
	}
}

func TestFormatterBadProperties(t *testing.T) {
	for _, props := range [][]string{{"print.kye=true"}, {"print.key=1"}, {"print.key"}} {
		if _, err := newFormatter(props); err == nil {
			t.Errorf("newFormatter(%q): no error", props)
		}
	}
}

func TestClientOptsValidation(t *testing.T) {
	tests := []struct {
		name      string
		o         options
		offsetSet bool
		wantErr   string
	}{
		{name: "topic", o: options{topic: "t", partition: -1}},
		{name: "group", o: options{topic: "t", partition: -1, group: "g", fromBeginning: true}},
		{name: "partition offset", o: options{topic: "t", partition: 0, offset: "42"}, offsetSet: true},
		{name: "partition earliest", o: options{topic: "t", partition: 0, offset: "earliest"}, offsetSet: true},
		{name: "group and partition", o: options{topic: "t", partition: 0, group: "g"},
			wantErr: "--group and --partition cannot be given together"},
		{name: "group and offset", o: options{topic: "t", partition: -1, group: "g", offset: "1"}, offsetSet: true,
			wantErr: "--group and --offset cannot be given together"},
		{name: "offset without partition", o: options{topic: "t", partition: -1, offset: "1"}, offsetSet: true,
			wantErr: "--offset needs --partition"},
		{name: "offset and from-beginning", o: options{topic: "t", partition: 0, offset: "1", fromBeginning: true}, offsetSet: true,
			wantErr: "--from-beginning and --offset cannot be given together"},
		{name: "bad offset", o: options{topic: "t", partition: 0, offset: "-3"}, offsetSet: true,
			wantErr: `--offset "-3": want an offset (0 or more), earliest or latest`},
		{name: "negative max", o: options{topic: "t", partition: -1, maxMessages: -1},
			wantErr: "--max-messages -1: may not be negative"},
		{name: "negative timeout", o: options{topic: "t", partition: -1, timeoutMs: -1},
			wantErr: "--timeout-ms -1: may not be negative"},
		{name: "share group", o: options{topic: "t", partition: -1, shareGroup: "s"}},
		{name: "share group and group", o: options{topic: "t", partition: -1, shareGroup: "s", group: "g"},
			wantErr: "--group and --share-group cannot be given together"},
		{name: "share group and from-beginning", o: options{topic: "t", partition: -1, shareGroup: "s", fromBeginning: true},
			wantErr: "--share-group cannot be given with --partition, --offset or --from-beginning"},
		{name: "read committed", o: options{topic: "t", partition: 0, isolationLevel: "read_committed"}},
		{name: "bad isolation level", o: options{topic: "t", partition: -1, isolationLevel: "dirty"},
			wantErr: `--isolation-level "dirty": want read_uncommitted or read_committed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.o.clientOpts(tt.offsetSet)
			if tt.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseOffset(t *testing.T) {
	for _, s := range []string{"earliest", "LATEST", "0", "123"} {
		if _, err := parseOffset(s); err != nil {
			t.Errorf("parseOffset(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "-1", "first", "1.5"} {
		if _, err := parseOffset(s); err == nil {
			t.Errorf("parseOffset(%q): no error", s)
		}
	}
}

func TestRequiredTopic(t *testing.T) {
	cmd := NewCommand()
	cmd.SetArgs([]string{}) // not nil: cobra would read os.Args
	var stderr bytes.Buffer
	cmd.SetOut(io.Discard)
	cmd.SetErr(&stderr)
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), `"topic"`) {
		t.Fatalf("err = %v, want required flag topic", err)
	}
}
