package out

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// Terminal output: colour and progress lines go only to a terminal, never into a file or a
// pipe, never with NO_COLOR set (https://no-color.org) and never with --format json, so that
// what scripts read is the same bytes whoever runs them.

// terminal is implemented by writers that know whether they are a terminal: FakeTTY in tests.
type terminal interface{ IsTerminal() bool }

// FakeTTY is a writer that says it is a terminal, for tests of what people see.
type FakeTTY struct{ io.Writer }

// IsTerminal reports true.
func (FakeTTY) IsTerminal() bool { return true }

// IsTerminal reports whether w is a terminal: a FakeTTY, or an *os.File on a character device.
func IsTerminal(w io.Writer) bool {
	switch w := w.(type) {
	case terminal:
		return w.IsTerminal()
	case *os.File:
		fi, err := w.Stat()
		return err == nil && fi.Mode()&os.ModeCharDevice != 0
	}
	return false
}

// Color reports whether output to w in format f may be coloured.
func Color(w io.Writer, f Format) bool {
	if f == JSON {
		return false
	}
	if _, set := os.LookupEnv("NO_COLOR"); set {
		return false
	}
	return IsTerminal(w)
}

// ANSI styles.
const (
	styleBold  = "\x1b[1m"
	styleReset = "\x1b[0m"
)

// Bold is s in bold when on is set, s as it is otherwise.
func Bold(s string, on bool) string {
	if !on {
		return s
	}
	return styleBold + s + styleReset
}

// Progress is a one-line progress report ("label 12/40") that rewrites itself in place on a
// terminal and writes nothing anywhere else. Its methods may be called from any goroutine.
type Progress struct {
	w     io.Writer
	label string
	total int64
	on    bool

	mu   sync.Mutex
	done int64 // guarded by mu
}

// NewProgress returns a Progress of total steps (0 when unknown) writing to w, which is
// usually the command's stderr, so that stdout stays the result alone.
func NewProgress(w io.Writer, label string, total int64) *Progress {
	return &Progress{w: w, label: label, total: total, on: IsTerminal(w)}
}

// Add records n more steps done and redraws the line.
func (p *Progress) Add(n int64) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if p.total > 0 {
		fmt.Fprintf(p.w, "\r\x1b[K%s %d/%d", p.label, p.done, p.total)
	} else {
		fmt.Fprintf(p.w, "\r\x1b[K%s %d", p.label, p.done)
	}
}

// Done erases the line, leaving the terminal as it was before the first Add.
func (p *Progress) Done() {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	io.WriteString(p.w, "\r\x1b[K")
}
