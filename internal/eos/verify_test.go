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
	"github.com/gregorhq/gregor/internal/records"
)

// txnBatch builds a transactional batch of producer pid/epoch from sequence seq.
func txnBatch(pid int64, epoch int16, seq int32, values ...string) []byte {
	b := records.NewBuilder(records.BatchHeader{ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq,
		BaseTimestamp: time.Now().UnixMilli(), Attributes: 0x10})
	for i, v := range values {
		b.Add(records.Record{OffsetDelta: int32(i), Value: []byte(v)})
	}
	return b.Build()
}

// produceTxn sends one batch to topic's partition 0 in a Produce request with the given
// transactional id (nil: none) and returns the partition's error.
func produceTxn(ctx context.Context, t *testing.T, cl *kgo.Client, txnID *string, topic string, batch []byte) error {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.TransactionID, req.Acks, req.TimeoutMillis = txnID, -1, 10000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	return kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode)
}

// TestProduceVerification is KIP-890 part 1: a transactional batch for a partition the
// coordinator has not added to the producer's ongoing transaction is refused, with
// INVALID_TXN_STATE up to Produce v10 and TRANSACTION_ABORTABLE from v11, and nothing is
// appended; once AddPartitionsToTxn adds the partition the batches go in; after EndTxn has
// completed, a late batch of the ended transaction is refused. A transactional batch in a
// request without a transactional id is TRANSACTIONAL_ID_AUTHORIZATION_FAILED.
func TestProduceVerification(t *testing.T) {
	n := clustertest.StartNode(t, "transaction.state.log.num.partitions", "1")
	ctx := testContext(t, time.Minute)
	createTopic(t, n.Addr(), "vt", 1)
	v10 := kversion.Stable()
	v10.SetMaxKeyVersion(kmsg.Produce.Int16(), 10)
	cl10 := newClient(t, n.Addr(), kgo.MaxVersions(v10))
	cl := newClient(t, n.Addr()) // Produce v11
	id := "verified"

	p := initTxnProducer(ctx, t, cl, id)
	hw := func() int64 {
		t.Helper()
		off, err := listOffset(ctx, cl, "vt", 0)
		if err != nil {
			t.Fatal(err)
		}
		return off
	}

	// Not added to the transaction: refused, by version.
	if err := produceTxn(ctx, t, cl10, &id, "vt", txnBatch(p.pid, p.epoch, 0, "stray")); !errors.Is(err, kerr.InvalidTxnState) {
		t.Fatalf("Produce v10 of a partition not in the transaction: %v, want INVALID_TXN_STATE", err)
	}
	if err := produceTxn(ctx, t, cl, &id, "vt", txnBatch(p.pid, p.epoch, 0, "stray")); !errors.Is(err, kerr.TransactionAbortable) {
		t.Fatalf("Produce v11 of a partition not in the transaction: %v, want TRANSACTION_ABORTABLE", err)
	}
	if err := produceTxn(ctx, t, cl, nil, "vt", txnBatch(p.pid, p.epoch, 0, "stray")); !errors.Is(err, kerr.TransactionalIDAuthorizationFailed) {
		t.Fatalf("transactional batch without a transactional id: %v, want TRANSACTIONAL_ID_AUTHORIZATION_FAILED", err)
	}
	if got := hw(); got != 0 {
		t.Fatalf("refused batches were appended: high watermark %d", got)
	}

	// Added: accepted, the first batch verified, the next one through the partition's state.
	retry(ctx, t, "AddPartitionsToTxn", func() error {
		req := kmsg.NewPtrAddPartitionsToTxnRequest()
		req.Version = 3
		req.TransactionalID, req.ProducerID, req.ProducerEpoch = id, p.pid, p.epoch
		rt := kmsg.NewAddPartitionsToTxnRequestTopic()
		rt.Topic, rt.Partitions = "vt", []int32{0}
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return err
		}
		return kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode)
	})
	for seq, v := range []string{"a", "b"} {
		if err := produceTxn(ctx, t, cl, &id, "vt", txnBatch(p.pid, p.epoch, int32(seq), v)); err != nil {
			t.Fatalf("batch %q of the transaction: %v", v, err)
		}
	}

	// Ended: once the commit is complete, a late batch is refused.
	p.endTxn(ctx, t, cl, true)
	waitFor(ctx, t, "the commit marker", func() (bool, string) {
		lso, err := listOffset(ctx, cl, "vt", 1)
		return err == nil && lso == 3, fmt.Sprintf("last stable offset %d, %v", lso, err)
	})
	if err := produceTxn(ctx, t, cl10, &id, "vt", txnBatch(p.pid, p.epoch, 2, "late")); !errors.Is(err, kerr.InvalidTxnState) {
		t.Fatalf("late batch after EndTxn: %v, want INVALID_TXN_STATE", err)
	}
	if got := hw(); got != 3 {
		t.Fatalf("high watermark %d after the late batch, want 3", got)
	}
}
