package storage

import (
	"fmt"
	"math"

	"github.com/gregorhq/gregor/internal/records"
)

// TruncateTo removes every batch that holds an offset at or above offset, as a follower does
// when its tail diverged from the leader's (Kafka's Log.truncateTo). Truncation is by whole
// batches: a batch that straddles offset goes too, so the new log end offset may be below
// offset. Segments wholly above it are retired (file.delete.delay.ms, like deleted segments);
// the segment that holds it becomes the active one, its .log is cut and its indexes and
// aborted-transaction entries are rebuilt by the scan that recovery uses. An offset at or
// above the log end offset changes nothing. It returns the new log end offset.
func (l *Log) TruncateTo(offset int64) (int64, error) {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	l.mu.RLock()
	closed, leo := l.closed, l.logEndOffset
	l.mu.RUnlock()
	if closed {
		return -1, ErrClosed
	}
	if l.failed != nil {
		return -1, l.failed
	}
	if offset >= leo {
		return leo, nil
	}
	segs := l.segments
	i := 0
	for j, s := range segs {
		if s.baseOffset <= offset {
			i = j
		}
	}
	s := segs[i]
	pos, _, found, err := l.snapshot(s).findBatch(offset, 0)
	if err != nil {
		return -1, fmt.Errorf("storage: truncate %s to %d: %w", l.dir, offset, err)
	}
	if !found {
		pos = l.snapshot(s).size
	}
	if err := s.log.Truncate(pos); err != nil {
		l.failed = fmt.Errorf("storage: truncate %s to %d: %w", l.dir, offset, err)
		return -1, l.failed
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	dropped := segs[i+1:]
	// A new slice: readers may hold the old one (see Log.segments).
	l.segments = append([]*segment(nil), segs[:i+1]...)
	l.retireLocked(dropped)
	s.size = pos
	if _, err := l.recoverSegment(s, math.MaxInt64, nil); err != nil {
		l.failed = fmt.Errorf("storage: rebuilding indexes of %s after truncation: %w", l.dir, err)
		return -1, l.failed
	}
	if err := l.trimTxnIndex(s); err != nil {
		l.logger.Warn("truncate: rewriting the transaction index failed", "err", err)
	}
	s.firstBatchTimestamp = -1
	if s.size > 0 {
		var buf [records.HeaderSize]byte
		if h, err := readHeader(s.log, 0, s.size, &buf); err == nil {
			s.firstBatchTimestamp = h.MaxTimestamp
		}
	}
	s.dirty = true
	s.logDirty = true
	l.dirSyncNeeded = true
	l.logEndOffset = s.nextOffset
	l.logStartOffset = min(l.logStartOffset, l.logEndOffset)
	l.recoveryPoint = min(l.recoveryPoint, l.logEndOffset)
	l.maxTimestamp, l.maxTimestampOffset = -1, -1
	for _, seg := range l.segments {
		if seg.maxTimestamp > l.maxTimestamp {
			l.maxTimestamp, l.maxTimestampOffset = seg.maxTimestamp, seg.maxTimestampOffset
		}
	}
	l.logger.Info("truncated log", "offset", offset, "log_end_offset", l.logEndOffset, "segments_removed", len(dropped))
	return l.logEndOffset, nil
}

// TruncateFullyAndStartAt empties the log and starts it again at offset (Kafka's
// truncateFullyAndStartAt): what a follower does when the leader no longer has the offsets
// after its log end (the leader's log start offset passed them). Every segment is retired;
// the log start, log end and recovery point become offset.
func (l *Log) TruncateFullyAndStartAt(offset int64) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	l.mu.RLock()
	closed := l.closed
	l.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if l.failed != nil {
		return l.failed
	}
	// Retire first, as the new segment may take the base offset, and so the file names, of an
	// old one; mu stays held throughout so that no reader sees a log without segments.
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.segments
	l.retireLocked(old)
	s, err := createSegment(l.fs, l.dir, offset, l.cfg)
	if err != nil {
		l.failed = fmt.Errorf("storage: restart %s at %d: %w", l.dir, offset, err)
		return l.failed
	}
	l.segments = []*segment{s}
	l.logStartOffset, l.logEndOffset, l.recoveryPoint = offset, offset, offset
	l.maxTimestamp, l.maxTimestampOffset = -1, -1
	l.dirSyncNeeded = true
	l.logger.Info("emptied log and restarted it", "offset", offset, "segments_removed", len(old))
	return nil
}
