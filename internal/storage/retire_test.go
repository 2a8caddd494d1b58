package storage

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when told; Advance runs the timers that fall due.
type fakeClock struct {
	mu sync.Mutex
	// Guarded by mu.
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c  *fakeClock
	at time.Time
	f  func()
	// Guarded by c.mu.
	fired, stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.UnixMilli(1_700_000_000_000)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.fired || t.stopped {
		return false
	}
	t.stopped = true
	return true
}

// Advance moves the clock and runs, synchronously, every timer now due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	for _, t := range c.timers {
		if !t.fired && !t.stopped && !t.at.After(c.now) {
			t.fired = true
			due = append(due, t)
		}
	}
	c.mu.Unlock()
	for _, t := range due {
		t.f()
	}
}

// pending counts timers neither fired nor stopped.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.fired && !t.stopped {
			n++
		}
	}
	return n
}

func (c *fakeClock) config(cfg LogConfig) LogConfig {
	cfg.Now, cfg.AfterFunc = c.Now, c.AfterFunc
	return cfg
}

// retireFirst takes the first n segments out of l and retires them, as retention does.
func retireFirst(l *Log, n int) {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	segs := l.segments[:n]
	l.segments = append([]*segment(nil), l.segments[n:]...)
	l.logStartOffset = l.segments[0].baseOffset
	l.retireLocked(segs)
}

func exists(fs FS, name string) bool {
	_, err := fs.Stat(name)
	return err == nil
}

func TestRetireWaitsForDelay(t *testing.T) {
	fs, clock := NewMemFS(), newFakeClock()
	dir := "/data/t-0"
	cfg := clock.config(LogConfig{SegmentBytes: 500, FileDeleteDelayMs: 1000})
	l := mustOpen(t, fs, dir, cfg, 0)
	defer l.Close()
	var first appended
	for i := range 9 {
		a := appendBatch(t, l, 2, 100, int64(i))
		if i == 0 {
			first = a
		}
	}
	r, err := l.Read(0, 1<<20, l.LogEndOffset(), true)
	if err != nil {
		t.Fatal(err)
	}

	retireFirst(l, 1)
	name := filepath.Join(dir, segmentFileName(0, LogFileSuffix))
	for _, suffix := range []string{LogFileSuffix, IndexFileSuffix, TimeIndexFileSuffix} {
		live := filepath.Join(dir, segmentFileName(0, suffix))
		if exists(fs, live) || !exists(fs, live+deletedFileSuffix) {
			t.Fatalf("%s: want renamed to %s at once", live, deletedFileSuffix)
		}
	}
	if _, err := l.Read(0, 1<<20, l.LogEndOffset(), true); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below the new log start offset: %v", err)
	}

	clock.Advance(999 * time.Millisecond)
	data, err := r.ReadBytes()
	if err != nil || !bytes.Equal(data[:len(first.bytes)], first.bytes) {
		t.Fatalf("region of a retired segment before the delay: %v", err)
	}
	if !exists(fs, name+deletedFileSuffix) {
		t.Fatal("retired file removed before the delay")
	}

	clock.Advance(time.Millisecond)
	if exists(fs, name+deletedFileSuffix) {
		t.Fatal("retired file still there after the delay")
	}
	if _, err := r.ReadBytes(); err == nil {
		t.Fatal("region of a deleted segment still reads")
	}
	if got := readAll(t, l); got[0].base != 6 {
		t.Fatalf("log now starts with batch %d, want 6", got[0].base)
	}
}

func TestRetireZeroDelayAndClose(t *testing.T) {
	fs, clock := NewMemFS(), newFakeClock()
	dir := "/data/t-0"
	l := mustOpen(t, fs, dir, clock.config(LogConfig{SegmentBytes: 500}), 0)
	for i := range 9 {
		appendBatch(t, l, 2, 100, int64(i))
	}
	retireFirst(l, 1)
	if exists(fs, filepath.Join(dir, segmentFileName(0, LogFileSuffix)+deletedFileSuffix)) || clock.pending() != 0 {
		t.Fatal("file.delete.delay.ms 0 should delete at once")
	}

	l.appendMu.Lock()
	l.cfg.FileDeleteDelayMs = 60_000
	l.appendMu.Unlock()
	retireFirst(l, 1)
	if clock.pending() != 1 {
		t.Fatalf("%d timers pending, want 1", clock.pending())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if clock.pending() != 0 {
		t.Fatal("Close left a deletion timer behind")
	}
	if exists(fs, filepath.Join(dir, segmentFileName(6, LogFileSuffix)+deletedFileSuffix)) {
		t.Fatal("Close did not finish the pending deletion")
	}
	clock.Advance(time.Hour) // a stale timer must not run anyway
}

func TestRetireDeleteStopsTimers(t *testing.T) {
	fs, clock := NewMemFS(), newFakeClock()
	l := mustOpen(t, fs, "/data/t-0", clock.config(LogConfig{SegmentBytes: 500, FileDeleteDelayMs: 5000}), 0)
	for i := range 9 {
		appendBatch(t, l, 2, 100, int64(i))
	}
	retireFirst(l, 2)
	if err := l.Delete(); err != nil {
		t.Fatal(err)
	}
	if clock.pending() != 0 {
		t.Fatal("Delete left a deletion timer behind")
	}
	if entries, _ := fs.ReadDir("/data"); len(entries) != 0 {
		t.Fatalf("log dir left behind: %v", entries)
	}
}

func TestOpenRemovesDeletedFiles(t *testing.T) {
	fs, clock := NewMemFS(), newFakeClock()
	dir := "/data/t-0"
	l := mustOpen(t, fs, dir, clock.config(LogConfig{SegmentBytes: 500, FileDeleteDelayMs: 60_000}), 0)
	for i := range 9 {
		appendBatch(t, l, 2, 100, int64(i))
	}
	want := readAll(t, l)[3:]
	retireFirst(l, 1)
	// A crash now leaves the *.deleted files behind.
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	fs.Crash()
	l = mustOpen(t, fs, dir, clock.config(LogConfig{SegmentBytes: 500}), 0)
	defer l.Close()
	entries, _ := fs.ReadDir(dir)
	for _, e := range entries {
		if filepath.Ext(e.Name()) == deletedFileSuffix {
			t.Fatalf("leftover %s not removed", e.Name())
		}
	}
	if l.LogStartOffset() != 6 {
		t.Fatalf("log start offset %d, want 6", l.LogStartOffset())
	}
	sameBatches(t, readAll(t, l), want)
	if _, err := fs.Stat(filepath.Join(dir, segmentFileName(0, LogFileSuffix))); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("retired segment came back: %v", err)
	}
}
