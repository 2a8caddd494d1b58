package node

import (
	"context"
	"errors"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/txn"
)

// clusterVerifier is Produce's transaction verifier (api.TxnVerifier, KIP-890) in a cluster,
// Kafka's AddPartitionsToTxnManager: a transactional id coordinated here is checked by the
// local coordinator; one coordinated by another broker (the leader of its __transaction_state
// partition in the image) is checked there with AddPartitionsToTxn v4+ and verify_only,
// batched per coordinator broker (the verifications that queue up while a request is in
// flight go out together in the next one).
//
// While __transaction_state does not exist, nobody coordinates the id: NOT_COORDINATOR, and
// the batch is appended unchecked as before KIP-890. A coordinator that cannot be reached,
// has no leader or is moving (NOT_COORDINATOR from the broker the image names) is
// COORDINATOR_NOT_AVAILABLE, which Produce turns into a retriable error.
type clusterVerifier struct {
	nodeID     int32
	local      *txn.Coordinator
	controller *controller.Controller
	ib         *interBroker
	ctx        context.Context
	cancel     context.CancelFunc
	wg         sync.WaitGroup

	mu sync.Mutex
	// Guarded by mu.
	queues map[int32]*sendQueue[*verifyEntry] // by coordinator broker
	closed bool
}

// verifyEntry is one verification waiting for its coordinator's answer.
type verifyEntry struct {
	txn  kmsg.AddPartitionsToTxnRequestTransaction
	done chan verifyResult
}

type verifyResult struct {
	parts map[string]map[int32]error
	err   error
}

func newClusterVerifier(nodeID int32, local *txn.Coordinator, ctrl *controller.Controller, ib *interBroker) *clusterVerifier {
	ctx, cancel := context.WithCancel(context.Background())
	return &clusterVerifier{nodeID: nodeID, local: local, controller: ctrl, ib: ib, ctx: ctx, cancel: cancel,
		queues: map[int32]*sendQueue[*verifyEntry]{}}
}

// VerifyPartitions checks that partitions are in the producer's ongoing transaction, at the
// transactional id's coordinator.
func (v *clusterVerifier) VerifyPartitions(id string, producerID int64, producerEpoch int16,
	partitions map[string][]int32) (map[string]map[int32]error, error) {
	res, err := v.local.VerifyPartitions(id, producerID, producerEpoch, partitions)
	if !errors.Is(err, kerr.NotCoordinator) {
		return res, err
	}
	t := v.controller.Image().Topics[txn.StateTopic]
	if t == nil || len(t.Partitions) == 0 {
		return nil, err
	}
	coordinator := t.Partitions[txn.PartitionFor(id, int32(len(t.Partitions)))].Leader
	if coordinator < 0 || coordinator == v.nodeID {
		return nil, kerr.CoordinatorNotAvailable // no leader, or leadership is on its way here
	}
	rt := kmsg.NewAddPartitionsToTxnRequestTransaction()
	rt.TransactionalID, rt.ProducerID, rt.ProducerEpoch, rt.VerifyOnly = id, producerID, producerEpoch, true
	for topic, ps := range partitions {
		tt := kmsg.NewAddPartitionsToTxnRequestTransactionTopic()
		tt.Topic, tt.Partitions = topic, ps
		rt.Topics = append(rt.Topics, tt)
	}
	e := &verifyEntry{txn: rt, done: make(chan verifyResult, 1)}
	if !v.enqueue(coordinator, e) {
		return nil, kerr.CoordinatorNotAvailable
	}
	r := <-e.done
	return r.parts, r.err
}

func (v *clusterVerifier) enqueue(coordinator int32, e *verifyEntry) bool {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return false
	}
	q := v.queues[coordinator]
	if q == nil {
		q = &sendQueue[*verifyEntry]{wg: &v.wg, flush: func(batch []*verifyEntry) { v.send(coordinator, batch) }}
		v.queues[coordinator] = q
	}
	// Added under mu, so that close, once it has set closed, waits for every sender.
	q.add(e)
	v.mu.Unlock()
	return true
}

// send asks coordinator about batch, one request per round of distinct transactional ids
// (the answer is keyed by transactional id).
func (v *clusterVerifier) send(coordinator int32, batch []*verifyEntry) {
	for len(batch) > 0 {
		seen := map[string]bool{}
		var round, later []*verifyEntry
		for _, e := range batch {
			if seen[e.txn.TransactionalID] {
				later = append(later, e)
				continue
			}
			seen[e.txn.TransactionalID] = true
			round = append(round, e)
		}
		v.sendRound(coordinator, round)
		batch = later
	}
}

func (v *clusterVerifier) sendRound(coordinator int32, round []*verifyEntry) {
	req := kmsg.NewPtrAddPartitionsToTxnRequest()
	for _, e := range round {
		req.Transactions = append(req.Transactions, e.txn)
	}
	resp, err := v.ib.request(v.ctx, coordinator, req)
	if err != nil {
		for _, e := range round {
			e.done <- verifyResult{err: kerr.CoordinatorNotAvailable}
		}
		return
	}
	r := resp.(*kmsg.AddPartitionsToTxnResponse)
	byID := map[string]*kmsg.AddPartitionsToTxnResponseTransaction{}
	for i := range r.Transactions {
		byID[r.Transactions[i].TransactionalID] = &r.Transactions[i]
	}
	for _, e := range round {
		if r.ErrorCode != 0 {
			e.done <- verifyResult{err: remoteVerifyError(r.ErrorCode)}
			continue
		}
		e.done <- verifyAnswer(e, byID[e.txn.TransactionalID])
	}
}

// verifyAnswer turns the coordinator's answer for e into VerifyPartitions' result.
func verifyAnswer(e *verifyEntry, rt *kmsg.AddPartitionsToTxnResponseTransaction) verifyResult {
	if rt == nil {
		return verifyResult{err: kerr.CoordinatorNotAvailable}
	}
	out := map[string]map[int32]error{}
	var txnErr error // an error every partition carries: the transaction's, not a partition's
	first := true
	for _, t := range rt.Topics {
		for _, p := range t.Partitions {
			err := remoteVerifyError(p.ErrorCode)
			if out[t.Topic] == nil {
				out[t.Topic] = map[int32]error{}
			}
			out[t.Topic][p.Partition] = err
			if first {
				txnErr, first = err, false
			} else if txnErr != err {
				txnErr = nil
			}
		}
	}
	if txnErr != nil && txnErr != kerr.InvalidTxnState {
		return verifyResult{err: txnErr}
	}
	for _, t := range e.txn.Topics {
		for _, p := range t.Partitions {
			if _, ok := out[t.Topic][p]; !ok {
				return verifyResult{err: kerr.CoordinatorNotAvailable}
			}
		}
	}
	return verifyResult{parts: out}
}

// remoteVerifyError is a coordinator's error code as VerifyPartitions returns it: a
// NOT_COORDINATOR from the broker the image names means leadership is moving, which is
// retried, not a reason to append unchecked.
func remoteVerifyError(code int16) error {
	err := kerr.ErrorForCode(code)
	if err == kerr.NotCoordinator {
		return kerr.CoordinatorNotAvailable
	}
	return err
}

// close stops asking: requests in flight end, waiting callers get COORDINATOR_NOT_AVAILABLE.
func (v *clusterVerifier) close() {
	v.mu.Lock()
	v.closed = true
	v.mu.Unlock()
	v.cancel()
	v.wg.Wait()
}
