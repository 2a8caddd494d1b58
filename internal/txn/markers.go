package txn

import (
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/coordinator"
)

// startCompletionLocked starts completing m, which is in PrepareCommit or PrepareAbort: its
// markers are written, then the Complete record. The caller holds the shard's lock.
func (c *Coordinator) startCompletionLocked(s *shard, m *txnMetadata) {
	epoch := s.epoch
	c.goTracked(func() { c.complete(s, m, epoch) })
}

// complete writes m's markers, retrying retriable failures with a backoff until they succeed
// or the shard unloads, then writes the transaction's Complete state, unless the
// transactional id moved on meanwhile.
func (c *Coordinator) complete(s *shard, m *txnMetadata, coordinatorEpoch int32) {
	commit := m.state == statePrepareCommit
	pending := m.partitionList()
	for len(pending) > 0 && c.cfg.Markers != nil {
		failed := c.cfg.Markers.WriteTxnMarkers(s.Context(), m.producerID, m.epoch, commit, coordinatorEpoch, pending)
		retry := map[string][]int32{}
		for t, ps := range failed {
			for p, err := range ps {
				if err == nil {
					continue
				}
				if !retriable(err) {
					// Kafka drops markers a partition refuses for good (its topic was
					// deleted, the producer was fenced there by a newer coordinator).
					c.log.Warn("transaction marker refused; not retried", "transactional.id", m.id, "topic", t, "partition", p, "err", err)
					continue
				}
				retry[t] = append(retry[t], p)
			}
		}
		pending = retry
		if len(pending) == 0 {
			break
		}
		select {
		case <-s.Context().Done():
			return // unloaded: the next leader resumes the transaction on load
		case <-time.After(c.cfg.MarkerRetryBackoff):
		}
	}
	s.Lock()
	defer s.Unlock()
	if s.StateLocked() == coordinator.Unloaded {
		return
	}
	cur := s.txns[m.id]
	if cur == nil || cur.producerID != m.producerID || cur.epoch != m.epoch || cur.state != m.state {
		return
	}
	done := cur.clone()
	done.state = stateCompleteAbort
	if commit {
		done.state = stateCompleteCommit
	}
	done.partitions = map[string]map[int32]bool{}
	done.lastUpdateMs = c.now()
	if _, err := s.writeLocked(m.id, done); err != nil {
		c.log.Warn("writing a completed transaction failed", "transactional.id", m.id, "err", err)
	}
}

// retriable reports whether a marker failure is worth trying again.
func retriable(err error) bool {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Retriable && ke.Code != kerr.UnknownTopicOrPartition.Code
	}
	return true // not a Kafka error: an I/O failure, say; try again
}
