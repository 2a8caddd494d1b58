package storage

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/gregorhq/gregor/internal/records"
)

// segment is one <base>.log with its .index and .timeindex.
type segment struct {
	dir        string
	baseOffset int64
	log        File
	offsetIdx  *index
	timeIdx    *index

	// Written with both Log.appendMu and Log.mu held; read with either held.
	//
	// Invariant: the .log's bytes [0, size) are whole, valid batches that never change;
	// bytes past size (a write in progress or a failed one) are invisible to readers.
	size int64
	// nextOffset is the offset after the last batch; baseOffset when the segment is empty.
	nextOffset int64
	// maxTimestamp is the largest batch max timestamp (-1 if none) and maxTimestampOffset
	// the last offset of the first batch that has it (-1 if none).
	maxTimestamp, maxTimestampOffset int64
	// aborted are the entries of the segment's .txnindex (txnindex.go), in marker order;
	// appended to, never changed in place, so a reader may keep the slice it read.
	aborted []AbortedTxn

	// Guarded by Log.appendMu.
	bytesSinceLastIndexEntry int64
	dirty                    bool // written since its last fsync
	// logDirty: the .log written since its last fsync (dirty covers the index files too;
	// a flush.messages flush syncs only the .log, see Log.syncLocked).
	logDirty      bool
	txnIndexDirty bool // the .txnindex file had a corrupt tail (load only)
	// For rolling by age: when the segment was created or opened (ms), the max timestamp
	// of its first batch (-1 when it has none or is empty), and the random amount by which
	// it rolls early (segment.jitter.ms).
	createdMs, firstBatchTimestamp, rollJitterMs int64
	// lastModifiedMs is the time of its last append (the file's mtime at open): retention
	// by time uses it for a segment whose batches carry no timestamps.
	lastModifiedMs int64
}

// randomJitter is Kafka's per-segment roll jitter: uniform in [0, min(jitter, segment.ms)).
func randomJitter(cfg LogConfig) int64 {
	if bound := min(cfg.SegmentJitterMs, cfg.SegmentMs); bound > 0 {
		return rand.Int64N(bound)
	}
	return 0
}

// largestTimestamp is what retention by time compares: the largest batch timestamp, or the
// time of the last write when no batch has one, as Kafka's LogSegment.largestTimestamp.
func (s *segment) largestTimestamp() int64 {
	if s.maxTimestamp >= 0 {
		return s.maxTimestamp
	}
	return s.lastModifiedMs
}

func (s *segment) path(suffix string) string {
	return filepath.Join(s.dir, segmentFileName(s.baseOffset, suffix))
}

const segmentFileFlags = os.O_RDWR | os.O_CREATE | os.O_APPEND

// createSegment creates the empty files of a new active segment, replacing any leftovers.
func createSegment(fs FS, dir string, base int64, cfg LogConfig) (*segment, error) {
	now := cfg.Now().UnixMilli()
	s := &segment{dir: dir, baseOffset: base, nextOffset: base, maxTimestamp: -1, maxTimestampOffset: -1, dirty: true, logDirty: true,
		createdMs: now, firstBatchTimestamp: -1, rollJitterMs: randomJitter(cfg), lastModifiedMs: now}
	var err error
	open := func(suffix string) File {
		if err != nil {
			return nil
		}
		var f File
		f, err = fs.OpenFile(s.path(suffix), segmentFileFlags|os.O_TRUNC, 0o644)
		return f
	}
	s.log = open(LogFileSuffix)
	oi := open(IndexFileSuffix)
	ti := open(TimeIndexFileSuffix)
	if err != nil {
		s.closeFiles(s.log, oi, ti)
		s.removeFiles(fs)
		return nil, fmt.Errorf("create segment %d: %w", base, err)
	}
	s.offsetIdx = newActiveIndex(offsetIndexKind, fs, s.path(IndexFileSuffix), oi, cfg)
	s.timeIdx = newActiveIndex(timeIndexKind, fs, s.path(TimeIndexFileSuffix), ti, cfg)
	// The files exist (empty), as Kafka's do; they are opened again when written (see index).
	if err := errors.Join(s.offsetIdx.closeIfEmpty(), s.timeIdx.closeIfEmpty()); err != nil {
		s.close()
		s.removeFiles(fs)
		return nil, fmt.Errorf("create segment %d: %w", base, err)
	}
	return s, nil
}

// newActiveIndex is an empty active index on file f (nil: not open) named path.
func newActiveIndex(kind indexKind, fs FS, path string, f File, cfg LogConfig) *index {
	return &index{kind: kind, maxEntries: cfg.SegmentIndexBytes / kind.entrySize, fs: fs, cache: cfg.IndexCache,
		path: path, file: f, mem: []byte{}}
}

func (s *segment) closeFiles(fs ...File) error {
	var first error
	for _, f := range fs {
		if f == nil {
			continue
		}
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// close closes the segment's files and drops its indexes from the cache.
func (s *segment) close() error {
	var oi, ti File
	if s.offsetIdx != nil {
		oi = s.offsetIdx.file
		s.offsetIdx.cache.drop(s.offsetIdx)
	}
	if s.timeIdx != nil {
		ti = s.timeIdx.file
		s.timeIdx.cache.drop(s.timeIdx)
	}
	return s.closeFiles(s.log, oi, ti)
}

// indexOf is the segment's index kept in the file with suffix, nil for other files.
func (s *segment) indexOf(suffix string) *index {
	switch suffix {
	case IndexFileSuffix:
		return s.offsetIdx
	case TimeIndexFileSuffix:
		return s.timeIdx
	}
	return nil
}

// segmentSuffixes are the suffixes of a segment's files; the .txnindex may be missing.
var segmentSuffixes = []string{LogFileSuffix, IndexFileSuffix, TimeIndexFileSuffix, TxnIndexFileSuffix}

// removeFiles deletes the segment's files; missing files are fine.
func (s *segment) removeFiles(fs FS) error {
	var first error
	for _, suffix := range segmentSuffixes {
		if err := fs.Remove(s.path(suffix)); err != nil && !errors.Is(err, os.ErrNotExist) && first == nil {
			first = err
		}
	}
	return first
}

// files are the segment's open files: the .log and the indexes that have one open (an index
// with none has had nothing written since it was created empty). The caller holds
// Log.appendMu or has the segment to itself.
func (s *segment) files() []File {
	fs := []File{s.log}
	for _, ix := range []*index{s.offsetIdx, s.timeIdx} {
		if ix.file != nil {
			fs = append(fs, ix.file)
		}
	}
	return fs
}

// sync fsyncs the segment's files. The caller holds Log.appendMu or has the segment to
// itself.
func (s *segment) sync() error {
	for _, f := range s.files() {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	return nil
}

// canHoldOffset reports whether offset fits the indexes' int32 relative offsets.
func (s *segment) canHoldOffset(offset int64) bool {
	return offset >= s.baseOffset && offset-s.baseOffset <= math.MaxInt32
}

// maybeAppendTimeEntryLocked adds (ts, offset) to the time index if ts is larger than the
// last entry's, as Kafka's TimeIndex.maybeAppend does. The caller holds appendMu and mu.
func (s *segment) maybeAppendTimeEntryLocked(ts, offset int64) {
	if ts < 0 || offset < 0 {
		return
	}
	if last := s.timeIdx.last; last != nil {
		lt, lo := parseTimeEntry(s.baseOffset, last)
		if ts <= lt || offset < lo {
			return
		}
	}
	s.timeIdx.appendLocked(timeEntry(s.baseOffset, ts, offset))
}

// errCorruptSegment means a header scan met bytes that are not a batch inside the committed
// part of a segment, which recovery should have prevented.
var errCorruptSegment = errors.New("storage: corrupt batch header in committed segment data")

// readHeader reads the batch header at pos; limit is the committed size.
func readHeader(f File, pos, limit int64, buf *[records.HeaderSize]byte) (records.Header, error) {
	if limit-pos < records.HeaderSize {
		return records.Header{}, errCorruptSegment
	}
	if n, err := f.ReadAt(buf[:], pos); n < len(buf) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return records.Header{}, err
	}
	h, err := records.ParseHeader(buf[:])
	if err != nil {
		return h, err
	}
	if h.Size() < records.HeaderSize || h.Size() > limit-pos {
		return h, errCorruptSegment
	}
	return h, nil
}

// scanBatches walks batch headers from pos (a batch start) up to limit and returns the
// position and header of the first batch for which stop is true; found is false if none.
func scanBatches(f File, pos, limit int64, stop func(records.Header) bool) (at int64, h records.Header, found bool, err error) {
	var buf [records.HeaderSize]byte
	for pos < limit {
		h, err := readHeader(f, pos, limit, &buf)
		if err != nil {
			return 0, h, false, fmt.Errorf("scan at position %d: %w", pos, err)
		}
		if stop(h) {
			return pos, h, true, nil
		}
		pos += h.Size()
	}
	return 0, records.Header{}, false, nil
}
