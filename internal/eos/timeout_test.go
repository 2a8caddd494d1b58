package eos_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// listOffset asks ListOffsets for the latest offset of topic's partition 0 at an isolation
// level: the high watermark (0) or the last stable offset (1).
func listOffset(ctx context.Context, cl *kgo.Client, topic string, isolation int8) (int64, error) {
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID, req.IsolationLevel = -1, isolation
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Timestamp = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return -1, err
	}
	p := resp.Topics[0].Partitions[0]
	return p.Offset, kerr.ErrorForCode(p.ErrorCode)
}

// TestAbandonedTransactionTimesOut is acceptance 5: a transactional producer writes and then
// goes silent with its transaction open (transaction.timeout.ms 2 s). Until the coordinator
// aborts it, the partition's last stable offset stays at the open transaction's first record,
// so records another producer commits after it are held back from read_committed consumers;
// once the timeout passes the coordinator aborts it, the last stable offset moves past it, and
// a read_committed consumer receives the later records and never the abandoned ones.
func TestAbandonedTransactionTimesOut(t *testing.T) {
	n := clustertest.StartNode(t,
		"transaction.state.log.num.partitions", "1",
		"transaction.abort.timed.out.transaction.cleanup.interval.ms", "100")
	ctx := testContext(t, time.Minute)
	createTopic(t, n.Addr(), "t5", 1)

	abandoned := newClient(t, n.Addr(), kgo.TransactionalID("abandoned"), kgo.TransactionTimeout(2*time.Second))
	if err := abandoned.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := abandoned.ProduceSync(ctx, &kgo.Record{Topic: "t5", Value: fmt.Appendf(nil, "abandoned-%d", i)}).FirstErr(); err != nil {
			t.Fatalf("abandoned producer: %v", err)
		}
	}
	// From here on the abandoned producer does nothing: it neither commits nor aborts.

	other := newClient(t, n.Addr(), kgo.TransactionalID("other"))
	if err := other.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := other.ProduceSync(ctx, &kgo.Record{Topic: "t5", Value: fmt.Appendf(nil, "after-%d", i)}).FirstErr(); err != nil {
			t.Fatalf("other producer: %v", err)
		}
	}
	if err := other.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("other producer's commit: %v", err)
	}

	// Held back: the last stable offset is the abandoned transaction's first offset, 0,
	// though the committed records are below the high watermark.
	admin := newClient(t, n.Addr())
	waitFor(ctx, t, "other producer's commit marker", func() (bool, string) {
		hw, err := listOffset(ctx, admin, "t5", 0)
		return err == nil && hw == 6, fmt.Sprintf("high watermark %d, %v", hw, err) // 3 + 2 records + 1 marker
	})
	lso, err := listOffset(ctx, admin, "t5", 1)
	if err != nil || lso != 0 {
		t.Fatalf("last stable offset with the abandoned transaction open: %d, %v; want 0", lso, err)
	}
	// Before the timeout a read_committed fetch returns no records.
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID, req.MaxBytes, req.IsolationLevel = -1, 1<<20, 1
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "t5"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.PartitionMaxBytes = 1 << 20
	ft.Partitions = append(ft.Partitions, fp)
	req.Topics = append(req.Topics, ft)
	resp, err := req.RequestWith(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Topics[0].Partitions[0]; got.ErrorCode != 0 || len(got.RecordBatches) != 0 || got.LastStableOffset != 0 {
		t.Fatalf("read_committed fetch before the timeout: error %d, %d bytes, last stable offset %d",
			got.ErrorCode, len(got.RecordBatches), got.LastStableOffset)
	}

	// After the timeout the coordinator aborts the transaction: its abort marker follows.
	waitFor(ctx, t, "the abandoned transaction aborted", func() (bool, string) {
		lso, err := listOffset(ctx, admin, "t5", 1)
		return err == nil && lso == 7, fmt.Sprintf("last stable offset %d, %v", lso, err)
	})
	consumer := newClient(t, n.Addr(), kgo.ConsumeTopics("t5"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	var got []string
	for len(got) < 2 {
		fs := consumer.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read_committed consumer got %q, want after-0, after-1", got)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatal(err) })
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	if len(got) != 2 || got[0] != "after-0" || got[1] != "after-1" {
		t.Fatalf("read_committed consumer got %q, want after-0, after-1", got)
	}
}
