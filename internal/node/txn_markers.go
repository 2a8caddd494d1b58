package node

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/replica"
	"github.com/gregorhq/gregor/internal/storage"
)

// clusterMarkers is the transaction coordinator's txn.MarkerWriter (Kafka's
// TransactionMarkerChannelManager): each partition's marker goes to the partition's leader in
// the current image; this broker's own partitions are written in place, the others are sent
// with WriteTxnMarkers to their leader over the inter-broker listener, batched per broker (the
// markers of every transaction being completed while a request to that broker is in flight go
// out together in the next one).
//
// Failures come back per partition and the coordinator retries the retriable ones with a
// backoff; each retry resolves leaders from the image anew, so a partition whose leader moved
// (NOT_LEADER_OR_FOLLOWER, or UNKNOWN_TOPIC_OR_PARTITION from a broker that does not host it
// yet) reaches its new leader. A partition whose topic is gone from the image is
// UNKNOWN_TOPIC_OR_PARTITION, which the coordinator gives up on, as Kafka does.
type clusterMarkers struct {
	nodeID     int32
	replicas   *replica.Manager
	controller *controller.Controller
	ib         *interBroker
	// ctx ends at close: requests in flight are abandoned.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // sender goroutines

	mu sync.Mutex
	// Guarded by mu.
	queues map[int32]*sendQueue[*markerEntry] // by leader broker
	closed bool
}

// markerEntry is one transaction's marker for the partitions one broker leads.
type markerEntry struct {
	marker kmsg.WriteTxnMarkersRequestMarker
	// done receives the failed partitions (nil map when none) once the broker answered.
	done chan map[string]map[int32]error
}

func newClusterMarkers(nodeID int32, replicas *replica.Manager, ctrl *controller.Controller, ib *interBroker) *clusterMarkers {
	ctx, cancel := context.WithCancel(context.Background())
	return &clusterMarkers{nodeID: nodeID, replicas: replicas, controller: ctrl, ib: ib, ctx: ctx, cancel: cancel,
		queues: map[int32]*sendQueue[*markerEntry]{}}
}

// failures collects per-partition errors.
type failures map[string]map[int32]error

func (f *failures) add(topic string, p int32, err error) {
	if *f == nil {
		*f = failures{}
	}
	if (*f)[topic] == nil {
		(*f)[topic] = map[int32]error{}
	}
	(*f)[topic][p] = err
}

// WriteTxnMarkers writes the marker to each partition at its leader and returns the failed
// partitions.
func (w *clusterMarkers) WriteTxnMarkers(ctx context.Context, producerID int64, producerEpoch int16, commit bool,
	coordinatorEpoch int32, partitions map[string][]int32) map[string]map[int32]error {
	var failed failures
	img := w.controller.Image()
	local := map[string][]int32{}
	remote := map[int32]map[string][]int32{}
	for topic, ps := range partitions {
		t := img.Topics[topic]
		for _, p := range ps {
			switch {
			case t == nil || p < 0 || int(p) >= len(t.Partitions):
				failed.add(topic, p, kerr.UnknownTopicOrPartition)
			case t.Partitions[p].Leader == w.nodeID:
				local[topic] = append(local[topic], p)
			case t.Partitions[p].Leader < 0:
				failed.add(topic, p, kerr.LeaderNotAvailable)
			default:
				l := t.Partitions[p].Leader
				if remote[l] == nil {
					remote[l] = map[string][]int32{}
				}
				remote[l][topic] = append(remote[l][topic], p)
			}
		}
	}

	entries := map[int32]*markerEntry{}
	for leader, parts := range remote {
		m := kmsg.NewWriteTxnMarkersRequestMarker()
		m.ProducerID, m.ProducerEpoch, m.Committed, m.CoordinatorEpoch = producerID, producerEpoch, commit, coordinatorEpoch
		for topic, ps := range parts {
			mt := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
			mt.Topic, mt.Partitions = topic, ps
			m.Topics = append(m.Topics, mt)
		}
		e := &markerEntry{marker: m, done: make(chan map[string]map[int32]error, 1)}
		if !w.enqueue(leader, e) {
			e.done <- allFailed(parts, kerr.CoordinatorNotAvailable)
		}
		entries[leader] = e
	}

	// A local marker counts as written only once the partition's ISR has it (Kafka appends
	// markers with acks=all): the coordinator writes the transaction's Complete state after its
	// markers, and a marker lost with a failed leader would leave the transaction open on that
	// partition for good.
	marker := replica.TxnMarker{ProducerID: producerID, ProducerEpoch: producerEpoch, Commit: commit, CoordinatorEpoch: coordinatorEpoch}
	var written []*replica.PendingWrite
	var writtenTP []storage.TopicPartition // of each written marker
	for topic, ps := range local {
		for _, p := range ps {
			pw, err := writeMarkerLocally(w.replicas, topic, p, marker)
			if err != nil {
				failed.add(topic, p, err)
				continue
			}
			written = append(written, pw)
			writtenTP = append(writtenTP, storage.TopicPartition{Topic: topic, Partition: p})
		}
	}
	if len(written) > 0 {
		replica.WaitReplicated(ctx, written, markerTimeout)
		for i, pw := range written {
			if pw.Err != nil {
				failed.add(writtenTP[i].Topic, writtenTP[i].Partition, pw.Err)
			}
		}
	}

	for leader, e := range entries {
		var res map[string]map[int32]error
		select {
		case res = <-e.done:
		case <-ctx.Done():
			res = allFailed(remote[leader], ctx.Err())
		}
		for topic, ps := range res {
			for p, err := range ps {
				if err == kerr.UnknownTopicOrPartition && img.Topics[topic] != nil {
					// The leader does not host it (yet, or any more): retried at the
					// leader of the next image while the topic exists.
					err = kerr.NotLeaderForPartition
				}
				failed.add(topic, p, err)
			}
		}
	}
	return failed
}

// markerTimeout bounds how long a round of local marker writes waits for the ISR; what does
// not finish in it is retried by the coordinator.
const markerTimeout = 10 * time.Second

// writeMarkerLocally appends m to topic-p on this broker and returns the write to wait for.
func writeMarkerLocally(replicas *replica.Manager, topic string, p int32, m replica.TxnMarker) (*replica.PendingWrite, error) {
	part, err := replicas.Partition(topic, p)
	if err != nil {
		return nil, kerr.NotLeaderForPartition // the image names it, the log is not open yet
	}
	epoch := part.LeaderEpoch()
	offset, err := part.WriteTxnMarker(m)
	if err != nil {
		return nil, err
	}
	return &replica.PendingWrite{P: part, NextOffset: offset + 1, Epoch: epoch}, nil
}

// allFailed is every partition of parts failed with err.
func allFailed(parts map[string][]int32, err error) map[string]map[int32]error {
	var f failures
	for topic, ps := range parts {
		for _, p := range ps {
			f.add(topic, p, err)
		}
	}
	return f
}

// enqueue queues e for leader; false once closed.
func (w *clusterMarkers) enqueue(leader int32, e *markerEntry) bool {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return false
	}
	q := w.queues[leader]
	if q == nil {
		q = &sendQueue[*markerEntry]{wg: &w.wg, flush: func(batch []*markerEntry) { w.send(leader, batch) }}
		w.queues[leader] = q
	}
	// Added under mu, so that close, once it has set closed, waits for every sender.
	q.add(e)
	w.mu.Unlock()
	return true
}

// send sends one WriteTxnMarkers request with batch's markers to leader and hands each entry
// its failed partitions.
func (w *clusterMarkers) send(leader int32, batch []*markerEntry) {
	req := kmsg.NewPtrWriteTxnMarkersRequest()
	for _, e := range batch {
		req.Markers = append(req.Markers, e.marker)
	}
	resp, err := w.ib.request(w.ctx, leader, req)
	var markers []kmsg.WriteTxnMarkersResponseMarker
	if err == nil {
		markers = resp.(*kmsg.WriteTxnMarkersResponse).Markers
	}
	for i, e := range batch {
		if err != nil {
			e.done <- allFailed(entryPartitions(e), err)
			continue
		}
		// The broker answers the markers in request order; a producer has one marker in
		// flight at a time, so its id finds it otherwise.
		var rm *kmsg.WriteTxnMarkersResponseMarker
		if i < len(markers) && markers[i].ProducerID == e.marker.ProducerID {
			rm = &markers[i]
		} else {
			for j := range markers {
				if markers[j].ProducerID == e.marker.ProducerID {
					rm = &markers[j]
					break
				}
			}
		}
		e.done <- markerFailures(e, rm)
	}
}

// markerFailures is the failed partitions of e in its answer rm (nil: not answered).
func markerFailures(e *markerEntry, rm *kmsg.WriteTxnMarkersResponseMarker) map[string]map[int32]error {
	answered := map[string]map[int32]int16{}
	if rm != nil {
		for _, t := range rm.Topics {
			if answered[t.Topic] == nil {
				answered[t.Topic] = map[int32]int16{}
			}
			for _, p := range t.Partitions {
				answered[t.Topic][p.Partition] = p.ErrorCode
			}
		}
	}
	var f failures
	for _, t := range e.marker.Topics {
		for _, p := range t.Partitions {
			code, ok := answered[t.Topic][p]
			switch {
			case !ok:
				f.add(t.Topic, p, fmt.Errorf("broker did not answer the marker of %s-%d: %w", t.Topic, p, kerr.NotLeaderForPartition))
			case code != 0:
				f.add(t.Topic, p, kerr.ErrorForCode(code))
			}
		}
	}
	return f
}

// entryPartitions is the partitions of e's marker.
func entryPartitions(e *markerEntry) map[string][]int32 {
	out := map[string][]int32{}
	for _, t := range e.marker.Topics {
		out[t.Topic] = append(out[t.Topic], t.Partitions...)
	}
	return out
}

// close stops sending: requests in flight end, waiting callers get their failures.
func (w *clusterMarkers) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.cancel()
	w.wg.Wait()
}
