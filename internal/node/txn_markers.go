package node

import (
	"context"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/replica"
)

// markerTimeout bounds one round of marker writes (the append and its replication to the
// ISR); what does not finish in it is retried by the coordinator.
const markerTimeout = 10 * time.Second

// txnMarkers is the transaction and group coordinators' txn.MarkerWriter (Kafka's
// TransactionMarkerChannelManager): a marker for a partition this broker leads is appended
// here; one for a partition led elsewhere goes to its leader in a WriteTxnMarkers request on
// inter.broker.listener.name. Either way a marker counts as written only once the partition's
// ISR has it (Kafka appends markers with acks=all): the coordinator writes the transaction's
// Complete state after its markers, and a marker lost with a failed leader would leave the
// transaction open on that partition for good.
type txnMarkers struct {
	nodeID     int32
	replicas   *replica.Manager
	controller *controller.Controller
	listener   string // inter.broker.listener.name

	mu sync.Mutex
	// Guarded by mu.
	clients map[string]*kgo.Client // by leader address
	closed  bool
}

// WriteTxnMarkers writes the marker to each partition through its leader. A partition of a
// topic that no longer exists is UNKNOWN_TOPIC_OR_PARTITION (the coordinator gives up on it);
// one without a leader, or whose leader cannot be reached, fails with a retriable error.
func (w *txnMarkers) WriteTxnMarkers(ctx context.Context, producerID int64, producerEpoch int16, commit bool,
	coordinatorEpoch int32, partitions map[string][]int32) map[string]map[int32]error {
	var failed map[string]map[int32]error
	fail := func(topic string, p int32, err error) {
		if failed == nil {
			failed = map[string]map[int32]error{}
		}
		if failed[topic] == nil {
			failed[topic] = map[int32]error{}
		}
		failed[topic][p] = err
	}
	ctx, cancel := context.WithTimeout(ctx, markerTimeout)
	defer cancel()
	m := replica.TxnMarker{ProducerID: producerID, ProducerEpoch: producerEpoch, Commit: commit, CoordinatorEpoch: coordinatorEpoch}
	img := w.controller.Image()
	self := w.nodeID
	remote := map[int32]map[string][]int32{} // leader -> topic -> partitions
	var local []*replica.PendingWrite
	var localTP []struct {
		topic string
		p     int32
	}
	for topic, ps := range partitions {
		for _, p := range ps {
			_, part, ok := img.Partition(topic, p)
			switch {
			case !ok:
				fail(topic, p, kerr.UnknownTopicOrPartition)
			case part.Leader < 0:
				fail(topic, p, kerr.LeaderNotAvailable)
			case part.Leader != self:
				if remote[part.Leader] == nil {
					remote[part.Leader] = map[string][]int32{}
				}
				remote[part.Leader][topic] = append(remote[part.Leader][topic], p)
			default:
				pw, err := writeMarkerLocally(w.replicas, topic, p, m)
				if err != nil {
					fail(topic, p, err)
					continue
				}
				local = append(local, pw)
				localTP = append(localTP, struct {
					topic string
					p     int32
				}{topic, p})
			}
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for leader, tps := range remote {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs := w.sendMarkers(ctx, img, leader, m, tps)
			mu.Lock()
			defer mu.Unlock()
			for topic, ps := range tps {
				for _, p := range ps {
					if err := errs[topic][p]; err != nil {
						fail(topic, p, err)
					}
				}
			}
		}()
	}
	replica.WaitReplicated(ctx, local, markerTimeout)
	wg.Wait()
	for i, pw := range local {
		if pw.Err != nil {
			fail(localTP[i].topic, localTP[i].p, pw.Err)
		}
	}
	return failed
}

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

// sendMarkers sends one WriteTxnMarkers request for tps to broker leader and returns the
// errors per partition (every partition fails alike when the request does).
func (w *txnMarkers) sendMarkers(ctx context.Context, img *metadata.Image, leader int32, m replica.TxnMarker,
	tps map[string][]int32) map[string]map[int32]error {
	out := map[string]map[int32]error{}
	failAll := func(err error) map[string]map[int32]error {
		for topic, ps := range tps {
			out[topic] = map[int32]error{}
			for _, p := range ps {
				out[topic][p] = err
			}
		}
		return out
	}
	cl, err := w.client(img, leader)
	if err != nil {
		return failAll(err)
	}
	req := kmsg.NewPtrWriteTxnMarkersRequest()
	rm := kmsg.NewWriteTxnMarkersRequestMarker()
	rm.ProducerID, rm.ProducerEpoch, rm.Committed, rm.CoordinatorEpoch = m.ProducerID, m.ProducerEpoch, m.Commit, m.CoordinatorEpoch
	for topic, ps := range tps {
		rt := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
		rt.Topic, rt.Partitions = topic, ps
		rm.Topics = append(rm.Topics, rt)
	}
	req.Markers = append(req.Markers, rm)
	// To that broker: the client's own routing could pick any broker it learned of.
	resp, err := req.RequestWith(ctx, cl.SeedBrokers()[0])
	if err != nil {
		return failAll(err)
	}
	for _, sm := range resp.Markers {
		for _, st := range sm.Topics {
			for _, sp := range st.Partitions {
				if out[st.Topic] == nil {
					out[st.Topic] = map[int32]error{}
				}
				out[st.Topic][sp.Partition] = kerr.ErrorForCode(sp.ErrorCode)
			}
		}
	}
	for topic, ps := range tps {
		for _, p := range ps {
			if _, ok := out[topic][p]; !ok {
				if out[topic] == nil {
					out[topic] = map[int32]error{}
				}
				out[topic][p] = kerr.UnknownServerError // not answered
			}
		}
	}
	return out
}

// client is a client of broker id at its inter-broker endpoint in img, kept while the
// endpoint stays the same.
func (w *txnMarkers) client(img *metadata.Image, id int32) (*kgo.Client, error) {
	b, ok := img.Brokers[id]
	if !ok || b.Fenced {
		return nil, kerr.NotLeaderForPartition
	}
	addr := ""
	for _, e := range b.Endpoints {
		if w.listener == "" || e.Name == w.listener {
			addr = net.JoinHostPort(e.Host, strconv.Itoa(int(e.Port)))
			break
		}
	}
	if addr == "" {
		return nil, kerr.BrokerNotAvailable
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, kerr.BrokerNotAvailable
	}
	if cl := w.clients[addr]; cl != nil {
		return cl, nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ClientID("gregor-txn-markers-"+strconv.Itoa(int(w.nodeID))))
	if err != nil {
		return nil, err
	}
	if w.clients == nil {
		w.clients = map[string]*kgo.Client{}
	}
	w.clients[addr] = cl
	return cl, nil
}

// Close closes the clients of other brokers.
func (w *txnMarkers) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	for _, cl := range w.clients {
		cl.Close()
	}
	w.clients = nil
}
