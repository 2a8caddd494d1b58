package node_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

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

// TestTransactionAPIErrors sends the transaction APIs by hand: unknown partitions, the
// verify_only form of AddPartitionsToTxn v4, and PRODUCER_FENCED answered as
// INVALID_PRODUCER_EPOCH to old versions.
func TestTransactionAPIErrors(t *testing.T) {
	n := clustertest.StartNode(t, "transaction.state.log.num.partitions", "1")
	ctx := testContext(t)
	createTopic(t, n.Addr(), "raw", 2, nil)
	// EndTxn pinned to v1, which does not know PRODUCER_FENCED.
	versions := kversion.Stable()
	versions.SetMaxKeyVersion(kmsg.EndTxn.Int16(), 1)
	cl := newClient(t, n.Addr(), kgo.MaxVersions(versions))
	adm := kadm.NewClient(cl)
	request := func(req kmsg.Request) kmsg.Response {
		t.Helper()
		for {
			// The first request creates __transaction_state; its shard loads meanwhile.
			resp, err := cl.Broker(1).RetriableRequest(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if r, ok := resp.(*kmsg.InitProducerIDResponse); ok && (r.ErrorCode == kerr.NotCoordinator.Code || r.ErrorCode == kerr.CoordinatorLoadInProgress.Code) {
				select {
				case <-ctx.Done():
					t.Fatal("coordinator never loaded")
				case <-time.After(20 * time.Millisecond):
				}
				continue
			}
			return resp
		}
	}
	find := kmsg.NewPtrFindCoordinatorRequest()
	find.CoordinatorType, find.CoordinatorKeys = 1, []string{"raw-tx"}
	if resp := request(find).(*kmsg.FindCoordinatorResponse); resp.Coordinators[0].ErrorCode != 0 || resp.Coordinators[0].NodeID != 1 {
		t.Fatalf("FindCoordinator: %+v", resp.Coordinators[0])
	}
	initReq := kmsg.NewPtrInitProducerIDRequest()
	initReq.TransactionalID, initReq.TransactionTimeoutMillis = kmsg.StringPtr("raw-tx"), 60000
	initResp := request(initReq).(*kmsg.InitProducerIDResponse)
	if initResp.ErrorCode != 0 {
		t.Fatalf("InitProducerId: %v", kerr.ErrorForCode(initResp.ErrorCode))
	}
	pid, epoch := initResp.ProducerID, initResp.ProducerEpoch

	add := func(verify bool, topic string, partitions ...int32) map[string]map[int32]int16 {
		t.Helper()
		req := kmsg.NewPtrAddPartitionsToTxnRequest()
		tx := kmsg.NewAddPartitionsToTxnRequestTransaction()
		tx.TransactionalID, tx.ProducerID, tx.ProducerEpoch, tx.VerifyOnly = "raw-tx", pid, epoch, verify
		tx.Topics = []kmsg.AddPartitionsToTxnRequestTransactionTopic{{Topic: "raw", Partitions: []int32{0}}, {Topic: topic, Partitions: partitions}}
		req.Transactions = append(req.Transactions, tx)
		resp := request(req).(*kmsg.AddPartitionsToTxnResponse)
		codes := map[string]map[int32]int16{}
		for _, rt := range resp.Transactions[0].Topics {
			for _, rp := range rt.Partitions {
				if codes[rt.Topic] == nil {
					codes[rt.Topic] = map[int32]int16{}
				}
				codes[rt.Topic][rp.Partition] = rp.ErrorCode
			}
		}
		return codes
	}
	if c := add(false, "missing", 0); c["missing"][0] != kerr.UnknownTopicOrPartition.Code || c["raw"][0] != kerr.OperationNotAttempted.Code {
		t.Fatalf("unknown topic: %v", c)
	}
	if c := add(true, "raw", 1); c["raw"][0] != kerr.InvalidTxnState.Code {
		t.Fatalf("verify before adding: %v", c)
	}
	if c := add(false, "raw", 1); c["raw"][0] != 0 || c["raw"][1] != 0 {
		t.Fatalf("add: %v", c)
	}
	if c := add(true, "raw", 1); c["raw"][0] != 0 || c["raw"][1] != 0 {
		t.Fatalf("verify after adding: %v", c)
	}

	end := kmsg.NewPtrEndTxnRequest()
	end.TransactionalID, end.ProducerID, end.ProducerEpoch, end.Commit = "raw-tx", pid, epoch+1, true
	if resp := request(end).(*kmsg.EndTxnResponse); resp.ErrorCode != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("EndTxn v1 with a wrong epoch: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	end.ProducerEpoch = epoch
	if resp := request(end).(*kmsg.EndTxnResponse); resp.ErrorCode != 0 {
		t.Fatalf("EndTxn: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	waitTxnState(ctx, t, adm, "raw-tx", "CompleteCommit")

	tooLong := kmsg.NewPtrInitProducerIDRequest()
	tooLong.TransactionalID, tooLong.TransactionTimeoutMillis = kmsg.StringPtr("raw-tx"), 900001
	if resp := request(tooLong).(*kmsg.InitProducerIDResponse); resp.ErrorCode != kerr.InvalidTransactionTimeout.Code {
		t.Fatalf("InitProducerId over transaction.max.timeout.ms: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	described, err := adm.DescribeTransactions(ctx, "nobody")
	if err != nil || !errors.Is(described["nobody"].Err, kerr.TransactionalIDNotFound) {
		t.Fatalf("describe an unknown id: %+v %v", described, err)
	}
}
