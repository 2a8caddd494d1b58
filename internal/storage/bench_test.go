package storage

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/gregorhq/gregor/internal/records"
)

// BenchmarkAppend appends 16 KiB batches of 16 1-KiB records to a real file (page cache; no
// fsync), with 64 MiB segments so rolls happen too.
func BenchmarkAppend(b *testing.B) {
	l, err := Open(OSFS(), filepath.Join(b.TempDir(), "bench-0"), LogConfig{SegmentBytes: 64 << 20}, 0, 0, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	batch, h := makeBatch(16, 16*1024-records.HeaderSize, 1, 1)
	b.SetBytes(int64(len(batch)))
	b.ResetTimer()
	for range b.N {
		if _, err := l.Append(batch, h); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendFlushMessages1 appends 16 KiB batches to a real file with flush.messages=1,
// so that every append waits for an fdatasync, from concurrent appenders serialized by one
// lock as the replica's partition lock does. "flush under lock" fsyncs while holding it (each
// append pays its own fsync, one after another); "group commit" fsyncs after releasing it
// (FlushIfDue), so appends that queue behind an fsync share the next one.
func BenchmarkAppendFlushMessages1(b *testing.B) {
	for _, bc := range []struct {
		name      string
		underLock bool
	}{{"flush under lock", true}, {"group commit", false}} {
		b.Run(bc.name, func(b *testing.B) {
			l, err := Open(OSFS(), filepath.Join(b.TempDir(), "bench-0"), LogConfig{SegmentBytes: 64 << 20, FlushMessages: 1}, 0, 0, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			var mu sync.Mutex
			b.SetBytes(16 * 1024)
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				batch, h := makeBatch(16, 16*1024-records.HeaderSize, 1, 1)
				for pb.Next() {
					mu.Lock()
					base, err := l.Append(batch, h)
					if err == nil && bc.underLock {
						_, err = l.FlushIfDue(base + 16)
					}
					mu.Unlock()
					if err == nil && !bc.underLock {
						_, err = l.FlushIfDue(base + 16)
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkRead looks up a random-ish offset and copies a 1 MiB region, the work of a fetch
// without the network.
func BenchmarkRead(b *testing.B) {
	l, err := Open(OSFS(), filepath.Join(b.TempDir(), "bench-0"), LogConfig{SegmentBytes: 64 << 20}, 0, 0, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	batch, h := makeBatch(16, 16*1024-records.HeaderSize, 1, 1)
	for range 8192 { // 128 MiB, 2 segments
		if _, err := l.Append(batch, h); err != nil {
			b.Fatal(err)
		}
	}
	leo := l.LogEndOffset()
	buf := make([]byte, 1<<20)
	b.SetBytes(1 << 20)
	b.ResetTimer()
	for i := range b.N {
		off := int64(i*7919*16) % leo
		r, err := l.Read(off, 1<<20, leo, true)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.File.ReadAt(buf[:r.Size], r.Pos); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadLookup measures Read alone (index lookup and header scan), no copying.
func BenchmarkReadLookup(b *testing.B) {
	l, err := Open(OSFS(), filepath.Join(b.TempDir(), "bench-0"), LogConfig{SegmentBytes: 64 << 20}, 0, 0, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	batch, h := makeBatch(4, 1024-records.HeaderSize, 1, 1)
	for range 100000 { // 100 MiB, 2 segments, small batches
		if _, err := l.Append(batch, h); err != nil {
			b.Fatal(err)
		}
	}
	leo := l.LogEndOffset()
	b.ResetTimer()
	for i := range b.N {
		if _, err := l.Read(int64(i*7919)%leo, 1<<20, leo, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIndexLookup measures the offset index alone: the floor search that maps an offset
// to a file position, on the active segment's index (in memory) and on a closed segment's
// (loaded lazily into the index cache, as for fetches of older data).
func BenchmarkIndexLookup(b *testing.B) {
	l, err := Open(OSFS(), filepath.Join(b.TempDir(), "bench-0"), LogConfig{SegmentBytes: 32 << 20, IndexIntervalBytes: 1}, 0, 0, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	batch, h := makeBatch(4, 1024-records.HeaderSize, 1, 1)
	for range 40000 { // 40 MiB: one closed segment of about 32k indexed batches, one active
		if _, err := l.Append(batch, h); err != nil {
			b.Fatal(err)
		}
	}
	if l.NumSegments() != 2 {
		b.Fatalf("%d segments, want 2", l.NumSegments())
	}
	for _, bc := range []struct {
		name string
		seg  int
	}{{"closed segment", 0}, {"active segment", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			l.mu.RLock()
			seg := l.segments[bc.seg]
			l.mu.RUnlock()
			s := l.snapshot(seg)
			span := s.next - s.base
			b.ResetTimer()
			for i := range b.N {
				if _, err := lookupPosition(s.offsetIdx, s.base, s.base+int64(i*7919)%span); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReopen opens a log whose active segment holds 64 MiB, closed cleanly: "clean"
// with the recovery point at the log end (a clean shutdown's checkpoint), "after crash" with
// none (every batch is read and its CRC checked).
func BenchmarkReopen(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "bench-0")
	l, err := Open(OSFS(), dir, LogConfig{}, 0, 0, nil)
	if err != nil {
		b.Fatal(err)
	}
	batch, h := makeBatch(16, 16*1024-records.HeaderSize, 1, 1)
	for range 4096 {
		if _, err := l.Append(batch, h); err != nil {
			b.Fatal(err)
		}
	}
	leo := l.LogEndOffset()
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		rp   int64
	}{{"clean", leo}, {"after crash", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			for range b.N {
				l, err := Open(OSFS(), dir, LogConfig{}, bc.rp, 0, nil)
				if err != nil {
					b.Fatal(err)
				}
				if l.LogEndOffset() != leo {
					b.Fatalf("log end %d, want %d", l.LogEndOffset(), leo)
				}
				if err := l.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
