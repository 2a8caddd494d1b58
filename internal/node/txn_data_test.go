package node_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/clustertest"
	"github.com/gregorhq/gregor/internal/records"
)

// txnBatch builds a transactional batch of producer pid (epoch 0) from sequence seq with the
// given values.
func txnBatch(pid int64, seq int32, values ...string) []byte {
	b := records.NewBuilder(records.BatchHeader{ProducerID: pid, ProducerEpoch: 0, BaseSequence: seq,
		BaseTimestamp: time.Now().UnixMilli(), Attributes: 0x10})
	for i, v := range values {
		b.Add(records.Record{OffsetDelta: int32(i), Value: []byte(v)})
	}
	return b.Build()
}

// listLatest asks ListOffsets for the latest offset of partition 0 at an isolation level.
func listLatest(t *testing.T, cl *kgo.Client, topic string, isolation int8) int64 {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID, req.IsolationLevel = -1, isolation
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Timestamp = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testContext(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	p := resp.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
		t.Fatal(err)
	}
	return p.Offset
}

// writeMarkers ends producer pid's transaction in partition 0 of topic through WriteTxnMarkers.
func writeMarkers(t *testing.T, cl *kgo.Client, topic string, pid int64, epoch int16, commit bool) error {
	t.Helper()
	req := kmsg.NewPtrWriteTxnMarkersRequest()
	m := kmsg.NewWriteTxnMarkersRequestMarker()
	m.ProducerID, m.ProducerEpoch, m.Committed, m.CoordinatorEpoch = pid, epoch, commit, 0
	mt := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
	mt.Topic, mt.Partitions = topic, []int32{0}
	m.Topics = append(m.Topics, mt)
	req.Markers = append(req.Markers, m)
	resp, err := req.RequestWith(testContext(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	return kerr.ErrorForCode(resp.Markers[0].Topics[0].Partitions[0].ErrorCode)
}

// consumeUntil reads topic from the start at an isolation level until a record with value
// last, and returns the values read.
func consumeUntil(t *testing.T, addr, topic, last string, isolation kgo.IsolationLevel) []string {
	t.Helper()
	cl := newClient(t, addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(isolation))
	ctx := testContext(t)
	var got []string
	for !slices.Contains(got, last) {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %v, never %q: %v", got, last, err)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		for _, r := range fs.Records() {
			got = append(got, string(r.Value))
		}
	}
	return got
}

// TestTransactionalDataThroughProduceAndMarkers drives the partition side of transactions
// over the wire: transactional batches through Produce, markers through WriteTxnMarkers, and
// franz-go consumers at both isolation levels. No coordinator knows these producers, so the
// produce verification against it (KIP-890) is turned off.
func TestTransactionalDataThroughProduceAndMarkers(t *testing.T) {
	n := clustertest.StartNode(t, "transaction.partition.verification.enable", "false")
	const topic = "txn-data"
	createTopic(t, n.Addr(), topic, 1, nil)
	cl := newClient(t, n.Addr())
	ctx := testContext(t)

	produce := func(batch []byte) int64 {
		t.Helper()
		txnID := "txn-data"
		p := produceRawTxn(t, ctx, cl, &txnID, topic, batch)
		if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
			t.Fatal(err)
		}
		return p.BaseOffset
	}
	produce(batchBytes("before"))                           // 0
	first := produce(txnBatch(100, 0, "c-0", "c-1", "c-2")) // 1-3: committed later
	produce(txnBatch(200, 0, "a-0", "a-1"))                 // 4-5: aborted later
	produce(txnBatch(100, 3, "c-3"))                        // 6

	if got := listLatest(t, cl, topic, 1); got != first {
		t.Fatalf("read_committed latest offset %d with transactions open, want %d", got, first)
	}
	if got := listLatest(t, cl, topic, 0); got != 7 {
		t.Fatalf("read_uncommitted latest offset %d, want 7", got)
	}

	// DescribeProducers shows both open transactions.
	dreq := kmsg.NewPtrDescribeProducersRequest()
	dt := kmsg.NewDescribeProducersRequestTopic()
	dt.Topic, dt.Partitions = topic, []int32{0}
	dreq.Topics = append(dreq.Topics, dt)
	dresp, err := dreq.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	var open []string
	for _, ap := range dresp.Topics[0].Partitions[0].ActiveProducers {
		open = append(open, fmt.Sprintf("%d@%d/seq%d", ap.ProducerID, ap.CurrentTxnStartOffset, ap.LastSequence))
	}
	if want := []string{"100@1/seq3", "200@4/seq1"}; !slices.Equal(open, want) {
		t.Fatalf("active producers %v, want %v", open, want)
	}

	// The abort comes with a bumped epoch, as a coordinator's abort of a timed-out
	// transaction does; a marker of the older epoch is fenced then.
	if err := writeMarkers(t, cl, topic, 200, 1, false); err != nil { // 7: abort
		t.Fatal(err)
	}
	if err := writeMarkers(t, cl, topic, 100, 0, true); err != nil { // 8: commit
		t.Fatal(err)
	}
	if err := writeMarkers(t, cl, topic, 200, 0, false); !errors.Is(err, kerr.InvalidProducerEpoch) {
		t.Fatalf("marker of a fenced epoch: %v", err)
	}
	if got := listLatest(t, cl, topic, 1); got != 9 {
		t.Fatalf("read_committed latest offset %d after both markers, want 9", got)
	}
	produce(batchBytes("end")) // 9

	committed := consumeUntil(t, n.Addr(), topic, "end", kgo.ReadCommitted())
	if want := []string{"before", "c-0", "c-1", "c-2", "c-3", "end"}; !slices.Equal(committed, want) {
		t.Fatalf("read_committed consumer read %v, want %v", committed, want)
	}
	all := consumeUntil(t, n.Addr(), topic, "end", kgo.ReadUncommitted())
	if want := []string{"before", "c-0", "c-1", "c-2", "a-0", "a-1", "c-3", "end"}; !slices.Equal(all, want) {
		t.Fatalf("read_uncommitted consumer read %v, want %v", all, want)
	}

	// The aborted transaction index and the producer state survive a restart.
	n.Restart()
	committed = consumeUntil(t, n.Addr(), topic, "end", kgo.ReadCommitted())
	if want := []string{"before", "c-0", "c-1", "c-2", "c-3", "end"}; !slices.Equal(committed, want) {
		t.Fatalf("read_committed consumer after restart read %v, want %v", committed, want)
	}
}
