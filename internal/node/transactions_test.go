package node_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// describeTxn describes one transactional id through kadm (FindCoordinator of type
// transaction, then DescribeTransactions).
func describeTxn(ctx context.Context, t *testing.T, adm *kadm.Client, id string) kadm.DescribedTransaction {
	t.Helper()
	described, err := adm.DescribeTransactions(ctx, id)
	if err != nil {
		t.Fatalf("describe %s: %v", id, err)
	}
	return described[id]
}

// waitTxnState waits until the transactional id reaches state.
func waitTxnState(ctx context.Context, t *testing.T, adm *kadm.Client, id, state string) kadm.DescribedTransaction {
	t.Helper()
	var last kadm.DescribedTransaction
	for {
		described, err := adm.DescribeTransactions(ctx, id)
		if err == nil {
			if last = described[id]; last.Err == nil && last.State == state {
				return last
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never reached %s: last %+v, err %v", id, state, last, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func produceInTxn(ctx context.Context, t *testing.T, cl *kgo.Client, value string) error {
	t.Helper()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatalf("begin: %v", err)
	}
	return cl.ProduceSync(ctx, &kgo.Record{Topic: "txs", Value: []byte(value)}).FirstErr()
}

// TestTransactionCoordinator drives the coordinator with franz-go's transactional producer:
// commit and abort complete, a second producer of the same id fences the first, a producer
// that vanishes mid-transaction is aborted after its timeout, and the state survives a
// restart.
func TestTransactionCoordinator(t *testing.T) {
	n := clustertest.StartNode(t, "transaction.state.log.num.partitions", "4",
		"transaction.abort.timed.out.transaction.cleanup.interval.ms", "100")
	ctx := testContext(t)
	createTopic(t, n.Addr(), "txs", 2, nil)
	adm := kadm.NewClient(newClient(t, n.Addr()))

	p1 := newClient(t, n.Addr(), kgo.TransactionalID("t1"))
	if err := produceInTxn(ctx, t, p1, "committed"); err != nil {
		t.Fatalf("produce: %v", err)
	}
	if d := describeTxn(ctx, t, adm, "t1"); d.State != "Ongoing" || len(d.Topics["txs"]) == 0 {
		t.Fatalf("during the transaction: %+v", d)
	}
	if err := p1.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("commit: %v", err)
	}
	committed := waitTxnState(ctx, t, adm, "t1", "CompleteCommit")

	if err := produceInTxn(ctx, t, p1, "aborted"); err != nil {
		t.Fatalf("produce: %v", err)
	}
	if err := p1.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatalf("abort: %v", err)
	}
	waitTxnState(ctx, t, adm, "t1", "CompleteAbort")

	// A second producer of t1 bumps the epoch; the first is fenced.
	p2 := newClient(t, n.Addr(), kgo.TransactionalID("t1"))
	if err := produceInTxn(ctx, t, p2, "from p2"); err != nil {
		t.Fatalf("p2 produce: %v", err)
	}
	if d := describeTxn(ctx, t, adm, "t1"); d.ProducerID != committed.ProducerID || d.ProducerEpoch <= committed.ProducerEpoch {
		t.Fatalf("after p2's InitProducerId: %+v, before %+v", d, committed)
	}
	err := produceInTxn(ctx, t, p1, "zombie")
	if err == nil {
		err = p1.EndTransaction(ctx, kgo.TryCommit)
	}
	if !errors.Is(err, kerr.ProducerFenced) && !errors.Is(err, kerr.InvalidProducerEpoch) {
		t.Fatalf("fenced producer got %v", err)
	}
	if err := p2.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("p2 commit: %v", err)
	}
	final := waitTxnState(ctx, t, adm, "t1", "CompleteCommit")

	// A producer that goes away mid-transaction is aborted after its timeout.
	p3, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()), kgo.TransactionalID("t3"), kgo.TransactionTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := produceInTxn(ctx, t, p3, "abandoned"); err != nil {
		t.Fatalf("p3 produce: %v", err)
	}
	ongoing := describeTxn(ctx, t, adm, "t3")
	p3.Close()
	aborted := waitTxnState(ctx, t, adm, "t3", "CompleteAbort")
	if aborted.ProducerEpoch != ongoing.ProducerEpoch+1 {
		t.Fatalf("timed-out transaction's epoch %d, want %d (fenced)", aborted.ProducerEpoch, ongoing.ProducerEpoch+1)
	}

	listed, err := adm.ListTransactions(ctx, nil, []string{"CompleteCommit"})
	if err != nil || len(listed) != 1 || listed["t1"].ProducerID != final.ProducerID {
		t.Fatalf("list: %+v %v", listed, err)
	}

	n.Restart()
	adm = kadm.NewClient(newClient(t, n.Addr()))
	for id, want := range map[string]kadm.DescribedTransaction{"t1": final, "t3": aborted} {
		got := waitTxnState(ctx, t, adm, id, want.State)
		if got.ProducerID != want.ProducerID || got.ProducerEpoch != want.ProducerEpoch || got.TimeoutMillis != want.TimeoutMillis {
			t.Fatalf("%s after restart: %+v, want %+v", id, got, want)
		}
	}
	// The restarted coordinator keeps serving the id: a new producer gets the next epoch.
	p4 := newClient(t, n.Addr(), kgo.TransactionalID("t1"))
	if err := produceInTxn(ctx, t, p4, "after restart"); err != nil {
		t.Fatalf("p4 produce: %v", err)
	}
	if err := p4.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("p4 commit: %v", err)
	}
	if d := waitTxnState(ctx, t, adm, "t1", "CompleteCommit"); d.ProducerEpoch != final.ProducerEpoch+1 {
		t.Fatalf("after restart epoch %d, want %d", d.ProducerEpoch, final.ProducerEpoch+1)
	}
}
