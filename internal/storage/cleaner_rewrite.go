package storage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/gregorhq/gregor/internal/records"
)

// cleanGroup rewrites a run of closed segments into one "<base>.log.cleaned" segment (with its
// indexes), fsyncs it and swaps it in for them.
func (l *Log) cleanGroup(ctx context.Context, cfg LogConfig, group []cleanerSegment, offsets offsetMap, aborted abortedSet, opts CleanOptions, stats *CleanStats) error {
	out, err := createCleanedSegment(l.fs, l.dir, group[0].base, cfg)
	if err != nil {
		return err
	}
	w := &cleanedWriter{seg: out, w: bufio.NewWriterSize(out.log, 1<<16), interval: cfg.IndexIntervalBytes}
	err = l.rewriteGroup(ctx, group, offsets, aborted, opts, stats, w)
	if err == nil {
		err = w.finish()
	}
	if err == nil {
		err = l.swapIn(out, group)
	}
	if errors.Is(err, errSwapFailed) {
		return err // the files stay for recovery; the log refuses writes until reopened
	}
	if err != nil {
		out.close()
		removeCleanedFiles(l.fs, out)
		return err
	}
	stats.SegmentsIn += len(group)
	stats.SegmentsOut++
	stats.BytesWritten += out.size
	return nil
}

// rewriteGroup filters the group's batches into w; see Clean for what survives.
func (l *Log) rewriteGroup(ctx context.Context, group []cleanerSegment, offsets offsetMap, aborted abortedSet, opts CleanOptions, stats *CleanStats, w *cleanedWriter) error {
	now := opts.Now.UnixMilli()
	groupEnd := group[len(group)-1].next
	for _, s := range group {
		err := forEachBatch(ctx, s, opts.Throttle, stats, func(batch []byte, h records.Header) error {
			out, err := filterBatch(batch, h, offsets, aborted.holds(h), now, opts.DeleteRetentionMs, h.NextOffset() == groupEnd, stats)
			if err != nil || out == nil {
				return err
			}
			oh, _ := records.ParseHeader(out)
			if hz, ok := oh.DeleteHorizon(); ok {
				stats.DeleteHorizon = max(stats.DeleteHorizon, hz)
			}
			if err := opts.Throttle.Wait(ctx, int64(len(out))); err != nil {
				return err
			}
			return w.write(out, oh)
		})
		if err != nil {
			return err
		}
	}
	if w.seg.nextOffset != groupEnd {
		// filterBatch keeps the group's last batch, so this cannot happen with valid input.
		return fmt.Errorf("cleaned segment %d ends at %d, its sources at %d", w.seg.baseOffset, w.seg.nextOffset, groupEnd)
	}
	return nil
}

// filterBatch returns the batch to write in place of batch: batch itself when nothing
// changes, a rebuilt batch, or nil to drop it. A compressed batch's records are decompressed
// and filtered like any others; a rebuilt one is compressed again with the same codec. keepEmpty keeps an emptied batch (the last of
// a group). abortedTxn drops all its records (a batch of an aborted transaction). The
// returned slice may alias batch; the caller writes it before reading on.
func filterBatch(batch []byte, h records.Header, offsets offsetMap, abortedTxn bool, now, deleteRetentionMs int64, keepEmpty bool, stats *CleanStats) ([]byte, error) {
	if h.Control() {
		return batch, nil
	}
	horizon, hasHorizon := h.DeleteHorizon()
	retainDeletes := !hasHorizon || now < horizon
	var kept []records.Record
	dropped, tombstones := false, false
	err := records.ForEachRecord(batch, func(r records.Record) bool {
		stats.RecordsRead++
		off := h.BaseOffset + int64(r.OffsetDelta)
		switch latest, inMap := offsets[string(r.Key)]; {
		case abortedTxn:
			dropped = true
		case r.Key == nil:
			stats.KeylessRecordsDropped++
			dropped = true
		case inMap && off < latest:
			dropped = true
		case r.Value == nil && !retainDeletes:
			stats.TombstonesDropped++
			dropped = true
		default:
			tombstones = tombstones || r.Value == nil
			kept = append(kept, r)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	stats.RecordsKept += int64(len(kept))
	setHorizon := tombstones && !hasHorizon
	if !dropped && !setHorizon {
		return batch, nil
	}
	if len(kept) == 0 && h.ProducerID < 0 && !keepEmpty {
		return nil, nil
	}
	bh := records.BatchHeader{
		BaseOffset:           h.BaseOffset,
		PartitionLeaderEpoch: h.PartitionLeaderEpoch,
		Attributes:           h.Attributes &^ records.AttrDeleteHorizon,
		BaseTimestamp:        h.BaseTimestamp,
		ProducerID:           h.ProducerID,
		ProducerEpoch:        h.ProducerEpoch,
		BaseSequence:         h.BaseSequence,
	}
	// A record's timestamp is baseTimestamp + its delta, whether or not baseTimestamp is a
	// delete horizon; when the base changes, the deltas change the other way.
	switch {
	case tombstones && setHorizon:
		bh.BaseTimestamp = now + deleteRetentionMs
		bh.Attributes |= records.AttrDeleteHorizon
	case tombstones:
		bh.Attributes |= records.AttrDeleteHorizon // keeps its horizon
	case len(kept) > 0:
		bh.BaseTimestamp = h.BaseTimestamp + kept[0].TimestampDelta
	case hasHorizon:
		bh.BaseTimestamp = h.MaxTimestamp // the horizon is no record's time
	}
	b := records.NewBuilder(bh)
	for _, r := range kept {
		r.TimestampDelta = h.BaseTimestamp + r.TimestampDelta - bh.BaseTimestamp
		b.Add(r)
	}
	b.SetLastOffsetDelta(h.LastOffsetDelta)
	b.SetMaxTimestamp(h.MaxTimestamp)
	if len(kept) == 0 {
		// An emptied batch kept for its producer state has no records to compress: it is
		// written uncompressed, as Kafka writes empty batch headers (clients cannot
		// decompress an empty compressed payload).
		return b.Build(), nil
	}
	// A compressed batch stays compressed with its codec, at the codec's default level (the
	// topic's level applies to what producers send, and the codec is what the batch says).
	return b.BuildCompressed(h.Codec(), records.DefaultLevel(h.Codec()))
}

// cleanedWriter appends batches to a cleaned segment and builds its indexes the way Append
// does. The segment is not shared yet, so it takes no locks.
type cleanedWriter struct {
	seg              *segment
	w                *bufio.Writer
	interval         int64
	bytesSinceLastIx int64
}

func (w *cleanedWriter) write(batch []byte, h records.Header) error {
	s := w.seg
	if _, err := w.w.Write(batch); err != nil {
		return err
	}
	pos := s.size
	last := h.LastOffset()
	s.size += int64(len(batch))
	s.nextOffset = last + 1
	if h.MaxTimestamp > s.maxTimestamp {
		s.maxTimestamp, s.maxTimestampOffset = h.MaxTimestamp, last
	}
	if w.bytesSinceLastIx > w.interval {
		s.offsetIdx.appendLocked(offsetEntry(s.baseOffset, last, pos))
		s.maybeAppendTimeEntryLocked(s.maxTimestamp, s.maxTimestampOffset)
		w.bytesSinceLastIx = 0
	}
	w.bytesSinceLastIx += int64(len(batch))
	return nil
}

// finish writes out the buffered bytes and the indexes (the time index ending with the
// segment's largest timestamp, as for any closed segment), fsyncs the three files and leaves
// the indexes reading from their files, as inactive segments' do.
func (w *cleanedWriter) finish() error {
	s := w.seg
	if err := w.w.Flush(); err != nil {
		return err
	}
	s.maybeAppendTimeEntryLocked(s.maxTimestamp, s.maxTimestampOffset)
	if err := s.offsetIdx.writePending(); err != nil {
		return err
	}
	if err := s.timeIdx.writePending(); err != nil {
		return err
	}
	if err := s.sync(); err != nil {
		return err
	}
	if err := errors.Join(s.offsetIdx.deactivateLocked(), s.timeIdx.deactivateLocked()); err != nil {
		return err
	}
	s.dirty = false
	return nil
}

// cleanedSuffixes are the suffixes of a cleaned segment's files, the .log first.
var cleanedSuffixes = []string{LogFileSuffix, IndexFileSuffix, TimeIndexFileSuffix}

// createCleanedSegment creates the empty "<base>.log.cleaned", ".index.cleaned" and
// ".timeindex.cleaned" files; the returned segment's path() names the final files.
func createCleanedSegment(fs FS, dir string, base int64, cfg LogConfig) (*segment, error) {
	s := &segment{dir: dir, baseOffset: base, nextOffset: base, maxTimestamp: -1, maxTimestampOffset: -1,
		firstBatchTimestamp: -1, createdMs: cfg.Now().UnixMilli()}
	var files [3]File
	for i, suffix := range cleanedSuffixes {
		f, err := fs.OpenFile(s.path(suffix)+cleanedFileSuffix, segmentFileFlags|os.O_TRUNC, 0o644)
		if err != nil {
			s.closeFiles(files[:i]...)
			removeCleanedFiles(fs, s)
			return nil, fmt.Errorf("create cleaned segment %d: %w", base, err)
		}
		files[i] = f
	}
	s.log = files[0]
	// The indexes are named by the files' final names, which they have once swapped in.
	s.offsetIdx = newActiveIndex(offsetIndexKind, fs, s.path(IndexFileSuffix), files[1], cfg)
	s.timeIdx = newActiveIndex(timeIndexKind, fs, s.path(TimeIndexFileSuffix), files[2], cfg)
	return s, nil
}

// removeCleanedFiles removes a cleaned segment's .cleaned and .swap files, if any.
func removeCleanedFiles(fs FS, s *segment) {
	for _, suffix := range cleanedSuffixes {
		fs.Remove(s.path(suffix) + cleanedFileSuffix)
		fs.Remove(s.path(suffix) + swapFileSuffix)
	}
}
