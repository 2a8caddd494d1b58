package out

import (
	"bytes"
	"io"
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

func TestHumanUnits(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{{-1, "-1 B"}, {0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1258291, "1.2 MiB"}, {3 << 30, "3.0 GiB"}, {1 << 62, "4.0 EiB"}} {
		if got := Bytes(tc.n); got != tc.want {
			t.Errorf("Bytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
	for _, tc := range []struct {
		r    float64
		want string
	}{{0, "0 B/s"}, {950, "950 B/s"}, {3.4e6, "3.4 MB/s"}, {1.25e9, "1.2 GB/s"}} {
		if got := Rate(tc.r); got != tc.want {
			t.Errorf("Rate(%v) = %q, want %q", tc.r, got, tc.want)
		}
	}
}

// TestTerminal checks that colour and progress reach a terminal only: not a buffer, not with
// NO_COLOR set, not with --format json.
func TestTerminal(t *testing.T) {
	table := func(w io.Writer) {
		tb := NewTable(w, "name", "size")
		tb.Row("a", Bytes(2048))
		if err := tb.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	var plain, tty bytes.Buffer
	table(&plain)
	table(FakeTTY{&tty})
	if want := "NAME  SIZE\na     2.0 KiB\n"; plain.String() != want {
		t.Errorf("table to a buffer: %q, want %q", plain.String(), want)
	}
	if want := "\x1b[1mNAME  SIZE\x1b[0m\na     2.0 KiB\n"; tty.String() != want {
		t.Errorf("table to a terminal: %q, want %q", tty.String(), want)
	}
	if Color(FakeTTY{&tty}, JSON) {
		t.Error("colour with --format json")
	}
	t.Setenv("NO_COLOR", "")
	if Color(FakeTTY{&tty}, Text) {
		t.Error("colour with NO_COLOR set")
	}

	var quiet, shown bytes.Buffer
	for _, w := range []io.Writer{&quiet, FakeTTY{&shown}} {
		p := NewProgress(w, "resetting", 3)
		p.Add(1)
		p.Add(2)
		p.Done()
	}
	if quiet.Len() != 0 {
		t.Errorf("progress to a buffer wrote %q", quiet.String())
	}
	if want := "\r\x1b[Kresetting 1/3\r\x1b[Kresetting 3/3\r\x1b[K"; shown.String() != want {
		t.Errorf("progress to a terminal: %q, want %q", shown.String(), want)
	}
}
