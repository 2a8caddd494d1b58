package storage

import (
	"fmt"
	"time"
)

// SetConfig changes the settings of a live log: the next append (rolling), the next
// DeleteOldSegments (retention) and the next retirement (file.delete.delay.ms) use them. Index
// sizes apply to segments created from now on. Nil Now and AfterFunc keep the log's own.
// flush.messages applies to the next FlushIfDue.
func (l *Log) SetConfig(cfg LogConfig) error {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	if cfg.Now == nil {
		cfg.Now = l.cfg.Now
	}
	if cfg.AfterFunc == nil {
		cfg.AfterFunc = l.cfg.AfterFunc
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	l.cfg = cfg
	l.mu.Lock()
	l.flushMessages = cfg.FlushMessages
	l.mu.Unlock()
	return nil
}

// DeleteOldSegments is Kafka's UnifiedLog.deleteOldSegments: from the oldest, it retires
// whole segments while one of these holds for the segment:
//
//   - it lies wholly below the log start offset (always);
//   - retention.ms >= 0 and now minus its largest timestamp exceeds retention.ms;
//   - retention.bytes >= 0 and the log would still hold at least retention.bytes without it.
//
// The time and size rules apply only when byRetention is set (cleanup.policy includes delete;
// the caller decides). Only segments whose successor starts at or below highWatermark go, and
// never the active segment, so consumers never lose records they could not yet read. The log
// start offset then moves up to the first remaining segment. It returns how many segments went.
func (l *Log) DeleteOldSegments(highWatermark int64, now time.Time, byRetention bool) (deleted int, err error) {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	if l.closed {
		return 0, ErrClosed
	}
	if l.failed != nil {
		return 0, l.failed
	}
	nowMs := now.UnixMilli()
	// sizeOver is how far the log is above retention.bytes; a segment goes while removing
	// it keeps the log at or above the limit.
	sizeOver := int64(-1)
	if byRetention && l.cfg.RetentionBytes >= 0 {
		var total int64
		for _, s := range l.segments {
			total += s.size
		}
		sizeOver = total - l.cfg.RetentionBytes
	}
	n := 0
	for ; n < len(l.segments)-1; n++ {
		s, next := l.segments[n], l.segments[n+1]
		belowStart := next.baseOffset <= l.logStartOffset
		tooOld := byRetention && l.cfg.RetentionMs >= 0 && nowMs-s.largestTimestamp() > l.cfg.RetentionMs
		tooBig := sizeOver >= s.size
		if next.baseOffset > highWatermark || !(belowStart || tooOld || tooBig) {
			break
		}
		sizeOver -= s.size
	}
	if n == len(l.segments)-1 && byRetention {
		// Every closed segment went. As Kafka's deletableSegments, a non-empty active segment
		// that breaks retention goes too, once all of it is committed: the log rolls first, so
		// what is deleted is a closed segment and an empty active one remains. Without this an
		// idle partition would keep expired records until its next append.
		s := l.activeLocked()
		tooOld := l.cfg.RetentionMs >= 0 && nowMs-s.largestTimestamp() > l.cfg.RetentionMs
		tooBig := sizeOver >= s.size
		if s.size > 0 && l.logEndOffset <= highWatermark && (tooOld || tooBig) {
			if _, err := l.rollLocked(l.logEndOffset); err != nil {
				if n > 0 {
					l.removeFirstLocked(n, l.segments[n].baseOffset)
				}
				return n, err
			}
			if l.cfg.OnRoll != nil {
				l.cfg.OnRoll(l.logEndOffset)
			}
			n++
		}
	}
	if n == 0 {
		return 0, nil
	}
	l.removeFirstLocked(n, l.segments[n].baseOffset)
	return n, nil
}

// DeleteRecordsBefore moves the log start offset up to offset (DeleteRecords): reads below
// it fail from now on, and segments wholly below it are retired at once. It never moves the
// log start offset backwards; an offset above the log end offset is ErrOffsetOutOfRange. The
// caller checks the offset against the high watermark.
func (l *Log) DeleteRecordsBefore(offset int64) error {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if l.failed != nil {
		return l.failed
	}
	if offset > l.logEndOffset || offset < 0 {
		return fmt.Errorf("%w: delete records before %d, log ends at %d", ErrOffsetOutOfRange, offset, l.logEndOffset)
	}
	if offset <= l.logStartOffset {
		return nil
	}
	n := 0
	for n < len(l.segments)-1 && l.segments[n+1].baseOffset <= offset {
		n++
	}
	l.removeFirstLocked(n, offset)
	l.logger.Info("log start offset moved", "log_start_offset", offset, "segments_deleted", n)
	return nil
}

// removeFirstLocked takes the first n segments out of the log, retires them and raises the
// log start offset to lso (never lowers it). The caller holds appendMu; lso is at most the
// log end offset and at least the base offset of the first segment kept.
func (l *Log) removeFirstLocked(n int, lso int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	gone := l.segments[:n]
	// A new slice: readers may hold the old one.
	l.segments = append([]*segment(nil), l.segments[n:]...)
	l.logStartOffset = max(l.logStartOffset, lso)
	l.recoveryPoint = max(l.recoveryPoint, l.logStartOffset)
	l.maxTimestamp, l.maxTimestampOffset = -1, -1
	for _, s := range l.segments {
		if s.maxTimestamp > l.maxTimestamp {
			l.maxTimestamp, l.maxTimestampOffset = s.maxTimestamp, s.maxTimestampOffset
		}
	}
	for _, s := range gone {
		l.logger.Info("deleting segment", "base_offset", s.baseOffset, "next_offset", s.nextOffset,
			"size", s.size, "largest_timestamp", s.largestTimestamp())
	}
	l.retireLocked(gone)
}
