package storage

import (
	"container/list"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sync"
)

// indexKind describes one of Kafka's two sparse index formats: fixed-size big-endian entries
// sorted by a key.
type indexKind struct {
	name      string
	entrySize int64
	key       func(entry []byte) int64
}

var be = binary.BigEndian

var (
	// offsetIndexKind is the .index file: relative offset (int32) -> position (int32).
	offsetIndexKind = indexKind{"offset index", 8, func(e []byte) int64 { return int64(int32(be.Uint32(e))) }}
	// timeIndexKind is the .timeindex file: timestamp (int64) -> relative offset (int32).
	timeIndexKind = indexKind{"time index", 12, func(e []byte) int64 { return int64(be.Uint64(e)) }}
)

// index is one segment's .index or .timeindex file.
//
// While its segment is active the index keeps every entry in mem and writes the entries
// to the file lazily (on roll, Flush and Close); the file is then a prefix of mem. Once the
// segment is inactive, mem is nil, the file is closed, and lookups binary-search the
// entries that load reads into memory on first use and an IndexCache keeps while they are
// used (indexcache.go): a closed segment costs one descriptor, its .log's, and memory only
// while it is read.
//
// An active index with nothing to write keeps no file open either (file is nil, path names
// it): a broker hosting thousands of idle partitions then holds one descriptor for each, its
// .log, not three. The file is opened when entries are first written (writePending,
// rewrite).
type index struct {
	kind       indexKind
	maxEntries int64
	fs         FS
	cache      *IndexCache

	// pathMu guards path, which changes when a closed segment's files are renamed
	// (retirement): a lazy load opens the file by name, and must not open a newer segment's
	// file that took the old name meanwhile.
	pathMu sync.Mutex
	path   string

	// Written with Log.appendMu held (or by the segment's sole owner), and only while mem !=
	// nil; never read by readers. Invariants: file == nil implies the file on disk is empty
	// (or missing, to be rebuilt) while mem != nil; file == nil once mem == nil.
	file File

	// Written with both Log.appendMu and Log.mu held; read with either held.
	mem  []byte // all entries while active; nil once inactive
	n    int64  // number of entries; Invariant: mem == nil || len(mem) == n*entrySize
	last []byte // the last entry, nil when n == 0

	// Guarded by Log.appendMu.
	written int64 // bytes of the file; Invariant: written <= n*entrySize

	// Guarded by cache.mu: the entries loaded while the index is inactive (see IndexCache).
	loaded  []byte
	elem    *list.Element // in cache.lru; nil when not loaded
	dropped bool          // closed or replaced: never loaded into the cache again
}

// indexView is a snapshot of an index that may be searched without locks: entries are only
// ever appended, so the first n stay as they are.
type indexView struct {
	kind indexKind
	mem  []byte
	lazy *index // when mem is nil: a closed index, loaded on use
	n    int64
}

// viewLocked snapshots ix; the caller holds Log.mu or Log.appendMu.
func (ix *index) viewLocked() indexView {
	v := indexView{kind: ix.kind, mem: ix.mem, n: ix.n}
	if ix.mem == nil {
		v.lazy = ix
	}
	return v
}

// openFile opens the index's file if it has none open. The caller holds Log.appendMu (or
// has the log to itself, as Open does).
func (ix *index) openFile() error {
	if ix.file != nil {
		return nil
	}
	f, err := ix.fs.OpenFile(ix.path, segmentFileFlags, 0o644)
	if err != nil {
		return fmt.Errorf("%s: %w", ix.kind.name, err)
	}
	ix.file = f
	return nil
}

// closeIfEmpty closes the file of an active index that has no entries, to be opened again
// when it gets some (see index). The caller has the log to itself (Open, segment creation).
func (ix *index) closeIfEmpty() error {
	if ix.file == nil || ix.n > 0 || ix.written > 0 || ix.mem == nil {
		return nil
	}
	err := ix.file.Close()
	ix.file = nil
	return err
}

// reset is an empty active index on the same file, for rebuilding it; ix is dropped from
// the cache, so that nothing loads the file being rewritten as ix's entries. The caller has
// the segment to itself or holds Log.appendMu and Log.mu.
func (ix *index) reset() *index {
	ix.cache.drop(ix)
	ix.pathMu.Lock()
	path := ix.path
	ix.pathMu.Unlock()
	return &index{kind: ix.kind, maxEntries: ix.maxEntries, fs: ix.fs, cache: ix.cache, path: path, file: ix.file, mem: []byte{}}
}

func (ix *index) full() bool { return ix.n >= ix.maxEntries }

// appendLocked adds an entry; the caller holds Log.appendMu and Log.mu, and the segment is
// active.
func (ix *index) appendLocked(e []byte) {
	ix.mem = append(ix.mem, e...)
	ix.n++
	ix.last = append([]byte(nil), e...)
}

// writePending appends the entries not yet in the file. On error the file is cut back to
// what it held before, so written stays the truth. The caller holds Log.appendMu.
func (ix *index) writePending() error {
	if ix.mem == nil || ix.written == int64(len(ix.mem)) {
		return nil
	}
	if err := ix.openFile(); err != nil {
		return err
	}
	n, err := ix.file.Write(ix.mem[ix.written:])
	if err == nil && n != len(ix.mem)-int(ix.written) {
		err = io.ErrShortWrite
	}
	if err != nil {
		if n > 0 {
			if terr := ix.file.Truncate(ix.written); terr != nil {
				return fmt.Errorf("%s: write: %w (and truncate: %v)", ix.kind.name, err, terr)
			}
		}
		return fmt.Errorf("%s: write: %w", ix.kind.name, err)
	}
	ix.written = int64(len(ix.mem))
	return nil
}

// rewrite replaces the file's contents by entries (after recovery rebuilt them) and keeps
// them in memory if keep. The caller has exclusive access (Open).
func (ix *index) rewrite(entries []byte, keep bool) error {
	switch {
	case ix.file != nil || len(entries) > 0:
		if err := ix.openFile(); err != nil {
			return err
		}
		if err := ix.file.Truncate(0); err != nil {
			return err
		}
	default:
		// No file open and nothing to write: an empty active index's file is empty, but a
		// closed one's (a truncation into a closed segment rebuilds it) holds its old
		// entries, which later appends would follow.
		if err := emptyIfExists(ix.fs, ix.path); err != nil {
			return fmt.Errorf("%s: %w", ix.kind.name, err)
		}
	}
	if len(entries) > 0 {
		if _, err := ix.file.Write(entries); err != nil {
			return err
		}
	}
	ix.n = int64(len(entries)) / ix.kind.entrySize
	ix.written = int64(len(entries))
	ix.last = nil
	if ix.n > 0 {
		ix.last = append([]byte(nil), entries[len(entries)-int(ix.kind.entrySize):]...)
	}
	ix.mem = nil
	if keep {
		ix.mem = append(make([]byte, 0, len(entries)+1024), entries...)
	}
	return nil
}

// emptyIfExists truncates the file at path to nothing, if there is such a file.
func emptyIfExists(fs FS, path string) error {
	f, err := fs.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil && fi.Size() > 0 {
		err = f.Truncate(0)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// entries returns the view's n entries, nil when a closed index's file cannot give them
// (then lookups have no hint, see IndexCache).
func (v indexView) entries() ([]byte, error) {
	if v.n == 0 {
		return nil, nil
	}
	if v.mem != nil {
		return v.mem[:v.n*v.kind.entrySize], nil
	}
	return v.lazy.load(v.n)
}

// floor finds the last entry whose key is <= key. ok is false when there is none.
func (v indexView) floor(key int64) (e []byte, ok bool, err error) {
	data, err := v.entries()
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", v.kind.name, err)
	}
	es := v.kind.entrySize
	n := int64(len(data)) / es
	lo, hi := int64(0), n // Invariant: entries [0, lo) have keys <= key, [hi, n) > key.
	for lo < hi {
		mid := int64(uint64(lo+hi) >> 1)
		if v.kind.key(data[mid*es:(mid+1)*es]) <= key {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == 0 {
		return nil, false, nil
	}
	return data[(lo-1)*es : lo*es : lo*es], true, nil
}

// relativeOffset is offset - base clamped to int32, for searching the offset index.
func relativeOffset(offset, base int64) int64 {
	rel := offset - base
	if rel > math.MaxInt32 {
		rel = math.MaxInt32
	}
	return rel
}

// offsetEntry builds an offset index entry.
func offsetEntry(base, offset, position int64) []byte {
	var e [8]byte
	be.PutUint32(e[0:], uint32(offset-base))
	be.PutUint32(e[4:], uint32(position))
	return e[:]
}

// timeEntry builds a time index entry.
func timeEntry(base, timestamp, offset int64) []byte {
	var e [12]byte
	be.PutUint64(e[0:], uint64(timestamp))
	be.PutUint32(e[8:], uint32(offset-base))
	return e[:]
}

// parseOffsetEntry returns an offset index entry's absolute offset and position.
func parseOffsetEntry(base int64, e []byte) (offset, position int64) {
	return base + int64(int32(be.Uint32(e))), int64(int32(be.Uint32(e[4:])))
}

// parseTimeEntry returns a time index entry's timestamp and absolute offset.
func parseTimeEntry(base int64, e []byte) (timestamp, offset int64) {
	return int64(be.Uint64(e)), base + int64(int32(be.Uint32(e[8:])))
}

// lookupPosition returns the position of a batch at or before the one holding offset.
func lookupPosition(v indexView, base, offset int64) (int64, error) {
	if offset < base {
		return 0, nil
	}
	e, ok, err := v.floor(relativeOffset(offset, base))
	if err != nil || !ok {
		return 0, err
	}
	_, pos := parseOffsetEntry(base, e)
	return pos, nil
}

// loadIndex opens an existing index file of an inactive or about-to-be-scanned segment and
// checks it the way Kafka's sanityCheck does: whole entries, and first and last entries in
// range. A failed check means the segment must be recovered.
func loadIndex(kind indexKind, f File, base, logSize, maxEntries int64) (*index, error) {
	ix := &index{kind: kind, file: f, maxEntries: maxEntries}
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	if size%kind.entrySize != 0 {
		return ix, fmt.Errorf("%s: size %d is not a multiple of %d", kind.name, size, kind.entrySize)
	}
	ix.n, ix.written = size/kind.entrySize, size
	if ix.n == 0 {
		return ix, nil
	}
	first, err := readIndexEntry(kind, f, 0)
	if err != nil {
		return ix, err
	}
	if ix.last, err = readIndexEntry(kind, f, ix.n-1); err != nil {
		return ix, err
	}
	switch kind.entrySize {
	case offsetIndexKind.entrySize:
		fo, _ := parseOffsetEntry(base, first)
		lo, lp := parseOffsetEntry(base, ix.last)
		if fo < base || lo < fo || lp < 0 || lp >= logSize {
			return ix, fmt.Errorf("%s: entries out of range (first offset %d, last offset %d at %d, log size %d)",
				kind.name, fo, lo, lp, logSize)
		}
	default:
		ft, fo := parseTimeEntry(base, first)
		lt, lo := parseTimeEntry(base, ix.last)
		if fo < base || lo < fo || lt < ft {
			return ix, fmt.Errorf("%s: entries out of order (first %d@%d, last %d@%d)", kind.name, ft, fo, lt, lo)
		}
	}
	return ix, nil
}

// readIndexEntry reads entry i of an index file.
func readIndexEntry(kind indexKind, f File, i int64) ([]byte, error) {
	e := make([]byte, kind.entrySize)
	if _, err := f.ReadAt(e, i*kind.entrySize); err != nil {
		return nil, fmt.Errorf("%s: read entry %d: %w", kind.name, i, err)
	}
	return e, nil
}
