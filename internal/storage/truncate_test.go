package storage

import (
	"bytes"
	"errors"
	"testing"

	"github.com/gregorhq/gregor/internal/records"
)

// A follower's log takes the leader's batches byte for byte and only at its log end offset.
func TestAppendAsFollower(t *testing.T) {
	fs := NewMemFS()
	leader := mustOpen(t, fs, "/data/leader/t-0", LogConfig{}, 0)
	follower := mustOpen(t, fs, "/data/follower/t-0", LogConfig{}, 0)
	defer leader.Close()
	defer follower.Close()
	var want []appended
	for i := range 5 {
		want = append(want, appendBatch(t, leader, int32(i+1), 100, int64(1000+i)))
	}
	for _, a := range want {
		h, _ := records.ParseHeader(a.bytes)
		if err := follower.AppendAsFollower(append([]byte(nil), a.bytes...), h); err != nil {
			t.Fatalf("AppendAsFollower at %d: %v", a.base, err)
		}
	}
	sameBatches(t, readAll(t, follower), want)
	h, _ := records.ParseHeader(want[1].bytes)
	if err := follower.AppendAsFollower(append([]byte(nil), want[1].bytes...), h); !errors.Is(err, ErrNotContiguous) {
		t.Fatalf("a batch below the log end offset: %v, want ErrNotContiguous", err)
	}
}

// TruncateTo removes whole batches across segments, rebuilds the indexes, and the log takes
// appends and survives a reopen afterwards.
func TestTruncateTo(t *testing.T) {
	fs := NewMemFS()
	dir := "/data/t-0"
	cfg := LogConfig{SegmentBytes: 400, IndexIntervalBytes: 1}
	l := mustOpen(t, fs, dir, cfg, 0)
	var all []appended
	for i := range 12 {
		all = append(all, appendBatch(t, l, 2, 100, int64(1000+i)))
	}
	if l.NumSegments() < 3 {
		t.Fatalf("want several segments, have %d", l.NumSegments())
	}
	// Offset 7 is inside the batch [6,7]: that batch goes too.
	leo, err := l.TruncateTo(7)
	if err != nil || leo != 6 {
		t.Fatalf("TruncateTo(7) = %d, %v; want 6", leo, err)
	}
	sameBatches(t, readAll(t, l), all[:3])
	if off, _, ok := l.OffsetForTimestamp(1005); ok {
		t.Fatalf("OffsetForTimestamp found truncated offset %d", off)
	}
	next := appendBatch(t, l, 3, 50, 2000)
	if next.base != 6 {
		t.Fatalf("append after truncation at %d, want 6", next.base)
	}
	if leo, err := l.TruncateTo(100); err != nil || leo != 9 {
		t.Fatalf("TruncateTo above the end = %d, %v", leo, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, fs, dir, cfg, 0)
	defer l.Close()
	sameBatches(t, readAll(t, l), append(all[:3:3], next))
	checkInvariants(t, fs, dir, 0, 9)
}

func TestLeaderEpochCache(t *testing.T) {
	fs := NewMemFS()
	dir := "/data/t-0"
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := OpenLeaderEpochCache(fs, dir)
	if err != nil {
		t.Fatal(err)
	}
	if e, o := c.EndOffsetFor(0, 10); e != UndefinedEpoch || o != UndefinedEpochOffset {
		t.Fatalf("empty cache: %d %d", e, o)
	}
	for _, e := range []EpochEntry{{1, 0}, {3, 10}, {3, 12}, {2, 5}, {5, 20}} {
		if err := c.Assign(e.Epoch, e.StartOffset); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		epoch     int32
		wantEpoch int32
		wantEnd   int64
	}{
		{0, 0, 0}, {1, 1, 10}, {2, 1, 10}, {3, 3, 20}, {4, 3, 20}, {5, 5, 30}, {6, -1, -1},
	} {
		if e, o := c.EndOffsetFor(tc.epoch, 30); e != tc.wantEpoch || o != tc.wantEnd {
			t.Errorf("EndOffsetFor(%d) = %d %d, want %d %d", tc.epoch, e, o, tc.wantEpoch, tc.wantEnd)
		}
	}
	if err := c.TruncateFromEnd(20); err != nil {
		t.Fatal(err)
	}
	c2, err := OpenLeaderEpochCache(fs, dir)
	if err != nil {
		t.Fatal(err)
	}
	got := c2.Entries()
	if len(got) != 2 || got[0] != (EpochEntry{1, 0}) || got[1] != (EpochEntry{3, 10}) {
		t.Fatalf("reopened entries %v", got)
	}
	if data := readFile(t, fs, dir+"/"+LeaderEpochCheckpointFile); string(data) != "0\n2\n1 0\n3 10\n" {
		t.Fatalf("file %q", data)
	}
}

func TestTruncateFullyAndStartAt(t *testing.T) {
	fs := NewMemFS()
	dir := "/data/t-0"
	cfg := LogConfig{SegmentBytes: 400}
	l := mustOpen(t, fs, dir, cfg, 0)
	for i := range 6 {
		appendBatch(t, l, 2, 100, int64(1000+i))
	}
	if err := l.TruncateFullyAndStartAt(50); err != nil {
		t.Fatal(err)
	}
	if l.LogStartOffset() != 50 || l.LogEndOffset() != 50 || l.NumSegments() != 1 {
		t.Fatalf("log [%d, %d) with %d segments, want [50, 50) in 1", l.LogStartOffset(), l.LogEndOffset(), l.NumSegments())
	}
	b, h := makeBatch(3, 20, 5000, 5000)
	h.BaseOffset = 50
	records.SetBaseOffset(b, 50)
	if err := l.AppendAsFollower(b, h); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, fs, dir, cfg, 0)
	defer l.Close()
	if l.LogStartOffset() != 50 || l.LogEndOffset() != 53 {
		t.Fatalf("reopened log [%d, %d), want [50, 53)", l.LogStartOffset(), l.LogEndOffset())
	}
}

// Truncating into a closed segment (whose index files are not open) below its first index
// entry empties those files: entries added after the cut are not read back behind the old
// ones once the segment is closed again and its index is loaded from the file.
func TestTruncateIntoClosedSegmentEmptiesItsIndexes(t *testing.T) {
	fs := NewMemFS()
	dir := "/data/t-0"
	cfg := LogConfig{SegmentBytes: 2000, IndexIntervalBytes: 300, IndexCache: NewIndexCache(1)}
	l := mustOpen(t, fs, dir, cfg, 0)
	var all []appended
	for i := range 30 {
		all = append(all, appendBatch(t, l, 2, 100, int64(1000+i)))
	}
	if l.NumSegments() < 3 {
		t.Fatalf("want several segments, have %d", l.NumSegments())
	}
	// Keep one batch of the second segment: less than index.interval.bytes, so no entry.
	second := 0
	for i := 1; i < len(all); i++ {
		if r, err := l.Read(all[i].base, 1, l.LogEndOffset(), true); err == nil && r.Pos == 0 {
			second = i
			break
		}
	}
	if second == 0 {
		t.Fatal("no batch starts the second segment")
	}
	cut := all[second+1].base
	if leo, err := l.TruncateTo(cut); err != nil || leo != cut {
		t.Fatalf("TruncateTo(%d) = %d, %v", cut, leo, err)
	}
	kept := all[: second+1 : second+1]
	for i := range 20 { // other sizes than before, so stale positions point into the middle of batches
		kept = append(kept, appendBatch(t, l, 1, 30+37*i, int64(3000+i)))
	}
	// Each batch read by its own offset: an index lookup, from the file once the segment
	// closed and its entries left the (one-byte) cache.
	readEach := func() {
		t.Helper()
		for _, b := range kept {
			r, err := l.Read(b.base, 1, l.LogEndOffset(), true)
			if err != nil {
				t.Fatalf("Read(%d): %v", b.base, err)
			}
			data, err := r.ReadBytes()
			if err != nil || !bytes.HasPrefix(data, b.bytes) {
				t.Fatalf("Read(%d): %d bytes, %v; want the batch appended there", b.base, len(data), err)
			}
		}
	}
	readEach()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, fs, dir, cfg, 0)
	defer l.Close()
	readEach()
	checkInvariants(t, fs, dir, 0, kept[len(kept)-1].last+1)
}
