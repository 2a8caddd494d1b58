package storage

import (
	"fmt"
	"sort"

	"github.com/gregorhq/gregor/internal/records"
)

// ScanHeaders calls fn with the header of every batch that holds offsets at or after from,
// in log order, up to the log end offset as of the call; fn returns false to stop. Only
// headers are read, so a scan costs one small read per batch (the replica manager rebuilds
// producer state this way). The headers' BaseOffset is the batch's offset in the log.
func (l *Log) ScanHeaders(from int64, fn func(records.Header) bool) error {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return ErrClosed
	}
	segs := l.segments
	l.mu.RUnlock()
	i := sort.Search(len(segs), func(i int) bool { return segs[i].baseOffset > from }) - 1
	for i = max(i, 0); i < len(segs); i++ {
		s := l.snapshot(segs[i])
		start := int64(0)
		if from > s.base {
			var err error
			if start, err = lookupPosition(s.offsetIdx, s.base, from); err != nil {
				return fmt.Errorf("storage: scan %s from %d: %w", l.dir, from, err)
			}
		}
		stopped := false
		_, _, _, err := scanBatches(s.log, start, s.size, func(h records.Header) bool {
			if h.LastOffset() < from {
				return false
			}
			stopped = !fn(h)
			return stopped
		})
		if err != nil {
			return fmt.Errorf("storage: scan %s segment %d: %w", l.dir, s.base, err)
		}
		if stopped {
			return nil
		}
	}
	return nil
}
