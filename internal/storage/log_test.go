package storage

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gregorhq/gregor/internal/records"
)

var smallCfg = LogConfig{SegmentBytes: 2000, IndexIntervalBytes: 300, SegmentIndexBytes: 1 << 10}

func fsCases(t *testing.T) []struct {
	name string
	fs   FS
	dir  string
} {
	return []struct {
		name string
		fs   FS
		dir  string
	}{
		{"memfs", NewMemFS(), "/data/orders-0"},
		{"osfs", OSFS(), filepath.Join(t.TempDir(), "orders-0")},
	}
}

func TestAppendReadRoundTrip(t *testing.T) {
	for _, tc := range fsCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			l := mustOpen(t, tc.fs, tc.dir, smallCfg, 0)
			defer l.Close()
			if l.LogStartOffset() != 0 || l.LogEndOffset() != 0 {
				t.Fatalf("empty log: [%d, %d)", l.LogStartOffset(), l.LogEndOffset())
			}
			var want []appended
			for i := range 300 {
				a := appendBatch(t, l, int32(1+i%5), 20+(i*37)%400, int64(1000+i))
				if len(want) > 0 && a.base != want[len(want)-1].last+1 {
					t.Fatalf("batch %d got base %d, want %d", i, a.base, want[len(want)-1].last+1)
				}
				want = append(want, a)
			}
			if l.NumSegments() < 10 {
				t.Fatalf("only %d segments; want many", l.NumSegments())
			}
			sameBatches(t, readAll(t, l), want)
			// Every offset, including those inside batches, reads from its batch's start.
			for _, a := range want {
				for off := a.base; off <= a.last; off++ {
					r, err := l.Read(off, 1, l.LogEndOffset(), true)
					if err != nil {
						t.Fatal(err)
					}
					data, _ := r.ReadBytes()
					if h, _ := records.ParseHeader(data); h.BaseOffset != a.base || int64(len(data)) != h.Size() {
						t.Fatalf("Read(%d) starts at batch %d (%d bytes), want batch %d", off, h.BaseOffset, len(data), a.base)
					}
				}
			}
			if err := l.Flush(); err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, tc.fs, tc.dir, l.LogStartOffset(), l.LogEndOffset())
		})
	}
}

func TestReadLimits(t *testing.T) {
	fs := NewMemFS()
	// One segment per 3 batches of 161 bytes (61 header + 100 body).
	l := mustOpen(t, fs, "/d/t-0", LogConfig{SegmentBytes: 500, IndexIntervalBytes: 1}, 0)
	defer l.Close()
	var bs []appended
	for i := range 9 {
		bs = append(bs, appendBatch(t, l, 2, 100, int64(i))) // offsets [2i, 2i+1]
	}
	const size = 161
	if l.NumSegments() != 3 || l.LogEndOffset() != 18 {
		t.Fatalf("segments %d, LEO %d", l.NumSegments(), l.LogEndOffset())
	}
	tests := []struct {
		name              string
		offset, maxBytes  int64
		maxOffset         int64
		minOne            bool
		wantPos, wantSize int64
		wantErr           error
	}{
		{"whole segment", 0, 10000, 18, false, 0, 3 * size, nil},
		{"never spans segments", 4, 10000, 18, false, 2 * size, size, nil},
		{"mid-batch offset starts at its batch", 3, 10000, 18, false, size, 2 * size, nil},
		{"maxBytes cuts a batch short", 0, 200, 18, false, 0, 200, nil},
		{"maxBytes smaller than a batch", 0, 100, 18, false, 0, 100, nil},
		{"minOneBatch returns the whole first batch", 0, 100, 18, true, 0, size, nil},
		{"minOneBatch with maxBytes 0", 2, 0, 18, true, size, size, nil},
		{"maxBytes 0", 2, 0, 18, false, 0, 0, nil},
		{"maxOffset stops before its batch", 0, 10000, 4, false, 0, 2 * size, nil},
		{"maxOffset mid-batch excludes the batch", 0, 10000, 3, false, 0, size, nil},
		{"maxOffset beats minOneBatch", 2, 0, 3, true, 0, 0, nil},
		{"offset at maxOffset", 6, 10000, 6, false, 0, 0, nil},
		{"offset above maxOffset", 8, 10000, 6, false, 0, 0, nil},
		{"maxOffset in a later segment", 6, 10000, 14, false, 0, 3 * size, nil},
		{"maxOffset above LEO means LEO", 12, 10000, 1000, false, 0, 3 * size, nil},
		{"last batch", 17, 10000, 18, false, 2 * size, size, nil},
		{"at LEO", 18, 10000, 18, false, 0, 0, nil},
		{"above LEO", 19, 10000, 18, false, 0, 0, ErrOffsetOutOfRange},
		{"below log start", -1, 10000, 18, false, 0, 0, ErrOffsetOutOfRange},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := l.Read(tc.offset, tc.maxBytes, tc.maxOffset, tc.minOne)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if r.Size != tc.wantSize || (r.Size > 0 && r.Pos != tc.wantPos) {
				t.Fatalf("region pos %d size %d, want pos %d size %d", r.Pos, r.Size, tc.wantPos, tc.wantSize)
			}
		})
	}
}

func TestRollRules(t *testing.T) {
	t.Run("huge batch goes into an empty segment", func(t *testing.T) {
		l := mustOpen(t, NewMemFS(), "/d/t-0", LogConfig{SegmentBytes: 100}, 0)
		defer l.Close()
		appendBatch(t, l, 1, 1000, 1)
		if l.NumSegments() != 1 {
			t.Fatalf("segments %d, want 1", l.NumSegments())
		}
		appendBatch(t, l, 1, 1000, 1)
		appendBatch(t, l, 1, 10, 1)
		if l.NumSegments() != 3 {
			t.Fatalf("segments %d, want 3", l.NumSegments())
		}
	})
	t.Run("full index", func(t *testing.T) {
		// Room for 2 offset index entries (24/8 = 3, 24/12 = 2 time entries).
		l := mustOpen(t, NewMemFS(), "/d/t-0", LogConfig{IndexIntervalBytes: 1, SegmentIndexBytes: 24}, 0)
		defer l.Close()
		for i := range 9 {
			appendBatch(t, l, 1, 10, int64(i))
		}
		// Per segment: batch 1 (no entry), batches 2 and 3 (entries), then full.
		if l.NumSegments() != 3 {
			t.Fatalf("segments %d, want 3", l.NumSegments())
		}
	})
	t.Run("relative offset overflow", func(t *testing.T) {
		l := mustOpen(t, NewMemFS(), "/d/t-0", LogConfig{}, 0)
		defer l.Close()
		appendBatch(t, l, 1<<31-1, 10, 1) // offsets [0, 2^31-2]
		appendBatch(t, l, 1, 10, 1)       // relative offset 2^31-1: still fits
		appendBatch(t, l, 1, 10, 1)       // 2^31 does not
		if l.NumSegments() != 2 || l.LogEndOffset() != 1<<31+1 {
			t.Fatalf("segments %d, LEO %d", l.NumSegments(), l.LogEndOffset())
		}
		r, err := l.Read(1<<31-1, 1000, l.LogEndOffset(), false)
		if err != nil || r.Pos != 71 {
			t.Fatalf("Read: %+v %v", r, err)
		}
	})
}

func TestAppendRejectsBadBatches(t *testing.T) {
	l := mustOpen(t, NewMemFS(), "/d/t-0", LogConfig{}, 0)
	defer l.Close()
	b, h := makeBatch(1, 10, 0, 0)
	bad := h
	bad.Length++
	if _, err := l.Append(b, bad); !errors.Is(err, ErrInvalidBatch) {
		t.Fatalf("length mismatch: %v", err)
	}
	if _, err := l.Append(b[:20], h); !errors.Is(err, ErrInvalidBatch) {
		t.Fatalf("short batch: %v", err)
	}
	bad = h
	bad.Magic = 1
	if _, err := l.Append(b, bad); !errors.Is(err, ErrInvalidBatch) {
		t.Fatalf("magic: %v", err)
	}
	if l.LogEndOffset() != 0 {
		t.Fatalf("LEO %d", l.LogEndOffset())
	}
}

func TestTimestamps(t *testing.T) {
	l := mustOpen(t, NewMemFS(), "/d/t-0", LogConfig{SegmentBytes: 400, IndexIntervalBytes: 1}, 0)
	defer l.Close()
	if off, ts := l.MaxTimestamp(); off != -1 || ts != -1 {
		t.Fatalf("empty MaxTimestamp = %d, %d", off, ts)
	}
	// Batches of 2 records, 100 bytes: 2 batches a segment. Timestamps not monotonic.
	stamps := []int64{100, 300, 200, 300, 500, 400, 450, 600, 550}
	for _, ts := range stamps {
		appendBatch(t, l, 2, 40, ts)
	}
	tests := []struct {
		ts              int64
		wantOff, wantTs int64
		wantFound       bool
	}{
		{0, 0, 100, true},
		{100, 0, 100, true},
		{101, 2, 300, true},
		{300, 2, 300, true},
		{301, 8, 500, true},
		{460, 8, 500, true},
		{501, 14, 600, true},
		{600, 14, 600, true},
		{601, -1, -1, false},
	}
	check := func(t *testing.T, l *Log) {
		for _, tc := range tests {
			off, ts, found := l.OffsetForTimestamp(tc.ts)
			if off != tc.wantOff || ts != tc.wantTs || found != tc.wantFound {
				t.Errorf("OffsetForTimestamp(%d) = %d, %d, %v; want %d, %d, %v", tc.ts, off, ts, found, tc.wantOff, tc.wantTs, tc.wantFound)
			}
		}
		if off, ts := l.MaxTimestamp(); off != 15 || ts != 600 {
			t.Errorf("MaxTimestamp = %d, %d; want 15, 600", off, ts)
		}
	}
	check(t, l)
	fs, dir := l.fs, l.dir
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, fs, dir, 0, 18)
	// After reopening, inactive segments answer from their time index files.
	l2 := mustOpen(t, fs, dir, LogConfig{SegmentBytes: 400, IndexIntervalBytes: 1}, 18)
	defer l2.Close()
	check(t, l2)
}

func TestReopenAfterClose(t *testing.T) {
	for _, tc := range fsCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			l := mustOpen(t, tc.fs, tc.dir, smallCfg, 0)
			var want []appended
			for i := range 100 {
				want = append(want, appendBatch(t, l, 3, 50+i, int64(i)))
			}
			leo, segs := l.LogEndOffset(), l.NumSegments()
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if l.RecoveryPoint() != leo {
				t.Fatalf("recovery point %d after Close, LEO %d", l.RecoveryPoint(), leo)
			}
			if _, err := l.Append(want[0].bytes, mustHeader(want[0].bytes)); !errors.Is(err, ErrClosed) {
				t.Fatalf("Append after Close: %v", err)
			}
			if _, err := l.Read(0, 1, 1, false); !errors.Is(err, ErrClosed) {
				t.Fatalf("Read after Close: %v", err)
			}
			checkInvariants(t, tc.fs, tc.dir, 0, leo)
			for _, rp := range []int64{leo, 0, leo / 2} {
				l = mustOpen(t, tc.fs, tc.dir, smallCfg, rp)
				if l.LogEndOffset() != leo || l.NumSegments() != segs {
					t.Fatalf("rp %d: reopened with LEO %d, %d segments; want %d, %d", rp, l.LogEndOffset(), l.NumSegments(), leo, segs)
				}
				sameBatches(t, readAll(t, l), want)
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
			}
			// And it goes on appending where it stopped.
			l = mustOpen(t, tc.fs, tc.dir, smallCfg, leo)
			want = append(want, appendBatch(t, l, 1, 10, 1))
			sameBatches(t, readAll(t, l), want)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, tc.fs, tc.dir, 0, leo+1)
		})
	}
}

func mustHeader(b []byte) records.Header {
	h, err := records.ParseHeader(b)
	if err != nil {
		panic(err)
	}
	return h
}

func TestDelete(t *testing.T) {
	fs := NewMemFS()
	l := mustOpen(t, fs, "/data/orders-3", smallCfg, 0)
	appendBatch(t, l, 1, 10, 1)
	if err := l.Delete(); err != nil {
		t.Fatal(err)
	}
	entries, err := fs.ReadDir("/data")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("left behind: %v", entries[0].Name())
	}
	if _, err := l.Append(makeBatch(1, 1, 1, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Delete: %v", err)
	}
}

// TestConcurrentReaders runs readers against an appender; every region must hold whole,
// valid batches in offset order (run with -race).
func TestConcurrentReaders(t *testing.T) {
	l := mustOpen(t, NewMemFS(), "/d/t-0", LogConfig{SegmentBytes: 4000, IndexIntervalBytes: 200}, 0)
	defer l.Close()
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			off := int64(0)
			for {
				select {
				case <-done:
					return
				default:
				}
				leo := l.LogEndOffset()
				reg, err := l.Read(off, 1<<20, leo, r%2 == 0)
				if err != nil {
					errs <- err
					return
				}
				data, err := reg.ReadBytes()
				if err != nil {
					errs <- err
					return
				}
				for len(data) > 0 {
					h, err := records.ParseHeader(data)
					if err != nil || h.Size() > int64(len(data)) || h.BaseOffset != off ||
						records.ComputeCRC(data[:h.Size()]) != h.CRC {
						errs <- errors.New("reader saw a partial or wrong batch")
						return
					}
					off = h.NextOffset()
					data = data[h.Size():]
				}
			}
		}()
	}
	for i := range 2000 {
		appendBatch(t, l, 2, 50+i%300, int64(i))
		if i%500 == 0 {
			if err := l.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		name  string
		topic string
		part  int32
		ok    bool
	}{
		{"orders-0", "orders", 0, true},
		{"my-topic-12", "my-topic", 12, true},
		{"a.b_c-2147483647", "a.b_c", 2147483647, true},
		{"orders-2147483648", "", 0, false},
		{"orders-", "", 0, false},
		{"-1", "", 0, false},
		{"orders", "", 0, false},
		{"orders-01", "", 0, false},
		{"orders-+1", "", 0, false},
		{"orders-0.5f3e0a1b2c3d4e5f6a7b8c9d0e1f2a3b-delete", "", 0, false},
	}
	for _, tc := range tests {
		topic, part, ok := ParseDirName(tc.name)
		if topic != tc.topic || part != tc.part || ok != tc.ok {
			t.Errorf("ParseDirName(%q) = %q, %d, %v", tc.name, topic, part, ok)
		}
		if ok && DirName(topic, part) != tc.name {
			t.Errorf("DirName(%q, %d) = %q", topic, part, DirName(topic, part))
		}
	}
	if !IsDeleteDirName("orders-0.5f3e0a1b-delete") || IsDeleteDirName("orders-delete") {
		t.Error("IsDeleteDirName")
	}
	if got := segmentFileName(1200, LogFileSuffix); got != "00000000000000001200.log" {
		t.Errorf("segment file name %q", got)
	}
	if base, suffix, ok := parseSegmentFileName("00000000000000001200.log.deleted"); !ok || base != 1200 || suffix != ".log.deleted" {
		t.Errorf("parseSegmentFileName: %d %q %v", base, suffix, ok)
	}
	if _, _, ok := parseSegmentFileName("leader-epoch-checkpoint"); ok {
		t.Error("parsed a non-segment name")
	}
}
