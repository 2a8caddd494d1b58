package txn

import (
	"slices"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/coordinator"
)

// Listing is one transactional id as ListTransactions shows it.
type Listing struct {
	TransactionalID string
	ProducerID      int64
	State           string // Kafka's name: Empty, Ongoing, PrepareCommit, ...
}

// ListTransactions lists the transactional ids of the partitions this broker leads, filtered
// by state names (unknown names are returned, and match nothing), producer ids, and a minimum
// running time in milliseconds (durationMs < 0: none). All filters empty list everything.
// COORDINATOR_LOAD_IN_PROGRESS while a partition loads, as Kafka.
func (c *Coordinator) ListTransactions(states []string, producerIDs []int64, durationMs int64) ([]Listing, []string, error) {
	var unknown []string
	wantState := map[kmsg.TransactionState]bool{}
	for _, name := range states {
		st, err := kmsg.ParseTransactionState(name)
		if err != nil || st.String() != name {
			unknown = append(unknown, name)
			continue
		}
		wantState[st] = true
	}
	now := c.now()
	var out []Listing
	for _, s := range c.allShards() {
		s.Lock()
		switch s.StateLocked() {
		case coordinator.Unloaded:
			s.Unlock()
			continue
		case coordinator.Loading:
			s.Unlock()
			return nil, unknown, kerr.CoordinatorLoadInProgress
		}
		for _, m := range s.txns {
			switch {
			case len(states) > 0 && !wantState[m.state]:
			case len(producerIDs) > 0 && !slices.Contains(producerIDs, m.producerID):
			case durationMs >= 0 && (m.startMs < 0 || now-m.startMs < durationMs):
			default:
				out = append(out, Listing{TransactionalID: m.id, ProducerID: m.producerID, State: m.state.String()})
			}
		}
		s.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TransactionalID < out[j].TransactionalID })
	return out, unknown, nil
}

// Description is one transactional id as DescribeTransactions shows it.
type Description struct {
	State         string
	ProducerID    int64
	ProducerEpoch int16
	TimeoutMs     int32
	StartMs       int64 // -1 when no transaction is ongoing
	Partitions    map[string][]int32
}

// DescribeTransaction describes a transactional id: TRANSACTIONAL_ID_NOT_FOUND when there is
// none, NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS as for the other requests.
func (c *Coordinator) DescribeTransaction(id string) (Description, error) {
	s, err := c.shardFor(id)
	if err != nil {
		return Description{}, err
	}
	defer s.Unlock()
	m := s.txns[id]
	if m == nil {
		return Description{}, kerr.TransactionalIDNotFound
	}
	parts := m.partitionList()
	for _, ps := range parts {
		slices.Sort(ps)
	}
	return Description{State: m.state.String(), ProducerID: m.producerID, ProducerEpoch: m.epoch,
		TimeoutMs: m.timeoutMs, StartMs: m.startMs, Partitions: parts}, nil
}

// AbortTimedOut aborts every ongoing transaction older than its timeout, fencing its producer
// (Kafka's abortTimedOutTransactions, run every
// transaction.abort.timed.out.transaction.cleanup.interval.ms). It returns how many it aborted.
func (c *Coordinator) AbortTimedOut() int {
	now := c.now()
	n := 0
	for _, s := range c.allShards() {
		s.Lock()
		if s.ActiveLocked() {
			for _, m := range s.txns {
				if m.state == stateOngoing && m.startMs >= 0 && now-m.startMs >= int64(m.timeoutMs) {
					c.log.Info("aborting timed out transaction", "transactional.id", m.id, "producer.id", m.producerID, "epoch", m.epoch)
					c.abortLocked(s, m, now)
					n++
				}
			}
		}
		s.Unlock()
	}
	return n
}

// ExpireTransactionalIDs removes the transactional ids with no transaction that have been idle
// for transactional.id.expiration.ms (a tombstone in the log), and returns how many.
func (c *Coordinator) ExpireTransactionalIDs() int {
	now := c.now()
	expiration := int64(c.cfg.Broker.TransactionalIDExpirationMs)
	n := 0
	for _, s := range c.allShards() {
		s.Lock()
		if s.ActiveLocked() {
			for id, m := range s.txns {
				idle := m.state == stateEmpty || m.state == stateCompleteCommit || m.state == stateCompleteAbort || m.state == stateDead
				if idle && now-m.lastUpdateMs >= expiration {
					if _, err := s.writeLocked(id, nil); err != nil {
						c.log.Warn("expiring a transactional id failed", "transactional.id", id, "err", err)
						break
					}
					n++
				}
			}
		}
		s.Unlock()
	}
	return n
}
