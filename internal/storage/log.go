package storage

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/gregorhq/gregor/internal/records"
)

// LogConfig holds the per-topic settings the log uses, with Kafka's names. A zero field takes
// Kafka's default.
type LogConfig struct {
	// SegmentBytes is segment.bytes (default 1 GiB): roll when the active segment would grow
	// past it. An empty segment always takes one batch, however large.
	SegmentBytes int64
	// IndexIntervalBytes is index.interval.bytes (default 4096): an index entry is added once
	// more than this many bytes were appended since the last one. 1 indexes every batch.
	IndexIntervalBytes int64
	// SegmentIndexBytes is segment.index.bytes (default 10 MiB): the most bytes of each index
	// file; a full index rolls the segment.
	SegmentIndexBytes int64
	// SegmentMs is segment.ms (default 7 days): roll the active segment once it spans this
	// long, less its jitter (see Log.Append).
	SegmentMs int64
	// SegmentJitterMs is segment.jitter.ms (default 0): each segment rolls up to a random
	// amount in [0, min(SegmentJitterMs, SegmentMs)) earlier, so that many partitions
	// created together do not all roll at once.
	SegmentJitterMs int64
	// RetentionMs is retention.ms: DeleteOldSegments deletes segments whose newest record is
	// older than this. Negative means forever. Zero is a real value (keep nothing inactive);
	// the replica manager passes Kafka's default (7 days) when the topic sets nothing.
	RetentionMs int64
	// RetentionBytes is retention.bytes: DeleteOldSegments deletes the oldest segments while
	// the log would still hold at least this much. Negative means no limit; zero is a real
	// value, as for RetentionMs.
	RetentionBytes int64
	// FileDeleteDelayMs is file.delete.delay.ms: how long a deleted segment's files stay
	// (renamed *.deleted) before they are closed and removed, so that reads in flight finish.
	// Zero means at once; the replica manager passes Kafka's default (60000) when the topic
	// sets nothing.
	FileDeleteDelayMs int64
	// FlushMessages is flush.messages: once this many messages were appended since the last
	// flush, FlushIfDue fsyncs the log before the append may be acknowledged. Zero (and
	// Kafka's default, MaxInt64) leave flushing to the operating system and to Close.
	FlushMessages int64

	// OnRoll, when set, is called after the active segment rolled, with the new active
	// segment's base offset: everything below it is in the closed segments. It runs inside
	// Append, on the appender's goroutine, with the log's append lock held: it may read the
	// log (LogStartOffset, Dir) but must not write to it. The replica manager snapshots its
	// producer state here, as Kafka does at every roll.
	OnRoll func(nextOffset int64)

	// IndexCache holds closed segments' index entries while they are used (indexcache.go);
	// nil means one cache shared by the whole process, of DefaultIndexCacheBytes.
	IndexCache *IndexCache

	// Now is the clock (time.Now when nil); AfterFunc schedules delayed deletions
	// (time.AfterFunc when nil). Tests inject fakes.
	Now       func() time.Time
	AfterFunc func(d time.Duration, f func()) Timer
}

// Kafka's defaults.
const (
	DefaultSegmentBytes       = 1 << 30
	DefaultIndexIntervalBytes = 4096
	DefaultSegmentIndexBytes  = 10 << 20
	DefaultSegmentMs          = 7 * 24 * 60 * 60 * 1000
)

// withDefaults fills zero fields and validates the rest.
func (c LogConfig) withDefaults() (LogConfig, error) {
	if c.SegmentBytes == 0 {
		c.SegmentBytes = DefaultSegmentBytes
	}
	if c.IndexIntervalBytes == 0 {
		c.IndexIntervalBytes = DefaultIndexIntervalBytes
	}
	if c.SegmentIndexBytes == 0 {
		c.SegmentIndexBytes = DefaultSegmentIndexBytes
	}
	if c.SegmentMs == 0 {
		c.SegmentMs = DefaultSegmentMs
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.IndexCache == nil {
		c.IndexCache = defaultIndexCache
	}
	if c.AfterFunc == nil {
		c.AfterFunc = realAfterFunc
	}
	switch {
	case c.SegmentBytes < 0 || c.SegmentBytes > math.MaxInt32:
		return c, fmt.Errorf("storage: segment.bytes %d not in [1, %d]", c.SegmentBytes, math.MaxInt32)
	case c.IndexIntervalBytes < 0:
		return c, fmt.Errorf("storage: index.interval.bytes %d is negative", c.IndexIntervalBytes)
	case c.SegmentIndexBytes < 0 || c.SegmentIndexBytes > math.MaxInt32:
		return c, fmt.Errorf("storage: segment.index.bytes %d not in [1, %d]", c.SegmentIndexBytes, math.MaxInt32)
	case c.SegmentMs < 0:
		return c, fmt.Errorf("storage: segment.ms %d is negative", c.SegmentMs)
	case c.SegmentJitterMs < 0:
		return c, fmt.Errorf("storage: segment.jitter.ms %d is negative", c.SegmentJitterMs)
	case c.FileDeleteDelayMs < 0:
		return c, fmt.Errorf("storage: file.delete.delay.ms %d is negative", c.FileDeleteDelayMs)
	case c.FlushMessages < 0:
		return c, fmt.Errorf("storage: flush.messages %d is negative", c.FlushMessages)
	}
	return c, nil
}

// Errors of the log.
var (
	// ErrOffsetOutOfRange means a read asked for an offset below the log start offset or
	// above the log end offset (Kafka's OFFSET_OUT_OF_RANGE).
	ErrOffsetOutOfRange = errors.New("storage: offset out of range")
	// ErrClosed means the log was closed or deleted.
	ErrClosed = errors.New("storage: log closed")
	// ErrInvalidBatch means Append was given bytes that disagree with their header.
	ErrInvalidBatch = errors.New("storage: invalid batch")
)

// Region is a slice of one segment's .log file: whole batches, except that the last one may
// be cut short by a size limit, as Kafka does. Size 0 means nothing to read.
//
// The network layer sends it with sendfile. With OSFS, File is an *os.File shared with
// other readers: use pread-style calls (ReadAt, or sendfile with an explicit offset), never
// the file's own position.
type Region struct {
	File      File
	Pos, Size int64
}

// ReadBytes copies the region into memory.
func (r Region) ReadBytes() ([]byte, error) {
	if r.Size == 0 {
		return nil, nil
	}
	b := make([]byte, r.Size)
	if n, err := r.File.ReadAt(b, r.Pos); n < len(b) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

// Log is one partition's log: an ordered list of segments in one directory. It is safe for
// one appender (appends are serialized anyway) and any number of concurrent readers.
//
// Lock order: cleanMu, then flushMu, then appendMu, then mu, then retireMu. An index's
// pathMu and the IndexCache's mu are leaves, taken under any of these but never together; the
// LeaderEpochCache's mu is taken under flushMu (SetLeaderEpochCache).
type Log struct {
	fs     FS
	dir    string
	logger *slog.Logger

	// flushMu serializes Flush, Close and Delete, so that files are not closed under an fsync.
	// It is also where FlushTo callers queue: whoever takes it next fsyncs for all of them
	// (group commit, flush.go).
	flushMu sync.Mutex

	// epochs, when set, is the partition's leader epoch cache, written (if it changed) by
	// every flush before the recovery point moves (SetLeaderEpochCache). Guarded by flushMu.
	epochs *LeaderEpochCache

	// cleanMu serializes Clean (cleaner.go), which works unlocked on closed segments and
	// takes flushMu, appendMu and mu only to swap its output in.
	cleanMu sync.Mutex

	// appendMu serializes everything that writes the files: Append, roll, index writes.
	appendMu sync.Mutex
	// Guarded by appendMu.
	cfg           LogConfig // with defaults filled in
	failed        error     // sticky: the files may disagree with memory; no more writes
	dirSyncNeeded bool      // segments were created or removed since the last directory fsync
	// recoveredEpochs are the epochs of the batches Open recovered (RecoveredEpochs).
	recoveredEpochs []EpochRun

	// mu guards the log's shape. Readers hold it (shared) only to take snapshots; they do
	// their I/O unlocked, below the committed sizes they saw.
	mu sync.RWMutex
	// Written with both appendMu and mu held; read with either held.
	//
	// segments is sorted by base offset and never empty while open; the last one is active.
	// Readers may keep an old copy of the slice header: segments are only ever appended in
	// place, so a removal must build a new slice.
	segments []*segment
	// Invariant: logStartOffset <= logEndOffset, and logEndOffset == the active segment's
	// nextOffset.
	logStartOffset, logEndOffset int64
	// The batch with the largest max timestamp (its last offset); -1, -1 when none.
	maxTimestamp, maxTimestampOffset int64
	closed                           bool
	// flushMessages is cfg.FlushMessages, kept here so that FlushIfDue reads it without
	// appendMu.
	flushMessages int64
	// Guarded by mu alone (Flush writes it without appendMu).
	//
	// Invariant: logStartOffset <= recoveryPoint <= logEndOffset; everything below it is on
	// disk (fsynced), so Open need not check it again.
	recoveryPoint int64

	// Segments taken out of the log whose files wait for file.delete.delay.ms (retire.go).
	retireState
}

// Dir is the partition directory.
func (l *Log) Dir() string { return l.dir }

// LogStartOffset is the first offset the log holds.
func (l *Log) LogStartOffset() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.logStartOffset
}

// LogEndOffset is the offset the next appended batch will get.
func (l *Log) LogEndOffset() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.logEndOffset
}

// RecoveryPoint is the offset below which the log is known to be on disk; the caller
// checkpoints it (recovery-point-offset-checkpoint) and gives it back to Open.
func (l *Log) RecoveryPoint() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.recoveryPoint
}

// NumSegments is the number of segments.
func (l *Log) NumSegments() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.segments)
}

// SizeInBytes is the total size of the segments' .log files.
func (l *Log) SizeInBytes() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var n int64
	for _, s := range l.segments {
		n += s.size
	}
	return n
}

// MaxTimestamp returns the last offset and max timestamp of the batch with the largest max
// timestamp (the first such batch on ties), or -1, -1 when the log has none.
func (l *Log) MaxTimestamp() (offset, timestamp int64) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.maxTimestampOffset, l.maxTimestamp
}

func (l *Log) activeLocked() *segment { return l.segments[len(l.segments)-1] }

// checkBatch checks what Append relies on; full validation is the caller's job.
func checkBatch(batch []byte, h records.Header) error {
	switch {
	case len(batch) < records.HeaderSize:
		return fmt.Errorf("%w: %d bytes", ErrInvalidBatch, len(batch))
	case h.Size() != int64(len(batch)):
		return fmt.Errorf("%w: header says %d bytes, have %d", ErrInvalidBatch, h.Size(), len(batch))
	case h.Magic != records.Magic:
		return fmt.Errorf("%w: magic %d", ErrInvalidBatch, h.Magic)
	case h.LastOffsetDelta < 0:
		return fmt.Errorf("%w: last offset delta %d", ErrInvalidBatch, h.LastOffsetDelta)
	}
	return nil
}

// Append writes one already-validated RecordBatch v2 (h is its parsed header) at the end of
// the log. It assigns the batch's base offset, the log end offset, by rewriting batch in
// place (the CRC does not cover it), and returns it. On an error nothing is appended; an
// error that could not be undone makes the log refuse further appends.
func (l *Log) Append(batch []byte, h records.Header) (baseOffset int64, err error) {
	return l.append(batch, h, true)
}

// AppendAsFollower writes one batch fetched from the partition's leader, whose offsets the
// leader assigned: the batch is written byte for byte, and its base offset must be the log
// end offset (ErrNotContiguous otherwise), so that the follower's log is a prefix of the
// leader's.
func (l *Log) AppendAsFollower(batch []byte, h records.Header) error {
	_, err := l.append(batch, h, false)
	return err
}

// ErrNotContiguous means a follower's batch does not start at the log end offset.
var ErrNotContiguous = errors.New("storage: batch does not start at the log end offset")

// append is Append (assign: the base offset is the log end offset, written into the batch) and
// AppendAsFollower (the batch's own base offset must be the log end offset).
func (l *Log) append(batch []byte, h records.Header, assign bool) (baseOffset int64, err error) {
	if err := checkBatch(batch, h); err != nil {
		return -1, err
	}
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	if l.closed {
		return -1, ErrClosed
	}
	if l.failed != nil {
		return -1, l.failed
	}
	base := l.logEndOffset
	if !assign && h.BaseOffset != base {
		return -1, fmt.Errorf("%w: batch at %d, log end offset %d", ErrNotContiguous, h.BaseOffset, base)
	}
	if base > math.MaxInt64-1-int64(h.LastOffsetDelta) {
		return -1, fmt.Errorf("%w: offsets overflow", ErrInvalidBatch)
	}
	last := base + int64(h.LastOffsetDelta)
	size := int64(len(batch))

	seg := l.activeLocked()
	if seg.size > 0 && (seg.size+size > l.cfg.SegmentBytes || l.reachedRollMsLocked(seg, h.MaxTimestamp) ||
		seg.offsetIdx.full() || seg.timeIdx.full() || !seg.canHoldOffset(last)) {
		if seg, err = l.rollLocked(base); err != nil {
			return -1, err
		}
		if l.cfg.OnRoll != nil {
			l.cfg.OnRoll(base)
		}
	}

	if assign {
		records.SetBaseOffset(batch, base)
	}
	pos := seg.size
	n, err := seg.log.Write(batch)
	if err == nil && n != len(batch) {
		err = io.ErrShortWrite
	}
	if err != nil {
		err = fmt.Errorf("storage: append to %s: %w", seg.path(LogFileSuffix), err)
		// Cut off a torn write, so the file again ends at the committed size.
		if terr := seg.log.Truncate(pos); terr != nil {
			l.failed = fmt.Errorf("%w; truncating back to %d failed too: %v", err, pos, terr)
			l.logger.Error("log failed: cannot undo a failed append", "err", l.failed)
		}
		return -1, err
	}
	seg.dirty = true
	seg.logDirty = true
	if pos == 0 {
		seg.firstBatchTimestamp = h.MaxTimestamp
	}
	seg.lastModifiedMs = l.cfg.Now().UnixMilli()
	addIndexEntry := seg.bytesSinceLastIndexEntry > l.cfg.IndexIntervalBytes

	l.mu.Lock()
	seg.size += size
	seg.nextOffset = last + 1
	if h.MaxTimestamp > seg.maxTimestamp {
		seg.maxTimestamp, seg.maxTimestampOffset = h.MaxTimestamp, last
	}
	if addIndexEntry {
		// As Kafka does: the entry maps the batch's last offset to the batch's position.
		seg.offsetIdx.appendLocked(offsetEntry(seg.baseOffset, last, pos))
		seg.maybeAppendTimeEntryLocked(seg.maxTimestamp, seg.maxTimestampOffset)
	}
	l.logEndOffset = last + 1
	if h.MaxTimestamp > l.maxTimestamp {
		l.maxTimestamp, l.maxTimestampOffset = h.MaxTimestamp, last
	}
	l.mu.Unlock()

	if addIndexEntry {
		seg.bytesSinceLastIndexEntry = 0
	}
	seg.bytesSinceLastIndexEntry += size
	return base, nil
}

// reachedRollMsLocked is Kafka's time rule for rolling (LogSegment.timeWaitedForRoll): the
// active segment has waited long enough when the new batch's max timestamp is more than
// segment.ms, less the segment's jitter, after its first batch's; when the first batch has no
// timestamp (-1), the wall clock since the segment was created counts instead. The caller holds
// appendMu.
func (l *Log) reachedRollMsLocked(s *segment, batchMaxTimestamp int64) bool {
	var waited int64
	if s.firstBatchTimestamp >= 0 {
		waited = batchMaxTimestamp - s.firstBatchTimestamp
	} else {
		waited = l.cfg.Now().UnixMilli() - s.createdMs
	}
	return waited > l.cfg.SegmentMs-s.rollJitterMs
}

// rollLocked makes a new active segment starting at base. The caller holds appendMu.
func (l *Log) rollLocked(base int64) (*segment, error) {
	old := l.activeLocked()
	// Like Kafka's onBecomeInactiveSegment: the time index's last entry becomes the segment's
	// largest timestamp, which is how Open learns it without reading the segment.
	l.mu.Lock()
	old.maybeAppendTimeEntryLocked(old.maxTimestamp, old.maxTimestampOffset)
	l.mu.Unlock()
	if err := old.offsetIdx.writePending(); err != nil {
		return nil, fmt.Errorf("storage: roll %s: %w", l.dir, err)
	}
	if err := old.timeIdx.writePending(); err != nil {
		return nil, fmt.Errorf("storage: roll %s: %w", l.dir, err)
	}
	// Those index entries are on no disk yet, even when the segment's records are: the next
	// flush, which moves the recovery point past this segment, must sync them.
	old.dirty = true
	s, err := createSegment(l.fs, l.dir, base, l.cfg)
	if err != nil {
		return nil, fmt.Errorf("storage: roll %s: %w", l.dir, err)
	}
	l.mu.Lock()
	// Lookups now load the closed indexes lazily; the files are synced by name (Flush).
	derr := errors.Join(old.offsetIdx.deactivateLocked(), old.timeIdx.deactivateLocked())
	l.segments = append(l.segments, s)
	l.mu.Unlock()
	if derr != nil { // a close error loses nothing written: the entries were written, and Flush syncs by name
		l.logger.Warn("roll: closing index files", "err", derr)
	}
	l.dirSyncNeeded = true
	l.logger.Debug("rolled segment", "base_offset", base, "previous_size", old.size)
	return s, nil
}

// segmentSnapshot is what a reader needs of a segment, taken under mu.
type segmentSnapshot struct {
	base, size, next                 int64
	log                              File
	offsetIdx, timeIdx               indexView
	maxTimestamp, maxTimestampOffset int64
}

func (l *Log) snapshot(s *segment) segmentSnapshot {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return segmentSnapshot{
		base: s.baseOffset, size: s.size, next: s.nextOffset, log: s.log,
		offsetIdx: s.offsetIdx.viewLocked(), timeIdx: s.timeIdx.viewLocked(),
		maxTimestamp: s.maxTimestamp, maxTimestampOffset: s.maxTimestampOffset,
	}
}

// findBatch returns the position and header of the first batch of the segment whose last
// offset is >= offset, starting from the index's hint.
func (s segmentSnapshot) findBatch(offset int64, from int64) (pos int64, h records.Header, found bool, err error) {
	start, err := lookupPosition(s.offsetIdx, s.base, offset)
	if err != nil {
		return 0, h, false, err
	}
	start = max(start, from)
	return scanBatches(s.log, start, s.size, func(h records.Header) bool { return h.LastOffset() >= offset })
}

// Read returns the region of the log to send for a fetch at offset. It starts with the batch
// holding offset; it ends before the batch holding maxOffset (the high watermark; maxOffset
// above the log end offset means the log end offset), never spans segments, and holds at
// most maxBytes, or the whole first batch if that is larger and minOneBatch is set. Like
// Kafka it may cut the last batch short. An offset below the log start offset or above the
// log end offset is ErrOffsetOutOfRange; the log end offset gives an empty region.
func (l *Log) Read(offset int64, maxBytes int64, maxOffset int64, minOneBatch bool) (Region, error) {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return Region{}, ErrClosed
	}
	segs, lso, leo := l.segments, l.logStartOffset, l.logEndOffset
	l.mu.RUnlock()

	if offset < lso || offset > leo {
		return Region{}, fmt.Errorf("%w: offset %d, log has [%d, %d)", ErrOffsetOutOfRange, offset, lso, leo)
	}
	maxOffset = min(maxOffset, leo)
	if offset >= maxOffset {
		return Region{}, nil
	}
	maxBytes = max(maxBytes, 0)
	// The last segment whose base offset is <= offset; later ones if offset is in a gap.
	i := sort.Search(len(segs), func(i int) bool { return segs[i].baseOffset > offset }) - 1
	for i = max(i, 0); i < len(segs); i++ {
		s := l.snapshot(segs[i])
		pos, h, found, err := s.findBatch(offset, 0)
		if err != nil {
			return Region{}, fmt.Errorf("storage: read %s offset %d: %w", l.dir, offset, err)
		}
		if !found {
			continue
		}
		end := s.size
		if maxOffset < s.next {
			// The high watermark is inside this segment: stop before its batch.
			mpos, _, found, err := s.findBatch(maxOffset, pos)
			if err != nil {
				return Region{}, fmt.Errorf("storage: read %s offset %d: %w", l.dir, maxOffset, err)
			}
			if found {
				end = mpos
			}
		}
		limit := maxBytes
		if minOneBatch {
			limit = max(limit, h.Size())
		}
		size := min(end-pos, limit)
		if size <= 0 {
			return Region{}, nil
		}
		return Region{File: s.log, Pos: pos, Size: size}, nil
	}
	return Region{}, nil
}

// OffsetForTimestamp finds the first batch whose max timestamp is >= ts and returns its base
// offset and max timestamp (ListOffsets). It works at batch granularity: Kafka returns the
// first record with timestamp >= ts, which may be later inside the same batch; consumers
// starting at the base offset see that batch's earlier records too.
func (l *Log) OffsetForTimestamp(ts int64) (offset, timestamp int64, found bool) {
	l.mu.RLock()
	segs, lso := l.segments, l.logStartOffset
	l.mu.RUnlock()
	for _, seg := range segs {
		s := l.snapshot(seg)
		if s.maxTimestamp < ts {
			continue
		}
		start := int64(0)
		if e, ok, err := s.timeIdx.floor(ts); err == nil && ok {
			_, o := parseTimeEntry(s.base, e)
			if start, err = lookupPosition(s.offsetIdx, s.base, o); err != nil {
				start = 0
			}
		}
		_, h, ok, err := scanBatches(s.log, start, s.size, func(h records.Header) bool { return h.MaxTimestamp >= ts })
		if err != nil {
			l.logger.Warn("offset for timestamp: scan failed", "segment", s.base, "err", err)
			return -1, -1, false
		}
		if ok {
			return max(h.BaseOffset, lso), h.MaxTimestamp, true
		}
	}
	return -1, -1, false
}

// Flush writes pending index entries and fsyncs every segment written since the last
// Flush, and the directory if segments came or went. When it returns nil, everything
// appended before the call is durable and the recovery point has moved up to it. A failed
// fsync makes the log refuse further writes, since the kernel may have dropped the data.
func (l *Log) Flush() error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	return l.flushLocked()
}

// SetLeaderEpochCache makes every flush of the log (Flush, FlushTo, Close) also write c's
// file when it changed, before the recovery point moves: the cache's Assign writes nothing
// itself (see LeaderEpochCheckpointFile).
func (l *Log) SetLeaderEpochCache(c *LeaderEpochCache) {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.epochs = c
}

// flushLocked is Flush; the caller holds flushMu.
func (l *Log) flushLocked() error { return l.syncLocked(false) }

// syncLocked is Flush, or with dataOnly the flush that flush.messages asks for (FlushTo):
// only the segments' .log files (and the directory). Index files need no fsync for the
// records to be durable: they are rebuilt from the .log by the recovery that follows a crash
// (the recovery-point checkpoint that lets Open trust them is written only at a clean
// shutdown, after Close's full flush), and a segment stays dirty until a full flush has
// synced its indexes too. Syncing them as well would triple the fdatasyncs of every
// flush.messages=1 produce. The caller holds flushMu.
func (l *Log) syncLocked(dataOnly bool) error {
	l.appendMu.Lock()
	if l.closed {
		l.appendMu.Unlock()
		return ErrClosed
	}
	if l.failed != nil {
		l.appendMu.Unlock()
		return l.failed
	}
	if !dataOnly {
		active := l.activeLocked()
		written := active.offsetIdx.written + active.timeIdx.written
		if err := active.offsetIdx.writePending(); err != nil {
			l.appendMu.Unlock()
			return err
		}
		if err := active.timeIdx.writePending(); err != nil {
			l.appendMu.Unlock()
			return err
		}
		if active.offsetIdx.written+active.timeIdx.written != written {
			active.dirty = true // Close's final time index entry: a clean restart reads it
		}
	}
	// The files are taken here, under appendMu: an index opens its file when first written
	// (see index), which a roll may do while the fsyncs below run.
	var dirty []File
	var dirtyIndexes []string // closed indexes' files, synced by name
	for _, s := range l.segments {
		if dataOnly {
			if s.logDirty {
				dirty = append(dirty, s.log) // stays dirty: its indexes wait for a full flush
				s.logDirty = false
			}
			continue
		}
		if s.dirty {
			s.logDirty = false
			dirty = append(dirty, s.files()...)
			for _, ix := range []*index{s.offsetIdx, s.timeIdx} {
				if p := ix.closedFilePath(); p != "" {
					dirtyIndexes = append(dirtyIndexes, p)
				}
			}
			s.dirty = false
		}
	}
	dirSync := l.dirSyncNeeded
	l.dirSyncNeeded = false
	leo := l.logEndOffset
	l.appendMu.Unlock()

	// Fsync without appendMu, so appends go on meanwhile.
	var err error
	for _, f := range dirty {
		if err = f.Sync(); err != nil {
			if errors.Is(err, os.ErrClosed) {
				// Retention retired the segment meanwhile (with file.delete.delay.ms=0 its
				// files close at once): its records are gone from the log, nothing to keep.
				// Close and Delete, the only other closers, wait for flushMu.
				err = nil
				continue
			}
			break
		}
	}
	for _, p := range dirtyIndexes {
		if err != nil {
			break
		}
		err = syncClosedIndex(l.fs, p)
	}
	if err == nil && dirSync {
		err = syncDir(l.fs, l.dir)
	}
	if err == nil && l.epochs != nil {
		// Before the recovery point passes them: the entries below it are never rebuilt
		// (see LeaderEpochCheckpointFile). A failed write leaves the log's data as it is.
		if err := l.epochs.flushBelow(leo); err != nil {
			return fmt.Errorf("storage: flush %s: %w", l.dir, err)
		}
	}
	if err != nil {
		err = fmt.Errorf("storage: flush %s: %w", l.dir, err)
		l.appendMu.Lock()
		l.failed = err
		l.appendMu.Unlock()
		l.logger.Error("log failed: fsync error", "err", err)
		return err
	}
	l.mu.Lock()
	l.recoveryPoint = max(l.recoveryPoint, leo)
	l.mu.Unlock()
	return nil
}

// Close flushes the log (after giving the active segment's time index its final entry, as
// Kafka does) and closes its files. The index files hold exactly their entries (they are
// never preallocated), so there is nothing to trim. Later calls return nil.
func (l *Log) Close() error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.RLock()
	closed := l.closed
	l.mu.RUnlock()
	if closed {
		return nil
	}
	l.appendMu.Lock()
	if l.failed == nil {
		active := l.activeLocked()
		l.mu.Lock()
		active.maybeAppendTimeEntryLocked(active.maxTimestamp, active.maxTimestampOffset)
		l.mu.Unlock()
	}
	l.appendMu.Unlock()
	err := l.flushLocked()
	if cerr := l.closeFiles(); err == nil {
		err = cerr
	}
	// Pending deletions finish now rather than leave timers behind.
	l.finishRetirements(true)
	return err
}

// closeFiles marks the log closed and closes every file. The caller holds flushMu.
func (l *Log) closeFiles() error {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	segs := l.segments
	l.mu.Unlock()
	var first error
	for _, s := range segs {
		if err := s.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Delete closes the log without flushing and removes its directory: first renamed to
// "<dir>.<unique id>-delete", as Kafka does, so a crash half-way leaves a name that startup
// recognises (IsDeleteDirName) and finishes removing.
func (l *Log) Delete() error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	if err := l.closeFiles(); err != nil {
		l.logger.Warn("delete: closing files", "err", err)
	}
	l.finishRetirements(false)
	var id [16]byte
	rand.Read(id[:])
	gone := filepath.Join(filepath.Dir(l.dir), filepath.Base(l.dir)+"."+hex.EncodeToString(id[:])+deleteDirSuffix)
	if err := l.fs.Rename(l.dir, gone); err != nil {
		return fmt.Errorf("storage: delete %s: %w", l.dir, err)
	}
	if err := l.fs.RemoveAll(gone); err != nil {
		return fmt.Errorf("storage: delete %s: %w", l.dir, err)
	}
	return nil
}
