package storage

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gregorhq/gregor/internal/records"
)

// buildLog writes n batches (3 records each) into a closed log on a MemFS and returns them.
func buildLog(t *testing.T, n int) (*MemFS, string, []appended) {
	t.Helper()
	fs, dir := NewMemFS(), "/data/orders-0"
	l := mustOpen(t, fs, dir, smallCfg, 0)
	var want []appended
	for i := range n {
		want = append(want, appendBatch(t, l, 3, 40+(i*53)%300, int64(i)))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return fs, dir, want
}

func segmentBases(t *testing.T, fs FS, dir string) []int64 {
	t.Helper()
	entries, err := fs.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var bases []int64
	for _, e := range entries {
		if base, suffix, ok := parseSegmentFileName(e.Name()); ok && suffix == LogFileSuffix {
			bases = append(bases, base)
		}
	}
	return bases
}

// batchPositions returns the start positions of the batches of a .log file.
func batchPositions(t *testing.T, data []byte) []int64 {
	var out []int64
	for pos := int64(0); pos < int64(len(data)); {
		h, err := records.ParseHeader(data[pos:])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pos)
		pos += h.Size()
	}
	return out
}

// keepThrough returns the batches up to and including the one ending before offset.
func keepBefore(want []appended, offset int64) []appended {
	var out []appended
	for _, a := range want {
		if a.last < offset {
			out = append(out, a)
		}
	}
	return out
}

func TestRecovery(t *testing.T) {
	const n = 60
	type mutation func(t *testing.T, fs *MemFS, dir string, bases []int64) (lostFrom int64)
	logPath := func(dir string, base int64, suffix string) string {
		return filepath.Join(dir, segmentFileName(base, suffix))
	}
	lastBatch := func(t *testing.T, fs *MemFS, dir string, base int64) (data []byte, pos int64, h records.Header) {
		data = readFile(t, fs, logPath(dir, base, LogFileSuffix))
		ps := batchPositions(t, data)
		pos = ps[len(ps)-1]
		h, _ = records.ParseHeader(data[pos:])
		return data, pos, h
	}
	tests := []struct {
		name   string
		rp     func(leo int64) int64
		mutate mutation
	}{
		{"clean", nil, func(t *testing.T, fs *MemFS, dir string, bases []int64) int64 { return -1 }},
		{"torn tail mid-batch", nil, func(t *testing.T, fs *MemFS, dir string, bases []int64) int64 {
			data, _, h := lastBatch(t, fs, dir, bases[len(bases)-1])
			writeFile(t, fs, logPath(dir, bases[len(bases)-1], LogFileSuffix), data[:len(data)-10])
			return h.BaseOffset
		}},
		{"torn tail mid-header", nil, func(t *testing.T, fs *MemFS, dir string, bases []int64) int64 {
			data, pos, h := lastBatch(t, fs, dir, bases[len(bases)-1])
			writeFile(t, fs, logPath(dir, bases[len(bases)-1], LogFileSuffix), data[:pos+30])
			return h.BaseOffset
		}},
		{"corrupt CRC in last batch", nil, func(t *testing.T, fs *MemFS, dir string, bases []int64) int64 {
			data, _, h := lastBatch(t, fs, dir, bases[len(bases)-1])
			data[len(data)-1] ^= 0xff
			writeFile(t, fs, logPath(dir, bases[len(bases)-1], LogFileSuffix), data)
			return h.BaseOffset
		}},
		{"bad magic in last batch", nil, func(t *testing.T, fs *MemFS, dir string, bases []int64) int64 {
			data, pos, h := lastBatch(t, fs, dir, bases[len(bases)-1])
			data[pos+16] = 1
			writeFile(t, fs, logPath(dir, bases[len(bases)-1], LogFileSuffix), data)
			return h.BaseOffset
		}},
		{"garbage appended", nil, func(t *testing.T, fs *MemFS, dir string, bases []int64) int64 {
			data := readFile(t, fs, logPath(dir, bases[len(bases)-1], LogFileSuffix))
			garbage := []byte(strings.Repeat("not a batch at all ", 20))
			writeFile(t, fs, logPath(dir, bases[len(bases)-1], LogFileSuffix), append(data, garbage...))
			return -1
		}},
		{"zeros appended", nil, func(t *testing.T, fs *MemFS, dir string, bases []int64) int64 {
			data := readFile(t, fs, logPath(dir, bases[len(bases)-1], LogFileSuffix))
			writeFile(t, fs, logPath(dir, bases[len(bases)-1], LogFileSuffix), append(data, make([]byte, 4096)...))
			return -1
		}},
		{"huge length appended", nil, func(t *testing.T, fs *MemFS, dir string, bases []int64) int64 {
			data := readFile(t, fs, logPath(dir, bases[len(bases)-1], LogFileSuffix))
			b, _ := makeBatch(1, 10, 0, 0)
			b[8], b[9], b[10], b[11] = 0x7f, 0xff, 0xff, 0xff
			writeFile(t, fs, logPath(dir, bases[len(bases)-1], LogFileSuffix), append(data, b...))
			return -1
		}},
		{"missing index files of old segments", func(leo int64) int64 { return leo }, func(t *testing.T, fs *MemFS, dir string, bases []int64) int64 {
			for _, base := range bases[1:3] {
				if err := fs.Remove(logPath(dir, base, IndexFileSuffix)); err != nil {
					t.Fatal(err)
				}
			}
			if err := fs.Remove(logPath(dir, bases[4], TimeIndexFileSuffix)); err != nil {
				t.Fatal(err)
			}
			return -1
		}},
		{"corrupt index size", func(leo int64) int64 { return leo }, func(t *testing.T, fs *MemFS, dir string, bases []int64) int64 {
			idx := readFile(t, fs, logPath(dir, bases[2], IndexFileSuffix))
			writeFile(t, fs, logPath(dir, bases[2], IndexFileSuffix), idx[:len(idx)-3])
			return -1
		}},
		{"index pointing past the log", func(leo int64) int64 { return leo }, func(t *testing.T, fs *MemFS, dir string, bases []int64) int64 {
			writeFile(t, fs, logPath(dir, bases[2], IndexFileSuffix), offsetEntry(bases[2], bases[2]+1, 1<<30))
			return -1
		}},
		{"corrupt batch in a middle segment drops later segments", func(int64) int64 { return 0 }, func(t *testing.T, fs *MemFS, dir string, bases []int64) int64 {
			data := readFile(t, fs, logPath(dir, bases[3], LogFileSuffix))
			ps := batchPositions(t, data)
			h, _ := records.ParseHeader(data[ps[1]:])
			data[ps[1]+70] ^= 1
			writeFile(t, fs, logPath(dir, bases[3], LogFileSuffix), data)
			return h.BaseOffset
		}},
		{"first batch of last segment torn", nil, func(t *testing.T, fs *MemFS, dir string, bases []int64) int64 {
			writeFile(t, fs, logPath(dir, bases[len(bases)-1], LogFileSuffix), []byte{0, 0, 0})
			return bases[len(bases)-1]
		}},
		{"stray files removed", nil, func(t *testing.T, fs *MemFS, dir string, bases []int64) int64 {
			for _, name := range []string{"00000000000000000000.log.deleted", "00000000000000000000.index.cleaned",
				"00000000000000000000.log.swap", segmentFileName(1<<40, IndexFileSuffix)} {
				writeFile(t, fs, filepath.Join(dir, name), []byte("x"))
			}
			return -1
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs, dir, want := buildLog(t, n)
			leo := want[len(want)-1].last + 1
			bases := segmentBases(t, fs, dir)
			lostFrom := tc.mutate(t, fs, dir, bases)
			if lostFrom >= 0 {
				want = keepBefore(want, lostFrom)
			}
			rp := int64(0)
			if tc.rp != nil {
				rp = tc.rp(leo)
			} else {
				rp = bases[len(bases)-1] // the last segment is unflushed
			}
			l := mustOpen(t, fs, dir, smallCfg, rp)
			wantLEO := leo
			if lostFrom >= 0 {
				wantLEO = lostFrom
			}
			if l.LogEndOffset() != wantLEO {
				t.Fatalf("LEO %d, want %d", l.LogEndOffset(), wantLEO)
			}
			if l.RecoveryPoint() > l.LogEndOffset() {
				t.Fatalf("recovery point %d above LEO %d", l.RecoveryPoint(), l.LogEndOffset())
			}
			sameBatches(t, readAll(t, l), want)
			// The recovered log takes appends at the right offset.
			want = append(want, appendBatch(t, l, 2, 30, 1000))
			sameBatches(t, readAll(t, l), want)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, fs, dir, 0, wantLEO+2)
			entries, _ := fs.ReadDir(dir)
			for _, e := range entries {
				if _, suffix, ok := parseSegmentFileName(e.Name()); !ok || strings.Count(suffix, ".") != 1 {
					t.Errorf("stray file %s survived", e.Name())
				}
			}
		})
	}
}

func TestCrash(t *testing.T) {
	t.Run("flushed data survives, the rest is lost", func(t *testing.T) {
		fs, dir := NewMemFS(), "/data/t-0"
		l := mustOpen(t, fs, dir, smallCfg, 0)
		var want []appended
		for i := range 40 {
			want = append(want, appendBatch(t, l, 2, 100, int64(i)))
		}
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
		rp := l.RecoveryPoint()
		if rp != l.LogEndOffset() {
			t.Fatalf("recovery point %d after Flush, LEO %d", rp, l.LogEndOffset())
		}
		segs := l.NumSegments()
		for i := range 40 { // several rolls, never flushed
			appendBatch(t, l, 2, 100, int64(i))
		}
		if l.NumSegments() <= segs {
			t.Fatal("test wants rolls after the flush")
		}
		fs.Crash()
		if err := l.Close(); err == nil {
			t.Fatal("Close after a crash succeeded")
		}
		l = mustOpen(t, fs, dir, smallCfg, rp)
		defer l.Close()
		if l.LogEndOffset() != rp {
			t.Fatalf("LEO %d after crash, want %d", l.LogEndOffset(), rp)
		}
		sameBatches(t, readAll(t, l), want)
		want = append(want, appendBatch(t, l, 2, 100, 1))
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, fs, dir, 0, rp+2)
	})
	t.Run("nothing flushed", func(t *testing.T) {
		fs, dir := NewMemFS(), "/data/t-0"
		l := mustOpen(t, fs, dir, smallCfg, 0)
		for i := range 40 {
			appendBatch(t, l, 2, 100, int64(i))
		}
		fs.Crash()
		l = mustOpen(t, fs, dir, smallCfg, 0)
		defer l.Close()
		if l.LogEndOffset() != 0 || l.NumSegments() != 1 {
			t.Fatalf("LEO %d, %d segments", l.LogEndOffset(), l.NumSegments())
		}
	})
	t.Run("closed log survives", func(t *testing.T) {
		fs, dir, want := buildLog(t, 30)
		fs.Crash()
		l := mustOpen(t, fs, dir, smallCfg, want[len(want)-1].last+1)
		defer l.Close()
		sameBatches(t, readAll(t, l), want)
	})
}

// injector is a switchable ErrorFS rule.
type injector struct {
	mu   sync.Mutex
	rule func(op, path string) error
}

func (i *injector) set(rule func(op, path string) error) {
	i.mu.Lock()
	i.rule = rule
	i.mu.Unlock()
}

func (i *injector) inject(op, path string) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.rule == nil {
		return nil
	}
	return i.rule(op, path)
}

func failOn(op, suffix string) func(string, string) error {
	return func(o, path string) error {
		if o == op && strings.HasSuffix(path, suffix) {
			return ErrInjected
		}
		return nil
	}
}

func TestInjectedErrors(t *testing.T) {
	tests := []struct {
		name       string
		rule       func(op, path string) error
		partial    bool
		wantFailed bool // the log refuses appends until reopened
	}{
		{"log write fails", failOn(OpWrite, LogFileSuffix), false, false},
		{"log write tears", failOn(OpWrite, LogFileSuffix), true, false},
		{"log write tears and truncate fails", func(op, path string) error {
			if (op == OpWrite || op == OpTruncate) && strings.HasSuffix(path, LogFileSuffix) {
				return ErrInjected
			}
			return nil
		}, true, true},
		{"index write fails at roll", failOn(OpWrite, IndexFileSuffix), true, false},
		{"segment create fails at roll", failOn(OpOpen, TimeIndexFileSuffix), false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inj := &injector{}
			mem := NewMemFS()
			efs := NewErrorFS(mem, inj.inject)
			efs.SetPartialWrites(tc.partial)
			dir := "/data/t-0"
			l := mustOpen(t, efs, dir, smallCfg, 0)
			var want []appended
			for i := range 10 {
				want = append(want, appendBatch(t, l, 2, 100, int64(i)))
			}
			leo := l.LogEndOffset()
			inj.set(tc.rule)
			var err error
			for range 20 { // enough to force a roll
				b, h := makeBatch(2, 100, 5, 5)
				if _, err = l.Append(b, h); err != nil {
					break
				}
				want = append(want, appended{base: h.BaseOffset, last: h.BaseOffset + 1, bytes: b})
				want[len(want)-1].base = leo
				want[len(want)-1].last = leo + 1
				leo += 2
			}
			if !errors.Is(err, ErrInjected) {
				t.Fatalf("Append error %v, want the injected one", err)
			}
			if l.LogEndOffset() != leo {
				t.Fatalf("LEO %d after a failed append, want %d", l.LogEndOffset(), leo)
			}
			inj.set(nil)
			sameBatches(t, readAll(t, l), want)
			a, err := l.Append(makeBatch(1, 10, 7, 7))
			if tc.wantFailed {
				if err == nil {
					t.Fatal("Append succeeded on a failed log")
				}
				l.Close()
			} else {
				if err != nil || a != leo {
					t.Fatalf("Append after the fault: %d, %v (want offset %d)", a, err, leo)
				}
				b, _ := makeBatch(1, 10, 7, 7)
				records.SetBaseOffset(b, a)
				want = append(want, appended{base: a, last: a, bytes: b})
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
			}
			l = mustOpen(t, mem, dir, smallCfg, 0)
			sameBatches(t, readAll(t, l), want)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, mem, dir, 0, want[len(want)-1].last+1)
		})
	}

	t.Run("fsync fails", func(t *testing.T) {
		inj := &injector{}
		efs := NewErrorFS(NewMemFS(), inj.inject)
		l := mustOpen(t, efs, "/d/t-0", smallCfg, 0)
		appendBatch(t, l, 1, 10, 1)
		inj.set(failOn(OpSync, LogFileSuffix))
		if err := l.Flush(); !errors.Is(err, ErrInjected) {
			t.Fatalf("Flush: %v", err)
		}
		inj.set(nil)
		if _, err := l.Append(makeBatch(1, 10, 1, 1)); !errors.Is(err, ErrInjected) {
			t.Fatalf("Append after a failed fsync: %v", err)
		}
		if l.RecoveryPoint() != 0 {
			t.Fatalf("recovery point moved to %d", l.RecoveryPoint())
		}
		l.Close()
	})
	t.Run("read fails", func(t *testing.T) {
		inj := &injector{}
		efs := NewErrorFS(NewMemFS(), inj.inject)
		l := mustOpen(t, efs, "/d/t-0", LogConfig{IndexIntervalBytes: 1}, 0)
		defer l.Close()
		for range 5 {
			appendBatch(t, l, 1, 10, 1)
		}
		inj.set(failOn(OpRead, LogFileSuffix))
		if _, err := l.Read(3, 100, 5, false); !errors.Is(err, ErrInjected) {
			t.Fatalf("Read: %v", err)
		}
		if _, _, found := l.OffsetForTimestamp(1); found {
			t.Fatal("OffsetForTimestamp found through a failing read")
		}
	})
	t.Run("open fails", func(t *testing.T) {
		fs, dir, _ := buildLog(t, 20)
		for _, op := range []string{OpReadDir, OpOpen, OpRead, OpMkdirAll} {
			efs := NewErrorFS(fs, func(o, path string) error {
				if o == op {
					return ErrInjected
				}
				return nil
			})
			if _, err := Open(efs, dir, smallCfg, 0, 0, nil); !errors.Is(err, ErrInjected) {
				t.Errorf("Open with failing %s: %v", op, err)
			}
		}
	})
}

func TestMemFS(t *testing.T) {
	fs := NewMemFS()
	if err := fs.MkdirAll("/a/b", 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.OpenFile("/nope/f", os.O_CREATE|os.O_WRONLY, 0o644); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("create without parent: %v", err)
	}
	f, err := fs.OpenFile("/a/b/f", os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("hello "))
	f.Sync()
	f.Write([]byte("world"))
	if got := readFile(t, fs, "/a/b/f"); string(got) != "hello world" {
		t.Fatalf("before crash: %q", got)
	}
	fs.Crash()
	if got := readFile(t, fs, "/a/b/f"); string(got) != "hello " {
		t.Fatalf("after crash: %q", got)
	}
	if _, err := f.Write([]byte("x")); !errors.Is(err, ErrCrashed) {
		t.Fatalf("old handle after crash: %v", err)
	}
	if err := fs.Rename("/a/b", "/a/c"); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, fs, "/a/c/f"); string(got) != "hello " {
		t.Fatalf("after rename: %q", got)
	}
	if _, err := fs.Stat("/a/b/f"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("old name: %v", err)
	}
	if err := fs.Remove("/a/c"); err == nil {
		t.Fatal("removed a non-empty directory")
	}
	if err := fs.RemoveAll("/a"); err != nil {
		t.Fatal(err)
	}
	if entries, _ := fs.ReadDir("/"); len(entries) != 0 {
		t.Fatalf("left: %v", entries)
	}
}

func TestCheckpoint(t *testing.T) {
	fs := NewMemFS()
	path := "/data/recovery-point-offset-checkpoint"
	m, err := ReadCheckpoint(fs, path)
	if err != nil || len(m) != 0 {
		t.Fatalf("missing file: %v, %v", m, err)
	}
	fs.MkdirAll("/data", 0o755)
	want := map[TopicPartition]int64{{"orders", 0}: 1234, {"orders", 1}: 0, {"__consumer_offsets", 17}: 99}
	if err := WriteCheckpoint(fs, path, want); err != nil {
		t.Fatal(err)
	}
	fs.Crash() // written with fsync and rename: durable
	got, err := ReadCheckpoint(fs, path)
	if err != nil || len(got) != len(want) {
		t.Fatalf("got %v, %v", got, err)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%v: got %d, want %d", k, got[k], v)
		}
	}
	if data := string(readFile(t, fs, path)); data != "0\n3\n__consumer_offsets 17 99\norders 0 1234\norders 1 0\n" {
		t.Errorf("file:\n%s", data)
	}
	for _, bad := range []string{"", "1\n0\n", "0\n2\norders 0 1\n", "0\n1\norders x 1\n", "0\n1\norders 0\n", "0\n-1\n"} {
		writeFile(t, fs, path, []byte(bad))
		if _, err := ReadCheckpoint(fs, path); err == nil {
			t.Errorf("ReadCheckpoint(%q) succeeded", bad)
		}
	}
	writeFile(t, fs, path, []byte("0\n0\n"))
	if m, err := ReadCheckpoint(fs, path); err != nil || len(m) != 0 {
		t.Errorf("empty checkpoint: %v %v", m, err)
	}
	if err := WriteCheckpoint(fs, path, map[TopicPartition]int64{{"a b", 0}: 1}); err == nil {
		t.Error("wrote a topic with a space")
	}
}

// After a clean shutdown the active segment lies wholly below the recovery point: reopening
// reads its batch headers from the last offset index entry on, not the whole segment, and the
// log comes back the same. Bytes past the recovery point (a torn tail, or batches written after
// the last flush) make it scan the segment as before.
func TestCleanRestartSkipsActiveSegmentScan(t *testing.T) {
	fs := newOpenCountingFS(NewMemFS())
	dir := "/d/t-0"
	cfg := LogConfig{IndexIntervalBytes: 4096}
	l := mustOpen(t, fs, dir, cfg, 0)
	var want []appended
	for i := range 400 { // about 400 KiB, one segment
		want = append(want, appendBatch(t, l, 4, 1000, int64(1000+i%7)))
	}
	leo := l.LogEndOffset()
	maxOff, maxTs := l.MaxTimestamp()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(dir, segmentFileName(0, LogFileSuffix))
	size := int64(len(readFile(t, fs, logFile)))
	fs.bytesRead(logFile)

	l = mustOpen(t, fs, dir, cfg, leo)
	if n := fs.bytesRead(logFile); n > 16<<10 {
		t.Fatalf("clean reopen read %d bytes of a %d-byte active segment", n, size)
	}
	if o, ts := l.MaxTimestamp(); l.LogEndOffset() != leo || o != maxOff || ts != maxTs {
		t.Fatalf("reopened: log end %d, max timestamp %d@%d; want %d, %d@%d", l.LogEndOffset(), ts, o, leo, maxTs, maxOff)
	}
	sameBatches(t, readAll(t, l), want)
	want = append(want, appendBatch(t, l, 2, 5000, 2000)) // indexed as if never closed
	sameBatches(t, readAll(t, l), want)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, fs, dir, 0, l.LogEndOffset())
	leo = l.LogEndOffset()

	// A torn tail past the recovery point: scanned and cut.
	f, err := fs.OpenFile(logFile, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(want[0].bytes[:100])
	f.Close()
	fs.bytesRead(logFile)
	l = mustOpen(t, fs, dir, cfg, leo)
	if n := fs.bytesRead(logFile); n < size {
		t.Fatalf("reopen with a torn tail read %d bytes, want the whole segment scanned", n)
	}
	if l.LogEndOffset() != leo {
		t.Fatalf("log end %d after cutting a torn tail, want %d", l.LogEndOffset(), leo)
	}
	// Batches past the recovery point: scanned and kept.
	want = append(want, appendBatch(t, l, 1, 10, 3000))
	l.Close()
	l = mustOpen(t, fs, dir, cfg, leo)
	defer l.Close()
	if l.LogEndOffset() != leo+1 {
		t.Fatalf("log end %d, want %d", l.LogEndOffset(), leo+1)
	}
	sameBatches(t, readAll(t, l), want)
}
