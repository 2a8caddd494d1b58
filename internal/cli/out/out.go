// Package out writes command output: aligned tables for people and indented
// JSON for scripts, chosen by the --format flag; sizes and rates in human
// units (Bytes, Rate); and, on a terminal only, bold table headers and
// progress lines (term.go).
package out

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"
)

// Format is how a command prints its result. It implements pflag.Value, so an
// unknown value is rejected when flags are parsed.
type Format string

// The formats a command may print.
const (
	Text Format = "text" // aligned columns for people
	JSON Format = "json" // one indented JSON document for scripts
)

// String implements pflag.Value.
func (f *Format) String() string { return string(*f) }

// Set implements pflag.Value.
func (f *Format) Set(s string) error {
	switch Format(s) {
	case Text, JSON:
		*f = Format(s)
		return nil
	}
	return fmt.Errorf("want %s or %s", Text, JSON)
}

// Type implements pflag.Value.
func (f *Format) Type() string { return "text|json" }

// AddFormatFlag registers --format on fs, storing into f, default text.
func AddFormatFlag(fs *pflag.FlagSet, f *Format) {
	*f = Text
	fs.Var(f, "format", "output format: text or json")
}

// WriteJSON writes v to w as indented JSON followed by a newline.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// Table writes rows of cells in aligned columns separated by at least two
// spaces. Cells are printed with fmt's %v. Call Flush when done. Lines carry no
// trailing spaces, even when their last cells are empty. On a terminal (see
// Color) the header line is bold.
type Table struct {
	tw *tabwriter.Writer
	// The table is aligned into buf and written to w on Flush, after the trailing spaces of
	// empty last cells are cut and the header made bold: both must follow alignment.
	w    io.Writer
	buf  bytes.Buffer
	bold bool
}

// NewTable returns a Table writing to w. If headers are given they are
// written first, upper-cased, as rpk and kubectl do.
func NewTable(w io.Writer, headers ...string) *Table {
	t := &Table{w: w, bold: len(headers) > 0 && Color(w, Text)}
	t.tw = tabwriter.NewWriter(&t.buf, 0, 8, 2, ' ', 0)
	if len(headers) > 0 {
		up := make([]any, len(headers))
		for i, h := range headers {
			up[i] = strings.ToUpper(h)
		}
		t.Row(up...)
	}
	return t
}

// Row writes one row.
func (t *Table) Row(cells ...any) {
	for i, c := range cells {
		if i > 0 {
			io.WriteString(t.tw, "\t")
		}
		fmt.Fprint(t.tw, c)
	}
	io.WriteString(t.tw, "\n")
}

// Flush writes the aligned rows.
func (t *Table) Flush() error {
	if err := t.tw.Flush(); err != nil {
		return err
	}
	var b strings.Builder
	for i, line := range strings.SplitAfter(t.buf.String(), "\n") {
		if line == "" {
			continue
		}
		line = strings.TrimRight(strings.TrimSuffix(line, "\n"), " ")
		b.WriteString(Bold(line, i == 0 && t.bold) + "\n")
	}
	t.buf.Reset()
	_, err := io.WriteString(t.w, b.String())
	return err
}
