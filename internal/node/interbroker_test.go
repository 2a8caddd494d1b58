package node

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestSendQueueBatchesWhileInFlight: entries added while a request is in flight go out
// together in the next one, in the order they were added; the sender ends when the queue is
// empty.
func TestSendQueueBatchesWhileInFlight(t *testing.T) {
	var wg sync.WaitGroup
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	var mu sync.Mutex
	var batches [][]int
	q := &sendQueue[int]{wg: &wg, flush: func(b []int) {
		mu.Lock()
		batches = append(batches, b)
		first := len(batches) == 1
		mu.Unlock()
		if first {
			started <- struct{}{}
			<-release
		}
	}}
	q.add(1)
	<-started // the first request is in flight
	q.add(2)
	q.add(3)
	q.add(4)
	close(release)
	wg.Wait()
	if want := [][]int{{1}, {2, 3, 4}}; !slices.EqualFunc(batches, want, slices.Equal) {
		t.Fatalf("batches %v, want %v", batches, want)
	}
	q.mu.Lock()
	running := q.running
	q.mu.Unlock()
	if running {
		t.Fatal("sender still running with an empty queue")
	}
}

// TestMarkerFailures: a partition the leader answered with an error fails with it; one it did
// not answer is retried (NOT_LEADER_OR_FOLLOWER).
func TestMarkerFailures(t *testing.T) {
	m := kmsg.NewWriteTxnMarkersRequestMarker()
	m.Topics = []kmsg.WriteTxnMarkersRequestMarkerTopic{{Topic: "a", Partitions: []int32{0, 1, 2}}}
	e := &markerEntry{marker: m}
	rm := kmsg.NewWriteTxnMarkersResponseMarker()
	rm.Topics = []kmsg.WriteTxnMarkersResponseMarkerTopic{{Topic: "a", Partitions: []kmsg.WriteTxnMarkersResponseMarkerTopicPartition{
		{Partition: 0}, {Partition: 1, ErrorCode: kerr.InvalidProducerEpoch.Code}}}}
	f := markerFailures(e, &rm)
	if _, ok := f["a"][0]; ok || f["a"][1] != kerr.InvalidProducerEpoch || !errors.Is(f["a"][2], kerr.NotLeaderForPartition) {
		t.Fatalf("failures %v", f)
	}
	if f := markerFailures(e, nil); len(f["a"]) != 3 {
		t.Fatalf("unanswered: %v", f)
	}
}

// TestVerifyAnswer: the coordinator's per-partition answers become VerifyPartitions' result;
// an error every partition carries (other than INVALID_TXN_STATE) is the transaction's, and
// NOT_COORDINATOR from the broker the image names is retriable.
func TestVerifyAnswer(t *testing.T) {
	rt := kmsg.NewAddPartitionsToTxnRequestTransaction()
	rt.Topics = []kmsg.AddPartitionsToTxnRequestTransactionTopic{{Topic: "a", Partitions: []int32{0, 1}}}
	e := &verifyEntry{txn: rt}
	answer := func(c0, c1 int16) *kmsg.AddPartitionsToTxnResponseTransaction {
		r := kmsg.NewAddPartitionsToTxnResponseTransaction()
		r.Topics = []kmsg.AddPartitionsToTxnResponseTransactionTopic{{Topic: "a", Partitions: []kmsg.AddPartitionsToTxnResponseTransactionTopicPartition{
			{Partition: 0, ErrorCode: c0}, {Partition: 1, ErrorCode: c1}}}}
		return &r
	}
	if r := verifyAnswer(e, answer(0, kerr.InvalidTxnState.Code)); r.err != nil || r.parts["a"][0] != nil || r.parts["a"][1] != kerr.InvalidTxnState {
		t.Fatalf("mixed: %+v", r)
	}
	if r := verifyAnswer(e, answer(kerr.InvalidTxnState.Code, kerr.InvalidTxnState.Code)); r.err != nil || r.parts["a"][1] != kerr.InvalidTxnState {
		t.Fatalf("none added: %+v", r)
	}
	if r := verifyAnswer(e, answer(kerr.ProducerFenced.Code, kerr.ProducerFenced.Code)); r.err != kerr.ProducerFenced {
		t.Fatalf("fenced: %+v", r)
	}
	if r := verifyAnswer(e, answer(kerr.NotCoordinator.Code, kerr.NotCoordinator.Code)); r.err != kerr.CoordinatorNotAvailable {
		t.Fatalf("moving: %+v", r)
	}
	if r := verifyAnswer(e, nil); r.err != kerr.CoordinatorNotAvailable {
		t.Fatalf("unanswered: %+v", r)
	}
}
