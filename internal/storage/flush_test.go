package storage

import (
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// syncCounter is an ErrorFS injector that counts fsyncs of .log files and can hold the first
// one until released, so a test can line appends up behind it.
type syncCounter struct {
	logSyncs atomic.Int64
	hold     chan struct{} // when non-nil, the first .log fsync waits for it to close
	held     chan struct{} // closed when the first .log fsync starts waiting
	once     sync.Once
}

func (c *syncCounter) inject(op, path string) error {
	if op != OpSync || !strings.HasSuffix(path, LogFileSuffix) {
		return nil
	}
	if c.logSyncs.Add(1) == 1 && c.hold != nil {
		c.once.Do(func() { close(c.held) })
		<-c.hold
	}
	return nil
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestFlushIfDueCountsMessages(t *testing.T) {
	for _, tc := range []struct {
		name          string
		flushMessages int64
		wantSyncs     []int64 // .log fsyncs after each of 6 one-record appends
	}{
		{"never", 0, []int64{0, 0, 0, 0, 0, 0}},
		{"every message", 1, []int64{1, 2, 3, 4, 5, 6}},
		{"every third message", 3, []int64{0, 0, 1, 1, 1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &syncCounter{}
			fs := NewErrorFS(NewMemFS(), c.inject)
			l := mustOpen(t, fs, "/d/t-0", LogConfig{FlushMessages: tc.flushMessages}, 0)
			defer l.Close()
			for i, want := range tc.wantSyncs {
				a := appendBatch(t, l, 1, 10, 1)
				if _, err := l.FlushIfDue(a.last + 1); err != nil {
					t.Fatal(err)
				}
				if got := c.logSyncs.Load(); got != want {
					t.Fatalf("after append %d: %d fsyncs, want %d", i, got, want)
				}
			}
		})
	}
}

// TestFlushIfDueGroupCommit lines up appends behind a slow fsync: they must share the next
// one, and every append acknowledged must survive a crash.
func TestFlushIfDueGroupCommit(t *testing.T) {
	const appenders = 8
	c := &syncCounter{hold: make(chan struct{}), held: make(chan struct{})}
	mem := NewMemFS()
	fs := NewErrorFS(mem, c.inject)
	l := mustOpen(t, fs, "/d/t-0", LogConfig{FlushMessages: 1}, 0)

	// appendMu stands for the replica's per-partition append lock: appends are serialized,
	// the flush happens after it is released.
	var appendMu sync.Mutex
	var acked atomic.Int64 // the largest end offset acknowledged
	appendAndFlush := func() error {
		appendMu.Lock()
		b, h := makeBatch(1, 10, 1, 1)
		base, err := l.Append(b, h)
		appendMu.Unlock()
		if err != nil {
			return err
		}
		if _, err := l.FlushIfDue(base + 1); err != nil {
			return err
		}
		for {
			old := acked.Load()
			if base+1 <= old || acked.CompareAndSwap(old, base+1) {
				return nil
			}
		}
	}

	errs := make(chan error, appenders)
	go func() { errs <- appendAndFlush() }()
	<-c.held // the first append's fsync is in progress
	for range appenders - 1 {
		go func() { errs <- appendAndFlush() }()
	}
	waitFor(t, "every append to be written", func() bool { return l.LogEndOffset() == appenders })
	if acked.Load() != 0 {
		t.Fatal("an append was acknowledged before its fsync finished")
	}
	close(c.hold)
	for range appenders {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// One fsync for the first append, one shared by the seven that queued behind it.
	if got := c.logSyncs.Load(); got != 2 {
		t.Errorf("%d appends took %d fsyncs of the log, want 2", appenders, got)
	}
	if got := l.RecoveryPoint(); got != appenders {
		t.Errorf("recovery point %d, want %d", got, appenders)
	}

	// Power loss: everything acknowledged is still there.
	mem.Crash()
	l2 := mustOpen(t, mem, "/d/t-0", LogConfig{}, 0)
	defer l2.Close()
	if got, want := l2.LogEndOffset(), acked.Load(); got < want {
		t.Errorf("after a crash the log ends at %d; %d were acknowledged", got, want)
	}
}

// TestFlushToFailedFsync: an append whose fsync fails is not acknowledged, nor is any later one.
func TestFlushToFailedFsync(t *testing.T) {
	var fail atomic.Bool
	fs := NewErrorFS(NewMemFS(), func(op, path string) error {
		if op == OpSync && fail.Load() {
			return ErrInjected
		}
		return nil
	})
	l := mustOpen(t, fs, "/d/t-0", LogConfig{FlushMessages: 1}, 0)
	defer l.Close()
	fail.Store(true)
	a := appendBatch(t, l, 1, 10, 1)
	if _, err := l.FlushIfDue(a.last + 1); err == nil {
		t.Fatal("FlushIfDue succeeded although the fsync failed")
	}
	fail.Store(false)
	if err := l.FlushTo(a.last + 1); err == nil {
		t.Fatal("FlushTo succeeded on a log whose fsync failed")
	}
	if l.RecoveryPoint() != 0 {
		t.Errorf("recovery point moved to %d past a failed fsync", l.RecoveryPoint())
	}
}

// flush.messages flushes sync only the .log files; after a crash the log is recovered from
// its start (no recovery-point checkpoint survives a crash), which rebuilds the indexes: a
// closed segment's largest timestamp, which its time index's last entry gives, is right.
func TestCrashAfterFlushesRebuildsIndexes(t *testing.T) {
	fs := NewMemFS()
	batch, _ := makeBatch(1, 100, 0, 0)
	cfg := LogConfig{FlushMessages: 1, SegmentBytes: int64(2*len(batch) + 1)}
	l := mustOpen(t, fs, "/d/t-0", cfg, 0)
	for _, ts := range []int64{100, 300, 200} { // the third append rolls
		a := appendBatch(t, l, 1, 100, ts)
		if _, err := l.FlushIfDue(a.last + 1); err != nil {
			t.Fatal(err)
		}
	}
	fs.Crash()
	l = mustOpen(t, fs, "/d/t-0", cfg, 0)
	defer l.Close()
	if l.LogEndOffset() != 3 {
		t.Fatalf("log end %d after the crash, want 3 (every append was flushed)", l.LogEndOffset())
	}
	if off, _, ok := l.OffsetForTimestamp(250); !ok || off != 1 {
		t.Fatalf("OffsetForTimestamp(250) = %d, %v after the crash; want 1", off, ok)
	}
}

// Retention may retire (and, with file.delete.delay.ms=0, close) a segment whose fsync a
// flush has lined up: the flush skips it instead of failing the log.
func TestFlushSkipsSegmentRetiredMeanwhile(t *testing.T) {
	c := &syncCounter{hold: make(chan struct{}), held: make(chan struct{})}
	fs := NewErrorFS(NewMemFS(), c.inject)
	batch, _ := makeBatch(1, 100, 0, 0)
	l := mustOpen(t, fs, "/d/t-0", LogConfig{SegmentBytes: int64(len(batch) + 1)}, 0)
	defer l.Close()
	var last appended
	for range 3 { // one batch a segment
		last = appendBatch(t, l, 1, 100, 1)
	}
	done := make(chan error, 1)
	go func() { done <- l.Flush() }()
	<-c.held // the flush holds the first segment's files, and waits in its .log fsync
	if err := l.DeleteRecordsBefore(last.last); err != nil {
		t.Fatal(err)
	}
	close(c.hold)
	if err := <-done; err != nil {
		t.Fatalf("flush: %v", err)
	}
	appendBatch(t, l, 1, 100, 1) // fails the test if the flush failed the log
}

// A flush.messages flush fsyncs only the .log (the indexes are rebuilt by the recovery that
// follows a crash); Close, whose recovery-point checkpoint lets the next start trust the
// indexes, syncs them too.
func TestFlushToSyncsOnlyTheLog(t *testing.T) {
	var mu sync.Mutex
	syncs := map[string]int{}
	fs := NewErrorFS(NewMemFS(), func(op, path string) error {
		if op == OpSync {
			mu.Lock()
			syncs[filepath.Ext(path)]++
			mu.Unlock()
		}
		return nil
	})
	l := mustOpen(t, fs, "/d/t-0", LogConfig{FlushMessages: 1, IndexIntervalBytes: 1}, 0)
	for i := range 5 {
		a := appendBatch(t, l, 1, 100, int64(1000+i))
		if _, err := l.FlushIfDue(a.last + 1); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	logSyncs, indexSyncs := syncs[LogFileSuffix], syncs[IndexFileSuffix]+syncs[TimeIndexFileSuffix]
	mu.Unlock()
	if logSyncs != 5 || indexSyncs != 0 {
		t.Fatalf("after 5 flush.messages=1 appends: %d .log and %d index fsyncs, want 5 and 0", logSyncs, indexSyncs)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if syncs[IndexFileSuffix] == 0 || syncs[TimeIndexFileSuffix] == 0 {
		t.Fatalf("Close synced no index file: %v", syncs)
	}
}
