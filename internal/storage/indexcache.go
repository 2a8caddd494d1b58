package storage

import (
	"container/list"
	"errors"
	"io"
	"os"
	"sync"
)

// Closed segments' indexes, loaded lazily (Kafka's LazyIndex).
//
// A closed segment's .index and .timeindex never change, so a lookup can binary-search them
// in memory. Holding every closed segment's entries in memory (or their files open) would
// cost a broker with many partitions and long retention memory and descriptors for data
// nobody reads, so a closed index keeps no file open and no entries of its own: the first
// lookup reads the whole file into memory once (one pread, then closes it), and an
// IndexCache keeps the loaded entries of the most recently used indexes, within a byte
// bound, dropping the least recently used ones when it is passed. A dropped index is loaded
// again by its next lookup.
//
// Heap memory rather than mmap: a lookup that still holds an evicted index's slice keeps it
// alive (the garbage collector frees it later), so eviction never races a reader, and MemFS
// works unchanged.
//
// An index is only ever a hint: lookups fall back to scanning the segment from its start
// when the file is gone (its segment was retired and removed, or a cleaner swap is between
// its renames) or shorter than it should be; such an outcome is not cached.

// DefaultIndexCacheBytes is the bound of the cache that logs share when LogConfig.IndexCache
// is nil: 64 MiB holds the indexes of about a dozen full 1 GiB segments (at the default
// index.interval.bytes, 2 MiB of offset index and 3 MiB of time index each), or of
// thousands of small ones, which is what concurrent consumers of older data touch at once,
// while keeping an idle broker's memory small.
const DefaultIndexCacheBytes = 64 << 20

// defaultIndexCache is shared by every log opened without an IndexCache of its own.
var defaultIndexCache = NewIndexCache(DefaultIndexCacheBytes)

// IndexCache holds the loaded entries of closed segments' indexes, least recently used first
// out, within a bound in bytes. It is safe for concurrent use; one cache may serve many logs.
type IndexCache struct {
	maxBytes int64

	mu sync.Mutex
	// Guarded by mu, with the loaded, elem and dropped fields of every index in it.
	// Invariant: bytes is the sum of cap(loaded) over the indexes in lru, and bytes <=
	// maxBytes except while one index larger than the bound is the only one in it.
	lru   list.List // of *index, most recently used at the front
	bytes int64
}

// NewIndexCache returns a cache holding at most maxBytes of index entries (at least the most
// recently used index, whatever its size).
func NewIndexCache(maxBytes int64) *IndexCache {
	return &IndexCache{maxBytes: maxBytes}
}

// Bytes is the memory the cache holds now.
func (c *IndexCache) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// get returns ix's loaded entries (nil if not loaded) and marks it recently used.
func (c *IndexCache) get(ix *index) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ix.elem != nil {
		c.lru.MoveToFront(ix.elem)
	}
	return ix.loaded
}

// put makes data ix's loaded entries, unless ix was dropped or has entries loaded already,
// and evicts the least recently used indexes past the bound.
func (c *IndexCache) put(ix *index, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ix.dropped || ix.elem != nil || data == nil {
		return
	}
	ix.loaded = data
	ix.elem = c.lru.PushFront(ix)
	c.bytes += int64(cap(data))
	for c.bytes > c.maxBytes {
		back := c.lru.Back()
		if back == ix.elem {
			break
		}
		c.removeLocked(back.Value.(*index))
	}
}

// drop forgets ix for good: its segment was closed, or its entries are being rebuilt.
func (c *IndexCache) drop(ix *index) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ix.dropped = true
	if ix.elem != nil {
		c.removeLocked(ix)
	}
}

func (c *IndexCache) removeLocked(ix *index) {
	c.lru.Remove(ix.elem)
	c.bytes -= int64(cap(ix.loaded))
	ix.elem, ix.loaded = nil, nil
}

// deactivateLocked turns the index of a segment that stopped being active (roll, the end of
// Open, a finished cleaned segment) into a lazy one: its in-memory entries go to the cache
// (a segment just rolled is what lagging consumers read next) and its file is closed. Its
// entries must be written (writePending) first; Flush fsyncs the file by name
// (syncClosedIndex) while its segment is dirty. The caller holds Log.appendMu and Log.mu, or
// has the segment to itself.
func (ix *index) deactivateLocked() error {
	data := ix.mem
	ix.mem = nil
	if len(data) > 0 {
		ix.cache.put(ix, data)
	}
	f := ix.file
	ix.file = nil
	if f != nil {
		return f.Close()
	}
	return nil
}

// load returns the first n entries of a closed index, from the cache or else read from its
// file (and then cached). A nil result with a nil error means no hint: the file is gone or
// short (see above).
func (ix *index) load(n int64) ([]byte, error) {
	size := n * ix.kind.entrySize
	if data := ix.cache.get(ix); int64(len(data)) >= size {
		return data[:size], nil
	}
	ix.pathMu.Lock()
	f, err := ix.fs.OpenFile(ix.path, os.O_RDONLY, 0)
	ix.pathMu.Unlock()
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data := make([]byte, size)
	if k, err := f.ReadAt(data, 0); k < len(data) {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	ix.cache.put(ix, data)
	return data, nil
}

// renameFile renames the index's file and follows it, so that a lazy load never opens
// another file that took the old name afterwards. The caller holds Log.appendMu and Log.mu.
func (ix *index) renameFile(fs FS, to string) error {
	ix.pathMu.Lock()
	defer ix.pathMu.Unlock()
	if err := fs.Rename(ix.path, to); err != nil {
		return err
	}
	ix.path = to
	return nil
}

// closedFilePath is the name of the file to fsync for a closed index with entries written,
// "" when it has none or its file is open (and synced through it).
func (ix *index) closedFilePath() string {
	if ix.file != nil || ix.written == 0 {
		return ""
	}
	ix.pathMu.Lock()
	defer ix.pathMu.Unlock()
	return ix.path
}

// syncClosedIndex fsyncs a closed index's file by name. A file that is gone belongs to a
// segment that left the log, whose durability no longer matters.
func syncClosedIndex(fs FS, path string) error {
	f, err := fs.OpenFile(path, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
