package storage

// The log cleaner (compaction), as Kafka's LogCleaner: it keeps, for every key, the latest
// record, and drops the rest.
//
// A compacted log is split at two offsets:
//
//	log start                first dirty              first uncleanable     active segment
//	|------- clean ----------|-------- dirty ---------|---- uncleanable ----|---------------
//	 one record per key       written since the last   closed segments past  never cleaned
//	 (as of the last pass)    pass                     the high watermark or
//	                                                   younger than
//	                                                   min.compaction.lag.ms
//
// The first dirty offset is the cleaner checkpoint (the caller keeps it in Kafka's
// cleaner-offset-checkpoint file). A pass builds a map key -> latest offset over the dirty
// section, then rewrites every segment from the log start to the end of that section,
// keeping a record only if no later record has its key; the new first dirty offset is where
// the map ended. Offsets never change: a compacted log has gaps.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/gregorhq/gregor/internal/records"
)

// CleanOptions are the inputs of one cleaning pass: the topic's compaction configs, with
// Kafka's names, and what the caller knows about the log.
type CleanOptions struct {
	// Now is the cleaner's clock reading (delete horizons, compaction lags).
	Now time.Time
	// UpperBound is the last stable offset: no segment holding an offset at or past it is
	// cleaned, so neither uncommitted records nor open transactions are.
	UpperBound int64
	// FirstDirtyOffset is the cleaner checkpoint: everything below it was cleaned by an
	// earlier pass. Values outside the log mean the log start offset, as in Kafka.
	FirstDirtyOffset int64
	// DeleteRetentionMs is delete.retention.ms: how long tombstones survive once cleaned.
	DeleteRetentionMs int64
	// MinCompactionLagMs is min.compaction.lag.ms: segments holding a record younger than
	// this (by the segment's largest timestamp) are not cleaned.
	MinCompactionLagMs int64
	// MaxCompactionLagMs is max.compaction.lag.ms: a log whose oldest dirty record is older
	// than this is cleaned whatever its dirty ratio. 0 means no limit.
	MaxCompactionLagMs int64
	// MinCleanableDirtyRatio is min.cleanable.dirty.ratio: clean when the dirty bytes are more
	// than this share of the cleanable bytes.
	MinCleanableDirtyRatio float64
	// MaxMapEntries bounds the offset map (Kafka bounds it by log.cleaner.dedupe.buffer.size):
	// the dirty section is mapped segment by segment until the map holds this many keys, and
	// the rest waits for the next pass. 0 means DefaultMaxMapEntries.
	MaxMapEntries int
	// Throttle bounds the cleaner's I/O; nil means no limit.
	Throttle *Throttler
	// Force cleans even when neither the dirty ratio nor the compaction lag asks for it: to
	// drop tombstones whose delete horizon has passed, and in tests.
	Force bool
}

// DefaultMaxMapEntries is about what Kafka's default 128 MiB dedupe buffer holds.
const DefaultMaxMapEntries = 4 << 20

// Cleanable describes the log's sections as the cleaner sees them; see the package's
// cleaner comment.
type Cleanable struct {
	FirstDirtyOffset       int64
	FirstUncleanableOffset int64
	CleanBytes, DirtyBytes int64
	// NeedCompactionNow is true when the oldest dirty batch is older than
	// max.compaction.lag.ms.
	NeedCompactionNow bool
}

// DirtyRatio is DirtyBytes / (CleanBytes + DirtyBytes), 0 for an empty cleanable section.
func (c Cleanable) DirtyRatio() float64 {
	if c.CleanBytes+c.DirtyBytes == 0 {
		return 0
	}
	return float64(c.DirtyBytes) / float64(c.CleanBytes+c.DirtyBytes)
}

// ShouldClean is Kafka's choice of logs to clean: the dirty ratio is above minRatio, or the
// compaction lag demands it and there is something dirty.
func (c Cleanable) ShouldClean(minRatio float64) bool {
	return c.DirtyBytes > 0 && (c.NeedCompactionNow || c.DirtyRatio() > minRatio)
}

// CleanStats reports what a pass did.
type CleanStats struct {
	// Cleaned is true when segments were rewritten.
	Cleaned bool
	// FirstDirtyOffset is the new cleaner checkpoint.
	FirstDirtyOffset int64
	// DeleteHorizon is the latest delete horizon (ms) of the batches that still hold
	// tombstones after the pass, -1 if none: once the clock passes it a forced pass drops
	// them (Kafka's latestDeleteHorizon).
	DeleteHorizon int64

	SegmentsIn, SegmentsOut  int
	BytesRead, BytesWritten  int64
	RecordsRead, RecordsKept int64
	TombstonesDropped        int64
	KeylessRecordsDropped    int64
}

// errCleanAborted means the log changed under the cleaner (segments were deleted, the log was
// closed); the pass stops and the next one starts over.
var errCleanAborted = errors.New("storage: cleaning aborted: the log changed")

// cleanerSegment is a closed segment as the cleaner saw it.
type cleanerSegment struct {
	seg *segment
	segmentSnapshot
	indexEntries int64
}

// closedSegments snapshots the closed (inactive) segments.
func (l *Log) closedSegments() (segs []cleanerSegment, lso, leo, activeBase int64, err error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, 0, 0, 0, ErrClosed
	}
	for _, s := range l.segments[:len(l.segments)-1] {
		segs = append(segs, cleanerSegment{
			seg: s,
			segmentSnapshot: segmentSnapshot{
				base: s.baseOffset, size: s.size, next: s.nextOffset, log: s.log,
				offsetIdx: s.offsetIdx.viewLocked(), timeIdx: s.timeIdx.viewLocked(),
				maxTimestamp: s.maxTimestamp, maxTimestampOffset: s.maxTimestampOffset,
			},
			indexEntries: s.offsetIdx.n,
		})
	}
	return segs, l.logStartOffset, l.logEndOffset, l.activeLocked().baseOffset, nil
}

// cleanableSections splits the closed segments: segs[:k] are cleanable, and the dirty ones
// among them start at the returned first dirty offset.
func cleanableSections(segs []cleanerSegment, lso, leo, activeBase int64, opts CleanOptions) (c Cleanable, k int) {
	now := opts.Now.UnixMilli()
	// Kafka's firstUncleanableDirtyOffset: the active segment, the high watermark, and the
	// first segment with a record younger than min.compaction.lag.ms.
	for k < len(segs) {
		s := segs[k]
		if s.next > opts.UpperBound || (opts.MinCompactionLagMs > 0 && s.maxTimestamp > now-opts.MinCompactionLagMs) {
			break
		}
		k++
	}
	c.FirstUncleanableOffset = activeBase
	if k < len(segs) {
		c.FirstUncleanableOffset = segs[k].base
	}
	c.FirstDirtyOffset = opts.FirstDirtyOffset
	if c.FirstDirtyOffset < lso || c.FirstDirtyOffset > leo {
		c.FirstDirtyOffset = lso // a stale checkpoint: clean everything again
	}
	for _, s := range segs[:k] {
		if s.next <= c.FirstDirtyOffset {
			c.CleanBytes += s.size
		} else {
			c.DirtyBytes += s.size
		}
	}
	return c, k
}

// Cleanable reports how dirty the log is, for choosing which log to clean.
func (l *Log) Cleanable(opts CleanOptions) (Cleanable, error) {
	segs, lso, leo, activeBase, err := l.closedSegments()
	if err != nil {
		return Cleanable{}, err
	}
	c, k := cleanableSections(segs, lso, leo, activeBase, opts)
	c.NeedCompactionNow = needCompactionNow(segs[:k], c.FirstDirtyOffset, opts)
	return c, nil
}

// needCompactionNow applies max.compaction.lag.ms, as Kafka does, to the earliest first-batch
// timestamp of the dirty segments.
func needCompactionNow(segs []cleanerSegment, firstDirty int64, opts CleanOptions) bool {
	if opts.MaxCompactionLagMs <= 0 || opts.MaxCompactionLagMs == math.MaxInt64 {
		return false
	}
	until := opts.Now.UnixMilli() - opts.MaxCompactionLagMs
	var buf [records.HeaderSize]byte
	for _, s := range segs {
		if s.next <= firstDirty || s.size == 0 {
			continue
		}
		h, err := readHeader(s.log, 0, s.size, &buf)
		if err == nil && h.MaxTimestamp > 0 && h.MaxTimestamp < until {
			return true
		}
	}
	return false
}

// Clean runs one compaction pass (Kafka's Cleaner.doClean) if the log needs one, or if
// opts.Force. Appends and reads go on meanwhile: only closed segments are read, and each
// group of rewritten segments is swapped in at once under the log's locks.
//
// Which records survive:
//   - the latest record of each key in the mapped dirty section, and every record whose key
//     the dirty section does not hold;
//   - not records without a key (Kafka refuses them at produce on a compacted topic);
//   - tombstones (null values) until their batch's delete horizon has passed. The horizon
//     is KIP-534's: the first pass that keeps a batch's tombstones rewrites the batch with
//     baseTimestamp = now + delete.retention.ms and the delete-horizon attribute bit (record
//     timestamps are unchanged: their deltas are recomputed); a later pass at or after that
//     time drops them. So a tombstone lives at least delete.retention.ms after it was first
//     cleaned, which is what lets a consumer that reads the log from the start within that
//     time see the delete.
//
// Compressed batches are decompressed, their keys mapped and their records filtered like any
// others; a rebuilt one is compressed again with its codec.
//
// Which batches survive: control batches as they are; batches of idempotent or transactional producers even when empty (the
// producer state needs their sequence numbers); and the last batch of each rewritten group
// even when empty, so that each segment still ends where the next one starts (recovery takes
// a segment that ends short for a lost tail). Rewritten batches keep their base offset,
// offset range, producer fields and max timestamp.
//
// Transactions: the records of aborted transactions (by the aborted transaction index) are
// dropped and never mapped, so they shadow no committed record; their batches stay, empty,
// like any producer's. Markers are kept (Kafka removes a marker once its transaction's data
// is gone and delete.retention.ms has passed; Gregor keeps them, which costs only space).
func (l *Log) Clean(ctx context.Context, opts CleanOptions) (CleanStats, error) {
	l.cleanMu.Lock()
	defer l.cleanMu.Unlock()
	l.appendMu.Lock()
	cfg := l.cfg
	l.appendMu.Unlock()
	segs, lso, leo, activeBase, err := l.closedSegments()
	if err != nil {
		return CleanStats{}, err
	}
	c, k := cleanableSections(segs, lso, leo, activeBase, opts)
	stats := CleanStats{FirstDirtyOffset: c.FirstDirtyOffset, DeleteHorizon: -1}
	if !opts.Force {
		c.NeedCompactionNow = needCompactionNow(segs[:k], c.FirstDirtyOffset, opts)
		if !c.ShouldClean(opts.MinCleanableDirtyRatio) {
			return stats, nil
		}
	}
	if k == 0 {
		return stats, nil
	}
	aborted := newAbortedSet(l.AbortedTransactions(segs[0].base, segs[k-1].next))
	offsets, end, err := buildOffsetMap(ctx, segs[:k], c.FirstDirtyOffset, aborted, opts, &stats)
	if err != nil {
		return stats, fmt.Errorf("storage: clean %s: %w", l.dir, err)
	}
	j := 0
	for j < k && segs[j].next <= end {
		j++
	}
	for _, group := range groupSegmentsBySize(segs[:j], cfg) {
		if err := l.cleanGroup(ctx, cfg, group, offsets, aborted, opts, &stats); err != nil {
			return stats, fmt.Errorf("storage: clean %s: %w", l.dir, err)
		}
		stats.Cleaned = true
	}
	stats.FirstDirtyOffset = max(end, c.FirstDirtyOffset)
	l.logger.Info("cleaned log", "segments_in", stats.SegmentsIn, "segments_out", stats.SegmentsOut,
		"bytes_read", stats.BytesRead, "bytes_written", stats.BytesWritten,
		"records_read", stats.RecordsRead, "records_kept", stats.RecordsKept,
		"first_dirty_offset", stats.FirstDirtyOffset)
	return stats, nil
}

// abortedSet answers whether a batch belongs to an aborted transaction: per producer, the
// offset ranges [first offset, marker] of its aborted transactions.
type abortedSet map[int64][]AbortedTxn

func newAbortedSet(entries []AbortedTxn) abortedSet {
	s := abortedSet{}
	for _, a := range entries {
		s[a.ProducerID] = append(s[a.ProducerID], a)
	}
	return s
}

// holds reports whether h is a data batch of an aborted transaction.
func (s abortedSet) holds(h records.Header) bool {
	if !h.Transactional() || h.Control() {
		return false
	}
	for _, a := range s[h.ProducerID] {
		if h.BaseOffset >= a.FirstOffset && h.BaseOffset < a.LastOffset {
			return true
		}
	}
	return false
}

// offsetMap maps a key to the offset of its latest record in the mapped dirty section.
type offsetMap map[string]int64

// buildOffsetMap maps the dirty segments among segs, whole segments at a time, until the map
// is full; end is the offset after the last mapped segment (firstDirty when none was).
func buildOffsetMap(ctx context.Context, segs []cleanerSegment, firstDirty int64, aborted abortedSet, opts CleanOptions, stats *CleanStats) (m offsetMap, end int64, err error) {
	limit := opts.MaxMapEntries
	if limit <= 0 {
		limit = DefaultMaxMapEntries
	}
	m = offsetMap{}
	end = firstDirty
	mapped := 0
	for _, s := range segs {
		if s.next <= firstDirty {
			continue
		}
		if mapped > 0 && len(m) >= limit {
			break // Kafka too stops at a segment boundary when the map is full
		}
		err := forEachBatch(ctx, s, opts.Throttle, stats, func(batch []byte, h records.Header) error {
			if h.LastOffset() < firstDirty || h.Control() || aborted.holds(h) {
				return nil
			}
			return records.ForEachRecord(batch, func(r records.Record) bool {
				if off := h.BaseOffset + int64(r.OffsetDelta); r.Key != nil && off >= firstDirty {
					m[string(r.Key)] = off
				}
				return true
			})
		})
		if err != nil {
			return nil, 0, err
		}
		mapped++
		end = s.next
	}
	return m, end, nil
}

// forEachBatch reads the segment's batches in order, charging the throttle for the bytes.
func forEachBatch(ctx context.Context, s cleanerSegment, throttle *Throttler, stats *CleanStats, fn func([]byte, records.Header) error) error {
	br := bufio.NewReaderSize(io.NewSectionReader(s.log, 0, s.size), 1<<16)
	var buf []byte
	for pos := int64(0); pos < s.size; {
		var hdr [records.HeaderSize]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return fmt.Errorf("segment %d position %d: %w", s.base, pos, err)
		}
		h, _ := records.ParseHeader(hdr[:])
		if h.Size() < records.HeaderSize || h.Size() > s.size-pos {
			return fmt.Errorf("segment %d position %d: %w", s.base, pos, errCorruptSegment)
		}
		if int64(cap(buf)) < h.Size() {
			buf = make([]byte, h.Size())
		}
		batch := buf[:h.Size()]
		copy(batch, hdr[:])
		if _, err := io.ReadFull(br, batch[records.HeaderSize:]); err != nil {
			return fmt.Errorf("segment %d position %d: %w", s.base, pos, err)
		}
		stats.BytesRead += h.Size()
		if err := throttle.Wait(ctx, h.Size()); err != nil {
			return err
		}
		if err := fn(batch, h); err != nil {
			return fmt.Errorf("segment %d offset %d: %w", s.base, h.BaseOffset, err)
		}
		pos += h.Size()
	}
	return nil
}

// groupSegmentsBySize splits segs into runs that each fit one segment: segment.bytes of log,
// segment.index.bytes of each index, and offsets within int32 of the first base (Kafka's
// groupSegmentsBySize). Every run has at least one segment.
func groupSegmentsBySize(segs []cleanerSegment, cfg LogConfig) [][]cleanerSegment {
	var groups [][]cleanerSegment
	for len(segs) > 0 {
		n, size, entries := 1, segs[0].size, segs[0].indexEntries
		for n < len(segs) {
			s := segs[n]
			if size+s.size > cfg.SegmentBytes ||
				(entries+s.indexEntries)*timeIndexKind.entrySize > cfg.SegmentIndexBytes ||
				s.next-1-segs[0].base > math.MaxInt32 {
				break
			}
			size += s.size
			entries += s.indexEntries
			n++
		}
		groups = append(groups, segs[:n])
		segs = segs[n:]
	}
	return groups
}
