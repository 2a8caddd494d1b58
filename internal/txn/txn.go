package txn

import (
	"context"
	"math"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/records"
)

// Kafka's transaction states (TransactionState.java; the int8 in the log).
const (
	stateEmpty          kmsg.TransactionState = 0
	stateOngoing        kmsg.TransactionState = 1
	statePrepareCommit  kmsg.TransactionState = 2
	statePrepareAbort   kmsg.TransactionState = 3
	stateCompleteCommit kmsg.TransactionState = 4
	stateCompleteAbort  kmsg.TransactionState = 5
	stateDead           kmsg.TransactionState = 6
)

// txnMetadata is the state of one transactional id. A value in a shard's map is never
// modified (see shard.txns): changes are made on a clone.
type txnMetadata struct {
	id             string
	producerID     int64
	prevProducerID int64 // the id before the last rotation; -1 when none
	epoch          int16
	// lastEpoch is the epoch before the last bump, so that a retried InitProducerId whose
	// answer was lost gets the same epoch again (KIP-360). Not in the log: -1 after a load.
	lastEpoch    int16
	timeoutMs    int32
	state        kmsg.TransactionState
	partitions   map[string]map[int32]bool // the partitions of the ongoing transaction
	startMs      int64                     // when the ongoing transaction began; -1 when none
	lastUpdateMs int64
}

func (m *txnMetadata) clone() *txnMetadata {
	c := *m
	c.partitions = make(map[string]map[int32]bool, len(m.partitions))
	for t, ps := range m.partitions {
		for p := range ps {
			c.addPartition(t, p)
		}
	}
	return &c
}

func (m *txnMetadata) addPartition(topic string, p int32) {
	if m.partitions[topic] == nil {
		m.partitions[topic] = map[int32]bool{}
	}
	m.partitions[topic][p] = true
}

func (m *txnMetadata) hasPartition(topic string, p int32) bool { return m.partitions[topic][p] }

// partitionList is the partitions as MarkerWriter takes them.
func (m *txnMetadata) partitionList() map[string][]int32 {
	out := map[string][]int32{}
	for t, ps := range m.partitions {
		for p := range ps {
			out[t] = append(out[t], p)
		}
	}
	return out
}

// epochExhausted reports whether an epoch can no longer be bumped: a producer then gets a new
// producer id (Kafka keeps Short.MaxValue for the epoch a fenced abort needs).
func epochExhausted(epoch int16) bool { return epoch >= math.MaxInt16-1 }

// writeLocked writes m as the new state of its transactional id and swaps it into memory; a
// nil m (with id) is a tombstone. It returns the offset after the record, for waitCommitted.
// The caller holds the shard's lock.
func (s *shard) writeLocked(id string, m *txnMetadata) (int64, error) {
	next, err := s.log.Append([]records.Record{txnRecord(id, m)})
	if err != nil {
		// The partition is no longer ours, or its log failed: the client finds the
		// coordinator again.
		return 0, kerr.NotCoordinator
	}
	if m == nil {
		delete(s.txns, id)
	} else {
		s.txns[id] = m
	}
	return next, nil
}

// InitProducerID is InitProducerId for a transactional id: a new producer id, or the current
// one with its epoch bumped, fencing earlier producers of the id. An ongoing transaction is
// aborted first (CONCURRENT_TRANSACTIONS until that is done: the client retries).
// producerID/producerEpoch are the producer's current ones (KIP-360), -1 when it has none.
func (c *Coordinator) InitProducerID(ctx context.Context, id string, timeoutMs int32, producerID int64, producerEpoch int16) (int64, int16, error) {
	if id == "" {
		return -1, -1, kerr.InvalidRequest
	}
	if timeoutMs <= 0 || timeoutMs > c.cfg.Broker.TransactionMaxTimeoutMs {
		return -1, -1, kerr.InvalidTransactionTimeout
	}
	var newID int64 = -1 // a fresh producer id, fetched without locks when one is needed
	for {
		s, err := c.shardFor(id)
		if err != nil {
			return -1, -1, err
		}
		m, next, needID, err := c.initLocked(s, id, timeoutMs, producerID, producerEpoch, newID)
		l := s.log
		s.Unlock()
		if needID {
			if c.cfg.NextProducerID == nil {
				return -1, -1, kerr.CoordinatorNotAvailable
			}
			if newID, err = c.cfg.NextProducerID(ctx); err != nil {
				c.log.Warn("no producer id for a transactional id", "err", err)
				return -1, -1, kerr.CoordinatorLoadInProgress
			}
			continue
		}
		if err != nil {
			return -1, -1, err
		}
		if err := waitCommitted(ctx, l, next); err != nil {
			return -1, -1, err
		}
		return m.producerID, m.epoch, nil
	}
}

// initLocked is InitProducerID's decision. needID asks the caller for a new producer id
// (newID, -1 when none yet) and to call again. The caller holds the shard's lock.
func (c *Coordinator) initLocked(s *shard, id string, timeoutMs int32, producerID int64, producerEpoch int16, newID int64) (m *txnMetadata, next int64, needID bool, err error) {
	now := c.now()
	cur := s.txns[id]
	if cur == nil {
		if newID < 0 {
			return nil, 0, true, nil
		}
		m = &txnMetadata{id: id, producerID: newID, prevProducerID: -1, epoch: 0, lastEpoch: -1, timeoutMs: timeoutMs,
			state: stateEmpty, partitions: map[string]map[int32]bool{}, startMs: -1, lastUpdateMs: now}
		next, err = s.writeLocked(id, m)
		return m, next, false, err
	}
	// KIP-360: a producer that names its id and epoch must still own the transactional id, or
	// be retrying an InitProducerId that rotated its id (the old epoch then is exhausted).
	if producerID >= 0 && cur.producerID != producerID &&
		!(producerID == cur.prevProducerID && epochExhausted(producerEpoch)) {
		return nil, 0, false, kerr.ProducerFenced
	}
	switch cur.state {
	case statePrepareCommit, statePrepareAbort:
		return nil, 0, false, kerr.ConcurrentTransactions
	case stateOngoing:
		// Fence the producer of the ongoing transaction and abort it; the client retries.
		c.abortLocked(s, cur, now)
		return nil, 0, false, kerr.ConcurrentTransactions
	case stateEmpty, stateCompleteCommit, stateCompleteAbort:
	default:
		return nil, 0, false, kerr.ConcurrentTransactions
	}
	m = cur.clone()
	m.timeoutMs, m.lastUpdateMs, m.startMs = timeoutMs, now, -1
	m.partitions = map[string]map[int32]bool{}
	m.state = stateEmpty
	switch {
	case producerID >= 0 && producerID == cur.producerID && producerEpoch != cur.epoch:
		if producerEpoch != cur.lastEpoch || cur.lastEpoch < 0 {
			return nil, 0, false, kerr.ProducerFenced
		}
		// A retry whose answer was lost: the same epoch again, nothing to write.
		return cur, 0, false, nil
	case producerID >= 0 && producerID == cur.prevProducerID:
		return cur, 0, false, nil // a retry after a rotation: the rotated id again
	case epochExhausted(cur.epoch):
		if newID < 0 {
			return nil, 0, true, nil
		}
		m.prevProducerID, m.producerID, m.epoch, m.lastEpoch = cur.producerID, newID, 0, -1
	default:
		m.lastEpoch, m.epoch = cur.epoch, cur.epoch+1
	}
	next, err = s.writeLocked(id, m)
	return m, next, false, err
}

// checkProducer is the check AddPartitionsToTxn, AddOffsetsToTxn and EndTxn make of the
// producer id and epoch a request names.
func checkProducer(m *txnMetadata, producerID int64, producerEpoch int16) error {
	switch {
	case m == nil || m.producerID != producerID:
		return kerr.InvalidProducerIDMapping
	case m.epoch != producerEpoch:
		return kerr.ProducerFenced
	}
	return nil
}

// AddPartitions adds partitions to the producer's transaction, starting it when there is
// none.
func (c *Coordinator) AddPartitions(ctx context.Context, id string, producerID int64, producerEpoch int16, partitions map[string][]int32) error {
	s, err := c.shardFor(id)
	if err != nil {
		return err
	}
	next, err := c.addPartitionsLocked(s, id, producerID, producerEpoch, partitions)
	l := s.log
	s.Unlock()
	if err != nil {
		return err
	}
	return waitCommitted(ctx, l, next)
}

func (c *Coordinator) addPartitionsLocked(s *shard, id string, producerID int64, producerEpoch int16, partitions map[string][]int32) (int64, error) {
	cur := s.txns[id]
	if err := checkProducer(cur, producerID, producerEpoch); err != nil {
		return 0, err
	}
	switch cur.state {
	case statePrepareCommit, statePrepareAbort:
		return 0, kerr.ConcurrentTransactions
	case stateOngoing, stateEmpty, stateCompleteCommit, stateCompleteAbort:
	default:
		return 0, kerr.ConcurrentTransactions
	}
	if cur.state == stateOngoing {
		have := true
		for t, ps := range partitions {
			for _, p := range ps {
				have = have && cur.hasPartition(t, p)
			}
		}
		if have {
			return 0, nil // nothing new: no write, as Kafka
		}
	}
	now := c.now()
	m := cur.clone()
	if m.state != stateOngoing {
		m.partitions = map[string]map[int32]bool{}
		m.startMs = now
	}
	m.state, m.lastUpdateMs = stateOngoing, now
	for t, ps := range partitions {
		for _, p := range ps {
			m.addPartition(t, p)
		}
	}
	return s.writeLocked(id, m)
}

// VerifyPartitions answers AddPartitionsToTxn's verify_only form (sent by brokers, KIP-890):
// for each partition, nil when it is in the producer's ongoing transaction,
// INVALID_TXN_STATE when not. A producer that does not own the id is one error for all.
func (c *Coordinator) VerifyPartitions(id string, producerID int64, producerEpoch int16, partitions map[string][]int32) (map[string]map[int32]error, error) {
	s, err := c.shardFor(id)
	if err != nil {
		return nil, err
	}
	defer s.Unlock()
	cur := s.txns[id]
	if err := checkProducer(cur, producerID, producerEpoch); err != nil {
		return nil, err
	}
	out := map[string]map[int32]error{}
	for t, ps := range partitions {
		out[t] = map[int32]error{}
		for _, p := range ps {
			if cur.state == stateOngoing && cur.hasPartition(t, p) {
				out[t][p] = nil
			} else {
				out[t][p] = kerr.InvalidTxnState
			}
		}
	}
	return out, nil
}

// EndTxn commits or aborts the producer's transaction: PrepareCommit or PrepareAbort is
// written, the reply follows once it is committed, and the markers and the Complete record
// are written in the background. A retry of an EndTxn that already completed succeeds.
func (c *Coordinator) EndTxn(ctx context.Context, id string, producerID int64, producerEpoch int16, commit bool) error {
	s, err := c.shardFor(id)
	if err != nil {
		return err
	}
	next, err := c.endTxnLocked(s, id, producerID, producerEpoch, commit)
	l := s.log
	s.Unlock()
	if err != nil {
		return err
	}
	return waitCommitted(ctx, l, next)
}

func (c *Coordinator) endTxnLocked(s *shard, id string, producerID int64, producerEpoch int16, commit bool) (int64, error) {
	cur := s.txns[id]
	if err := checkProducer(cur, producerID, producerEpoch); err != nil {
		return 0, err
	}
	switch {
	case cur.state == stateOngoing:
	case cur.state == stateCompleteCommit && commit, cur.state == stateCompleteAbort && !commit:
		return 0, nil // a retry of an EndTxn that completed
	case cur.state == statePrepareCommit && commit, cur.state == statePrepareAbort && !commit:
		return 0, kerr.ConcurrentTransactions
	default:
		return 0, kerr.InvalidTxnState
	}
	m := cur.clone()
	m.state, m.lastUpdateMs = statePrepareAbort, c.now()
	if commit {
		m.state = statePrepareCommit
	}
	next, err := s.writeLocked(id, m)
	if err != nil {
		return 0, err
	}
	c.startCompletionLocked(s, m)
	return next, nil
}

// abortLocked aborts cur's ongoing transaction on the coordinator's own initiative (its
// producer is fenced by InitProducerId, or it timed out): the epoch is bumped, so the abort
// markers fence the old producer in every partition, and the abort completes in the
// background. The caller holds the shard's lock.
func (c *Coordinator) abortLocked(s *shard, cur *txnMetadata, now int64) {
	m := cur.clone()
	if !epochExhausted(m.epoch) {
		m.lastEpoch, m.epoch = -1, m.epoch+1
	}
	m.state, m.lastUpdateMs = statePrepareAbort, now
	if _, err := s.writeLocked(cur.id, m); err != nil {
		c.log.Warn("aborting a transaction failed", "transactional.id", cur.id, "err", err)
		return
	}
	c.startCompletionLocked(s, m)
}
