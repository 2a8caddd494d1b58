package storage

import (
	"errors"
	"testing"
	"time"
)

// Each batch of makeBatch(2, 100, ...) is 161 bytes; with segment.bytes 500 a segment holds
// three batches, offsets [6k, 6k+6).
const batchSize = 161

// retentionLog opens a log of 9 segments (8 full and an active one with one batch) whose
// batch i has timestamp base+i seconds.
func retentionLog(t *testing.T, clock *fakeClock, cfg LogConfig) (*Log, int64) {
	t.Helper()
	cfg.SegmentBytes = 500
	l := mustOpen(t, NewMemFS(), "/data/t-0", clock.config(cfg), 0)
	t.Cleanup(func() { l.Close() })
	base := clock.Now().UnixMilli()
	for i := range 25 {
		appendBatch(t, l, 2, 100, base+int64(i)*1000)
	}
	if l.NumSegments() != 9 {
		t.Fatalf("%d segments, want 9", l.NumSegments())
	}
	return l, base
}

func TestRetentionByTime(t *testing.T) {
	clock := newFakeClock()
	l, base := retentionLog(t, clock, LogConfig{RetentionMs: 10_000, RetentionBytes: -1})
	// Segment k's newest batch is 3k+2 seconds after base; at base+20.5s, those with
	// 3k+2 < 10.5 (k <= 2) are older than 10s.
	now := time.UnixMilli(base + 20_500)
	if n, err := l.DeleteOldSegments(l.LogEndOffset(), now, false); err != nil || n != 0 {
		t.Fatalf("retention off: deleted %d, %v", n, err)
	}
	n, err := l.DeleteOldSegments(l.LogEndOffset(), now, true)
	if err != nil || n != 3 {
		t.Fatalf("deleted %d, %v; want 3", n, err)
	}
	if l.LogStartOffset() != 18 || l.NumSegments() != 6 {
		t.Fatalf("log start %d, %d segments", l.LogStartOffset(), l.NumSegments())
	}
	if got := readAll(t, l); got[0].base != 18 {
		t.Fatalf("first batch %d", got[0].base)
	}
	// Far in the future everything goes, the active segment too (rolled first, as Kafka),
	// unless the high watermark is below the log end: an empty active segment remains.
	if n, _ := l.DeleteOldSegments(l.LogEndOffset()-1, now.Add(time.Hour), true); n != 5 || l.NumSegments() != 1 {
		t.Fatalf("deleted %d, %d segments left", n, l.NumSegments())
	}
	if l.LogStartOffset() != 48 || l.LogEndOffset() != 50 {
		t.Fatalf("log [%d, %d)", l.LogStartOffset(), l.LogEndOffset())
	}
	if n, _ := l.DeleteOldSegments(l.LogEndOffset(), now.Add(time.Hour), true); n != 1 || l.NumSegments() != 1 {
		t.Fatalf("expired active segment: deleted %d, %d segments left", n, l.NumSegments())
	}
	if l.LogStartOffset() != 50 || l.LogEndOffset() != 50 || l.SizeInBytes() != 0 {
		t.Fatalf("log [%d, %d), %d bytes", l.LogStartOffset(), l.LogEndOffset(), l.SizeInBytes())
	}
	// The log goes on where it was.
	if a := appendBatch(t, l, 2, 100, now.Add(time.Hour).UnixMilli()); a.base != 50 {
		t.Fatalf("next append at %d", a.base)
	}
	// retention.ms -1 keeps everything.
	l2, _ := retentionLog(t, clock, LogConfig{RetentionMs: -1, RetentionBytes: -1})
	if n, _ := l2.DeleteOldSegments(l2.LogEndOffset(), now.Add(1000*time.Hour), true); n != 0 {
		t.Fatalf("retention.ms -1 deleted %d", n)
	}
}

func TestRetentionBySize(t *testing.T) {
	clock := newFakeClock()
	const limit = 4*3*batchSize + 10 // four full segments and a bit
	l, _ := retentionLog(t, clock, LogConfig{RetentionMs: -1, RetentionBytes: limit})
	n, err := l.DeleteOldSegments(l.LogEndOffset(), clock.Now(), true)
	if err != nil {
		t.Fatal(err)
	}
	// 25 batches; keeping 13 (the active one's and four segments) is within the limit plus
	// one segment, and dropping one more segment would go below it.
	if n != 4 || l.SizeInBytes() > limit+3*batchSize || l.SizeInBytes()-3*batchSize >= limit {
		t.Fatalf("deleted %d, size now %d, limit %d", n, l.SizeInBytes(), limit)
	}
	if l.LogStartOffset() != 24 {
		t.Fatalf("log start offset %d", l.LogStartOffset())
	}
	// retention.bytes 0 keeps nothing committed: the active segment is rolled and goes too.
	if err := l.SetConfig(LogConfig{SegmentBytes: 500, RetentionMs: -1, RetentionBytes: 0}); err != nil {
		t.Fatal(err)
	}
	if n, _ := l.DeleteOldSegments(l.LogEndOffset(), clock.Now(), true); n != 5 || l.NumSegments() != 1 || l.SizeInBytes() != 0 {
		t.Fatalf("retention.bytes 0: deleted %d, %d segments left, %d bytes", n, l.NumSegments(), l.SizeInBytes())
	}
}

func TestRetentionStopsAtHighWatermark(t *testing.T) {
	clock := newFakeClock()
	l, _ := retentionLog(t, clock, LogConfig{RetentionMs: 0, RetentionBytes: -1})
	// Segment 2 ends at 18; with the high watermark at 17 only segments 0 and 1 may go.
	n, err := l.DeleteOldSegments(17, clock.Now().Add(time.Hour), true)
	if err != nil || n != 2 || l.LogStartOffset() != 12 {
		t.Fatalf("deleted %d (%v), log start %d", n, err, l.LogStartOffset())
	}
}

func TestDeleteRecordsBefore(t *testing.T) {
	clock := newFakeClock()
	l, _ := retentionLog(t, clock, LogConfig{RetentionMs: -1, RetentionBytes: -1, FileDeleteDelayMs: 1000})
	if err := l.DeleteRecordsBefore(51); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("past the log end offset: %v", err)
	}
	if err := l.DeleteRecordsBefore(15); err != nil {
		t.Fatal(err)
	}
	// Segments [0,6) and [6,12) go; [12,18) stays but reads below 15 fail.
	if l.LogStartOffset() != 15 || l.NumSegments() != 7 {
		t.Fatalf("log start %d, %d segments", l.LogStartOffset(), l.NumSegments())
	}
	if _, err := l.Read(14, 1<<20, l.LogEndOffset(), true); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below the log start offset: %v", err)
	}
	if r, err := l.Read(15, 1<<20, l.LogEndOffset(), true); err != nil || r.Size == 0 {
		t.Fatalf("read at the log start offset: %v", err)
	}
	// Never backwards.
	if err := l.DeleteRecordsBefore(3); err != nil || l.LogStartOffset() != 15 {
		t.Fatalf("moved back: %v, %d", err, l.LogStartOffset())
	}
	// The next pass takes the segment wholly below the start, even without retention.
	if err := l.DeleteRecordsBefore(18); err != nil {
		t.Fatal(err)
	}
	if l.NumSegments() != 6 {
		t.Fatalf("%d segments", l.NumSegments())
	}
	// Up to the log end offset: the active segment stays, empty of readable records.
	if err := l.DeleteRecordsBefore(l.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
	if l.NumSegments() != 1 || l.LogStartOffset() != 50 {
		t.Fatalf("%d segments, log start %d", l.NumSegments(), l.LogStartOffset())
	}
	if r, err := l.Read(50, 1<<20, 50, true); err != nil || r.Size != 0 {
		t.Fatalf("read at the end: %v %d", err, r.Size)
	}
}

func TestLogStartOffsetAfterReopen(t *testing.T) {
	fs, clock := NewMemFS(), newFakeClock()
	dir := "/data/t-0"
	cfg := clock.config(LogConfig{SegmentBytes: 500})
	l := mustOpen(t, fs, dir, cfg, 0)
	for i := range 25 {
		appendBatch(t, l, 2, 100, int64(i))
	}
	if err := l.DeleteRecordsBefore(15); err != nil {
		t.Fatal(err)
	}
	want := readAll(t, l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	l, err := Open(fs, dir, cfg, 50, 15, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if l.LogStartOffset() != 15 || l.LogEndOffset() != 50 {
		t.Fatalf("reopened log [%d, %d)", l.LogStartOffset(), l.LogEndOffset())
	}
	sameBatches(t, readAll(t, l), want)
	l.Close()

	// A checkpoint beyond what survived empties the log and starts it there.
	l, err = Open(fs, dir, cfg, 0, 70, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.LogStartOffset() != 70 || l.LogEndOffset() != 70 || l.NumSegments() != 1 {
		t.Fatalf("log [%d, %d) in %d segments", l.LogStartOffset(), l.LogEndOffset(), l.NumSegments())
	}
	if a := appendBatch(t, l, 1, 10, 0); a.base != 70 {
		t.Fatalf("append after an emptied log went to %d", a.base)
	}
}

func TestRollBySegmentMs(t *testing.T) {
	clock := newFakeClock()
	l := mustOpen(t, NewMemFS(), "/data/t-0", clock.config(LogConfig{SegmentMs: 1000}), 0)
	defer l.Close()
	appendBatch(t, l, 1, 10, 5000)
	appendBatch(t, l, 1, 10, 6000) // exactly segment.ms later: not yet
	if l.NumSegments() != 1 {
		t.Fatalf("rolled at exactly segment.ms")
	}
	appendBatch(t, l, 1, 10, 6001)
	if l.NumSegments() != 2 {
		t.Fatalf("did not roll past segment.ms")
	}

	// Without a timestamp on the first batch (-1), the wall clock since the segment was
	// created counts.
	l2 := mustOpen(t, NewMemFS(), "/data/u-0", clock.config(LogConfig{SegmentMs: 1000}), 0)
	defer l2.Close()
	appendBatch(t, l2, 1, 10, -1)
	clock.Advance(time.Second)
	appendBatch(t, l2, 1, 10, -1)
	if l2.NumSegments() != 1 {
		t.Fatalf("rolled at exactly segment.ms of wall clock")
	}
	clock.Advance(time.Millisecond)
	appendBatch(t, l2, 1, 10, -1)
	if l2.NumSegments() != 2 {
		t.Fatalf("did not roll after segment.ms of wall clock")
	}
	// segment.ms changed on the live log applies to the next append.
	if err := l.SetConfig(LogConfig{SegmentMs: 10}); err != nil {
		t.Fatal(err)
	}
	appendBatch(t, l, 1, 10, 6012)
	if l.NumSegments() != 3 {
		t.Fatalf("SetConfig's segment.ms not used: %d segments", l.NumSegments())
	}
}

func TestRollJitterBounds(t *testing.T) {
	for _, cfg := range []LogConfig{
		{SegmentMs: 1000, SegmentJitterMs: 300},
		{SegmentMs: 100, SegmentJitterMs: 5000}, // bounded by segment.ms
		{SegmentMs: 1000},
	} {
		bound := min(cfg.SegmentJitterMs, cfg.SegmentMs)
		seen := map[int64]bool{}
		for range 500 {
			j := randomJitter(cfg)
			if j < 0 || (bound > 0 && j >= bound) || (bound == 0 && j != 0) {
				t.Fatalf("%+v: jitter %d outside [0, %d)", cfg, j, bound)
			}
			seen[j] = true
		}
		if bound > 10 && len(seen) < 10 {
			t.Fatalf("%+v: jitter takes only %d values", cfg, len(seen))
		}
	}
	// A segment with jitter rolls that much earlier.
	clock := newFakeClock()
	l := mustOpen(t, NewMemFS(), "/data/t-0", clock.config(LogConfig{SegmentMs: 1000}), 0)
	defer l.Close()
	l.appendMu.Lock()
	l.activeLocked().rollJitterMs = 300
	l.appendMu.Unlock()
	appendBatch(t, l, 1, 10, 5000)
	appendBatch(t, l, 1, 10, 5700)
	if l.NumSegments() != 1 {
		t.Fatal("rolled before segment.ms - jitter")
	}
	appendBatch(t, l, 1, 10, 5701)
	if l.NumSegments() != 2 {
		t.Fatal("did not roll after segment.ms - jitter")
	}
}
