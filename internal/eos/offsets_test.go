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
	"github.com/twmb/franz-go/pkg/kversion"

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

// TestTxnOffsetCommitVerified: a TxnOffsetCommit whose group's __consumer_offsets partition
// the transaction does not hold (no AddOffsetsToTxn before it) is refused, with
// TRANSACTION_ABORTABLE at v4 and INVALID_TXN_STATE below (KIP-890 part 1), and leaves no
// pending offset behind.
func TestTxnOffsetCommitVerified(t *testing.T) {
	n := clustertest.StartNode(t,
		"transaction.state.log.num.partitions", "1",
		"offsets.topic.num.partitions", "1")
	ctx := testContext(t, time.Minute)
	createTopic(t, n.Addr(), "src", 1)
	const group = "unverified-group"
	cl := newClient(t, n.Addr())
	p := initTxnProducer(ctx, t, cl, "unverified")

	v3 := kversion.Stable()
	v3.SetMaxKeyVersion(kmsg.TxnOffsetCommit.Int16(), 3)
	clients := map[int16]*kgo.Client{4: cl, 3: newClient(t, n.Addr(), kgo.MaxVersions(v3))}
	commit := func(version int16) error {
		cl := clients[version]
		req := kmsg.NewPtrTxnOffsetCommitRequest()
		req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch = p.id, group, p.pid, p.epoch
		req.Generation = -1
		rt := kmsg.NewTxnOffsetCommitRequestTopic()
		rt.Topic = "src"
		rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset, rp.LeaderEpoch = 0, 5, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		var resp *kmsg.TxnOffsetCommitResponse
		var err error
		waitFor(ctx, t, "a TxnOffsetCommit answer", func() (bool, string) {
			resp, err = req.RequestWith(ctx, cl)
			if err == nil {
				err = kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode)
			}
			return !retriableTxn(err), fmt.Sprint(err)
		})
		return err
	}
	if err := commit(4); !errors.Is(err, kerr.TransactionAbortable) {
		t.Fatalf("TxnOffsetCommit v4 without AddOffsetsToTxn: %v, want TRANSACTION_ABORTABLE", err)
	}
	if err := commit(3); !errors.Is(err, kerr.InvalidTxnState) {
		t.Fatalf("TxnOffsetCommit v3 without AddOffsetsToTxn: %v, want INVALID_TXN_STATE", err)
	}
	if got, err := fetchOffset(ctx, cl, group, "src", true); err != nil || got != -1 {
		t.Fatalf("OffsetFetch after refused commits: %d, %v; want -1 and no pending offset", got, err)
	}
	// With AddOffsetsToTxn first, the commit goes through.
	p.commitOffset(ctx, t, cl, group, "src", 5)
	p.endTxn(ctx, t, cl, true)
	waitFor(ctx, t, "the committed offset", func() (bool, string) {
		got, err := fetchOffset(ctx, cl, group, "src", true)
		return err == nil && got == 5, fmt.Sprintf("%d, %v", got, err)
	})
}
