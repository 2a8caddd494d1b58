package storage

// Flushing by message count (flush.messages), with group commit.
//
// Kafka's rule (UnifiedLog.append): once the messages appended since the last flush, log end
// offset minus recovery point, reach flush.messages, the log is flushed before the append is
// acknowledged. Done naively, every producer of a flush.messages=1 topic waits for its own
// fdatasync, one after another. Here the appender first releases its own locks and then calls
// FlushIfDue, which queues on flushMu: the first caller in the queue fsyncs up to the log end
// at that moment, which covers every append that finished before it, and the callers behind
// it find the recovery point already past their end and return without an fsync of their
// own. One fdatasync thus acknowledges every append that arrived while the previous one ran.
//
// Durability stays exact: FlushTo(end) returns nil only once the recovery point is at least
// end (or the log was cut below end), and the recovery point moves only after a successful
// fsync of every segment written below it.

// FlushIfDue applies flush.messages to an append that ended at end (its last offset + 1): when
// end minus the recovery point has reached flush.messages, it returns only once everything
// below end is on disk. Call it after the append, without holding locks that other
// appenders need, so that concurrent appends share one fsync. due reports whether a flush
// was due (and so may have let DurableEnd move); when it was not, nothing waited.
func (l *Log) FlushIfDue(end int64) (due bool, err error) {
	l.mu.RLock()
	due = l.flushMessages > 0 && end-l.recoveryPoint >= l.flushMessages
	l.mu.RUnlock()
	if !due {
		return false, nil
	}
	return true, l.FlushTo(end)
}

// DurableEnd is the offset below which records may be acknowledged and exposed under
// flush.messages: the log end offset, except while a flush is due (appended messages since
// the last flush reached flush.messages), when it is the recovery point. Kafka flushes inside
// the append, before the high watermark can move; here the flush runs after the append
// releases its locks (group commit), so a leader bounds its high watermark by this instead,
// and moves it on once FlushIfDue returns.
func (l *Log) DurableEnd() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.flushMessages > 0 && l.logEndOffset-l.recoveryPoint >= l.flushMessages {
		return l.recoveryPoint
	}
	return l.logEndOffset
}

// FlushTo returns once every offset below end is on disk: at once when the recovery point has
// passed end already, else after one Flush, shared with every caller that queued behind the
// same fsync. A failed fsync fails the log (see Flush) and every caller waiting on it.
func (l *Log) FlushTo(end int64) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.RLock()
	done := l.recoveryPoint >= end
	l.mu.RUnlock()
	if done {
		return nil
	}
	return l.syncLocked(true)
}
