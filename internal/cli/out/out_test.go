package out

import (
	"bytes"
	"testing"

	"github.com/gregorhq/gregor/internal/cli/internal/golden"
	"github.com/spf13/pflag"
)

func TestTable(t *testing.T) {
	var b bytes.Buffer
	tb := NewTable(&b, "name", "partitions", "replicas")
	tb.Row("quickstart-events", 3, 1)
	tb.Row("a", 12, 3)
	if err := tb.Flush(); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "table.golden", b.Bytes())
}

func TestTableNoHeaders(t *testing.T) {
	var b bytes.Buffer
	tb := NewTable(&b)
	tb.Row("", "Topic: a", "Partition: 0", "Leader: 1")
	tb.Row("", "Topic: a", "Partition: 10", "Leader: none")
	if err := tb.Flush(); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "table_noheaders.golden", b.Bytes())
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, map[string]any{"topic": "a<b>", "partitions": []int{0, 1}}); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "json.golden", b.Bytes())
}

func TestFormatFlag(t *testing.T) {
	var f Format
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	AddFormatFlag(fs, &f)
	if f != Text {
		t.Fatalf("default = %q, want text", f)
	}
	if err := fs.Parse([]string{"--format", "json"}); err != nil || f != JSON {
		t.Fatalf("--format json: %v, %q", err, f)
	}
	if err := fs.Parse([]string{"--format", "yaml"}); err == nil {
		t.Fatal("--format yaml accepted")
	}
}
