package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// openCountingFS is an FS that counts the open files under each name.
type openCountingFS struct {
	FS
	mu   sync.Mutex
	open map[string]int   // guarded by mu
	read map[string]int64 // bytes read, guarded by mu
}

func newOpenCountingFS(fs FS) *openCountingFS {
	return &openCountingFS{FS: fs, open: map[string]int{}, read: map[string]int64{}}
}

// bytesRead is how many bytes were read from name, and forgets them.
func (c *openCountingFS) bytesRead(name string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.read[name]
	delete(c.read, name)
	return n
}

func (c *openCountingFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := c.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.open[name]++
	c.mu.Unlock()
	return &countedFile{File: f, fs: c, name: name}, nil
}

// openIndexes lists the index files that have a descriptor open.
func (c *openCountingFS) openIndexes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for name, n := range c.open {
		if n > 0 && (strings.HasSuffix(name, IndexFileSuffix) || strings.HasSuffix(name, TimeIndexFileSuffix)) {
			out = append(out, filepath.Base(name))
		}
	}
	return out
}

type countedFile struct {
	File
	fs   *openCountingFS
	name string
	once sync.Once
}

func (f *countedFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.File.ReadAt(p, off)
	f.fs.mu.Lock()
	f.fs.read[f.name] += int64(n)
	f.fs.mu.Unlock()
	return n, err
}

func (f *countedFile) Close() error {
	f.once.Do(func() {
		f.fs.mu.Lock()
		f.fs.open[f.name]--
		f.fs.mu.Unlock()
	})
	return f.File.Close()
}

// lazyLog is a log of several closed segments, each indexing every batch, whose offsets
// [0, 3*n) are batches of three records.
func lazyLog(t *testing.T, fs FS, cache *IndexCache) (*Log, []appended) {
	t.Helper()
	cfg := LogConfig{SegmentBytes: 2000, IndexIntervalBytes: 1, IndexCache: cache}
	l := mustOpen(t, fs, "/d/t-0", cfg, 0)
	var want []appended
	for i := range 60 {
		want = append(want, appendBatch(t, l, 3, 100, int64(1000+i)))
	}
	if l.NumSegments() < 5 {
		t.Fatalf("%d segments, want several", l.NumSegments())
	}
	return l, want
}

// checkEveryOffset reads at every offset and looks up every timestamp, and checks the answers.
func checkEveryOffset(t *testing.T, l *Log, want []appended) {
	t.Helper()
	for _, a := range want {
		for off := a.base; off <= a.last; off++ {
			r, err := l.Read(off, 1, l.LogEndOffset(), true)
			if err != nil {
				t.Fatalf("Read(%d): %v", off, err)
			}
			data, err := r.ReadBytes()
			if err != nil || string(data) != string(a.bytes) {
				t.Fatalf("Read(%d): got %d bytes (%v), want the batch at %d", off, len(data), err, a.base)
			}
		}
		if off, ts, ok := l.OffsetForTimestamp(a.maxTs); !ok || off != a.base || ts != a.maxTs {
			t.Fatalf("OffsetForTimestamp(%d) = %d, %d, %v; want %d", a.maxTs, off, ts, ok, a.base)
		}
	}
}

// A closed segment keeps only its .log open; its indexes are loaded when looked up, and
// lookups answer the same whether the cache holds them, evicts them at once, or they were
// never loaded (after a reopen).
func TestClosedSegmentIndexesAreLazy(t *testing.T) {
	for _, bc := range []struct {
		name  string
		bound int64
	}{{"cache holds all", 1 << 30}, {"cache holds one", 1}} {
		t.Run(bc.name, func(t *testing.T) {
			fs := newOpenCountingFS(NewMemFS())
			cache := NewIndexCache(bc.bound)
			l, want := lazyLog(t, fs, cache)
			onlyActiveIndexesOpen(t, fs, l)
			checkEveryOffset(t, l, want)
			if bc.bound == 1 && cache.Bytes() > 12*64 {
				t.Fatalf("a cache bounded at 1 byte holds %d bytes: more than one index", cache.Bytes())
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if got := cache.Bytes(); got != 0 {
				t.Fatalf("closed log leaves %d bytes in the cache", got)
			}

			l = mustOpen(t, fs, "/d/t-0", LogConfig{SegmentBytes: 2000, IndexIntervalBytes: 1, IndexCache: cache}, l.LogEndOffset())
			defer l.Close()
			onlyActiveIndexesOpen(t, fs, l)
			if cache.Bytes() != 0 {
				t.Fatalf("reopening loaded %d bytes of trusted indexes", cache.Bytes())
			}
			checkEveryOffset(t, l, want)
		})
	}
}

func onlyActiveIndexesOpen(t *testing.T, fs *openCountingFS, l *Log) {
	t.Helper()
	active := segmentFileName(l.segments[len(l.segments)-1].baseOffset, "")
	for _, name := range fs.openIndexes() {
		if !strings.HasPrefix(name, active) {
			t.Fatalf("index file %s of a closed segment is open", name)
		}
	}
}

// A closed segment's index written at roll and synced by name survives a crash.
func TestClosedIndexFsyncedByFlush(t *testing.T) {
	mem := NewMemFS()
	l, _ := lazyLog(t, mem, NewIndexCache(1<<20))
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	sizes := map[string]int{}
	for _, s := range l.segments[:len(l.segments)-1] {
		for _, suffix := range []string{IndexFileSuffix, TimeIndexFileSuffix} {
			sizes[s.path(suffix)] = len(readFile(t, mem, s.path(suffix)))
		}
	}
	mem.Crash()
	for name, n := range sizes {
		if got := len(readFile(t, mem, name)); got != n || n == 0 {
			t.Fatalf("%s: %d bytes after the crash, %d before", name, got, n)
		}
	}
}

// A lookup in a retired segment whose index files are already gone falls back to scanning
// it from the start, and a lookup racing retirement, appends, retention and cleaning with a
// cache that evicts at once stays right (run with -race).
func TestLazyIndexUnderRetirementAndConcurrency(t *testing.T) {
	fs, clock := NewMemFS(), newFakeClock()
	cache := NewIndexCache(1)
	cfg := clock.config(LogConfig{SegmentBytes: 2000, IndexIntervalBytes: 1, IndexCache: cache, FileDeleteDelayMs: 60_000})
	l := mustOpen(t, fs, "/d/t-0", cfg, 0)
	defer l.Close()
	var want []appended
	for i := range 60 {
		want = append(want, appendBatch(t, l, 3, 100, int64(1000+i)))
	}
	s := l.snapshot(l.segments[1])
	retireFirst(l, 2)
	for _, suffix := range []string{IndexFileSuffix, TimeIndexFileSuffix} {
		if err := fs.Remove(filepath.Join("/d/t-0", segmentFileName(s.base, suffix)) + deletedFileSuffix); err != nil {
			t.Fatal(err)
		}
	}
	pos, h, found, err := s.findBatch(s.next-1, 0)
	if err != nil || !found || h.LastOffset() != s.next-1 || pos == 0 {
		t.Fatalf("lookup in a retired segment without index files: pos %d found %v err %v", pos, found, err)
	}

	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				lso, leo := l.LogStartOffset(), l.LogEndOffset()
				off := lso + int64(i*7+r)%(leo-lso)
				reg, err := l.Read(off, 1, leo, true)
				if err != nil {
					continue // retention may pass off between the two calls
				}
				data, err := reg.ReadBytes()
				if err != nil {
					t.Errorf("ReadBytes at %d: %v", off, err)
					return
				}
				if base := int64(be.Uint64(data)); base > off {
					t.Errorf("Read(%d) returned the batch at %d", off, base)
					return
				}
			}
		}()
	}
	for i := range 200 {
		appendBatch(t, l, 3, 100, int64(2000+i))
		if i%50 == 49 {
			if _, err := l.DeleteOldSegments(l.LogEndOffset(), clock.Now(), false); err != nil {
				t.Error(err)
			}
			if err := l.DeleteRecordsBefore(l.LogStartOffset() + 30); err != nil {
				t.Error(err)
			}
			if _, err := l.DeleteOldSegments(l.LogEndOffset(), clock.Now(), false); err != nil {
				t.Error(err)
			}
		}
	}
	close(stop)
	wg.Wait()
	if _, err := l.TruncateTo(l.LogEndOffset() - 100); err != nil {
		t.Fatal(err)
	}
	for off := l.LogStartOffset(); off < l.LogEndOffset(); off++ {
		reg, err := l.Read(off, 1, l.LogEndOffset(), true)
		if err != nil {
			t.Fatalf("Read(%d) after truncation: %v", off, err)
		}
		data, _ := reg.ReadBytes()
		if base := int64(be.Uint64(data)); base > off || base+3 <= off {
			t.Fatalf("Read(%d) after truncation returned the batch at %d", off, base)
		}
	}
	clock.Advance(time.Minute)
}

func TestIndexCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := NewIndexCache(100)
	ixs := make([]*index, 4)
	for i := range ixs {
		ixs[i] = &index{kind: offsetIndexKind, cache: c, path: fmt.Sprint(i)}
		c.put(ixs[i], make([]byte, 40))
		c.get(ixs[0]) // 0 stays the most recently used
	}
	if got := c.Bytes(); got != 80 {
		t.Fatalf("cache holds %d bytes, want 80", got)
	}
	if c.get(ixs[0]) == nil || c.get(ixs[3]) == nil || c.get(ixs[1]) != nil || c.get(ixs[2]) != nil {
		t.Fatal("evicted the wrong indexes")
	}
	c.drop(ixs[3])
	c.put(ixs[3], make([]byte, 8))
	if c.get(ixs[3]) != nil || c.Bytes() != 40 {
		t.Fatal("a dropped index went back into the cache")
	}
}
