package eos_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// txnProducer is a transactional producer driven by hand with kmsg requests (franz-go routes
// each to the transaction or group coordinator), so that it can outlive a node restart.
type txnProducer struct {
	id    string
	pid   int64
	epoch int16
}

// retriableTxn reports whether a coordinator answer means "ask again shortly".
func retriableTxn(err error) bool {
	return errors.Is(err, kerr.ConcurrentTransactions) || errors.Is(err, kerr.CoordinatorLoadInProgress) ||
		errors.Is(err, kerr.NotCoordinator) || errors.Is(err, kerr.CoordinatorNotAvailable)
}

// retry repeats do while it answers a retriable coordinator error.
func retry(ctx context.Context, t *testing.T, what string, do func() error) {
	t.Helper()
	waitFor(ctx, t, what, func() (bool, string) {
		err := do()
		if err != nil && !retriableTxn(err) {
			t.Fatalf("%s: %v", what, err)
		}
		return err == nil, fmt.Sprint(err)
	})
}

func initTxnProducer(ctx context.Context, t *testing.T, cl *kgo.Client, id string) *txnProducer {
	t.Helper()
	p := &txnProducer{id: id}
	retry(ctx, t, "InitProducerId", func() error {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionalID, req.TransactionTimeoutMillis = &p.id, 60_000
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return err
		}
		p.pid, p.epoch = resp.ProducerID, resp.ProducerEpoch
		return kerr.ErrorForCode(resp.ErrorCode)
	})
	return p
}

// commitOffset adds group to the transaction and commits offset for topic's partition 0 in
// it (AddOffsetsToTxn, then TxnOffsetCommit to the group coordinator).
func (p *txnProducer) commitOffset(ctx context.Context, t *testing.T, cl *kgo.Client, group, topic string, offset int64) {
	t.Helper()
	retry(ctx, t, "AddOffsetsToTxn", func() error {
		req := kmsg.NewPtrAddOffsetsToTxnRequest()
		req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Group = p.id, p.pid, p.epoch, group
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return err
		}
		return kerr.ErrorForCode(resp.ErrorCode)
	})
	retry(ctx, t, "TxnOffsetCommit", func() error {
		req := kmsg.NewPtrTxnOffsetCommitRequest()
		req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch = p.id, group, p.pid, p.epoch
		req.Generation = -1
		rt := kmsg.NewTxnOffsetCommitRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset, rp.LeaderEpoch = 0, offset, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return err
		}
		return kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode)
	})
}

func (p *txnProducer) endTxn(ctx context.Context, t *testing.T, cl *kgo.Client, commit bool) {
	t.Helper()
	retry(ctx, t, "EndTxn", func() error {
		req := kmsg.NewPtrEndTxnRequest()
		req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = p.id, p.pid, p.epoch, commit
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return err
		}
		return kerr.ErrorForCode(resp.ErrorCode)
	})
}

// fetchOffset is OffsetFetch of group's offset for topic's partition 0: the offset (-1 when
// none) and the error, UNSTABLE_OFFSET_COMMIT when requireStable and a transaction holds a
// pending offset for it.
func fetchOffset(ctx context.Context, cl *kgo.Client, group, topic string, requireStable bool) (int64, error) {
	req := kmsg.NewPtrOffsetFetchRequest()
	req.RequireStable = requireStable
	g := kmsg.NewOffsetFetchRequestGroup()
	g.Group = group
	gt := kmsg.NewOffsetFetchRequestGroupTopic()
	gt.Topic, gt.Partitions = topic, []int32{0}
	g.Topics = append(g.Topics, gt)
	req.Groups = append(req.Groups, g)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return -1, err
	}
	rg := resp.Groups[0]
	if err := kerr.ErrorForCode(rg.ErrorCode); err != nil {
		return -1, err
	}
	rp := rg.Topics[0].Partitions[0]
	return rp.Offset, kerr.ErrorForCode(rp.ErrorCode)
}

// TestTxnOffsetsThroughMarkers: a transaction's group offsets are pending (invisible to
// OffsetFetch, UNSTABLE_OFFSET_COMMIT with require_stable) until EndTxn's commit marker
// reaches __consumer_offsets, and are dropped by an abort marker; the same holds when the node
// restarts while the transaction is open (the group coordinator replays the pending offsets,
// the transaction coordinator resumes the transaction) and after the markers, on replay.
func TestTxnOffsetsThroughMarkers(t *testing.T) {
	n := clustertest.StartNode(t,
		"transaction.state.log.num.partitions", "1",
		"offsets.topic.num.partitions", "1")
	ctx := testContext(t, time.Minute)
	createTopic(t, n.Addr(), "src", 1)
	const group = "txn-group"
	cl := newClient(t, n.Addr())

	// waitOffset waits until a require_stable OffsetFetch answers want.
	waitOffset := func(cl *kgo.Client, want int64) {
		t.Helper()
		waitFor(ctx, t, fmt.Sprintf("committed offset %d", want), func() (bool, string) {
			got, err := fetchOffset(ctx, cl, group, "src", true)
			return err == nil && got == want, fmt.Sprintf("offset %d, %v", got, err)
		})
	}
	// pending checks that a transaction's offset is not visible: the last committed offset
	// without require_stable, UNSTABLE_OFFSET_COMMIT with it.
	pending := func(cl *kgo.Client, committed int64) {
		t.Helper()
		if got, err := fetchOffset(ctx, cl, group, "src", false); err != nil || got != committed {
			t.Fatalf("OffsetFetch with a transaction open: %d, %v; want %d", got, err, committed)
		}
		if _, err := fetchOffset(ctx, cl, group, "src", true); !errors.Is(err, kerr.UnstableOffsetCommit) {
			t.Fatalf("OffsetFetch require_stable with a transaction open: %v; want UNSTABLE_OFFSET_COMMIT", err)
		}
	}
	restart := func() *kgo.Client {
		t.Helper()
		n.Restart()
		return newClient(t, n.Addr())
	}

	p := initTxnProducer(ctx, t, cl, "offsets-txn")
	p.commitOffset(ctx, t, cl, group, "src", 10)
	pending(cl, -1)
	p.endTxn(ctx, t, cl, true)
	waitOffset(cl, 10)

	p.commitOffset(ctx, t, cl, group, "src", 20)
	pending(cl, 10)
	p.endTxn(ctx, t, cl, false)
	waitOffset(cl, 10)

	// Open across a restart, then committed.
	p.commitOffset(ctx, t, cl, group, "src", 30)
	cl = restart()
	pending(cl, 10)
	p.endTxn(ctx, t, cl, true)
	waitOffset(cl, 30)
	cl = restart()
	waitOffset(cl, 30)

	// Open across a restart, then aborted.
	p.commitOffset(ctx, t, cl, group, "src", 40)
	cl = restart()
	pending(cl, 30)
	p.endTxn(ctx, t, cl, false)
	waitOffset(cl, 30)
	cl = restart()
	waitOffset(cl, 30)
}
