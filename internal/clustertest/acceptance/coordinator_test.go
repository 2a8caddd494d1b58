package acceptance

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// The internal topics get replication factor 3 on a three-broker cluster, and the group and
// transaction coordinators move with their partitions' leaders: a consumer group keeps
// consuming and committing across a kill -9 of its coordinator's broker, and a transactional
// producer keeps committing across a kill -9 of its coordinator's.
func TestCoordinatorsMoveWithTheirPartitionLeader(t *testing.T) {
	const topic, partitions = "cg", int32(3)
	start := time.Now()
	phase := func(what string) { t.Logf("%v: %s", time.Since(start).Round(time.Millisecond), what) }
	c := startCluster(t, 3)
	c.createTopic(topic, partitions, 3, nil)
	phase("topic created")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	prod := c.client(kgo.DefaultProduceTopic(topic), kgo.MetadataMinAge(50*time.Millisecond))
	sent := 0
	produceN := func(n int) {
		t.Helper()
		for range n {
			if err := prod.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint(sent))).FirstErr(); err != nil {
				t.Fatalf("produce: %v", err)
			}
			sent++
		}
	}
	produceN(100)

	cons := c.client(kgo.ConsumerGroup("g"), kgo.ConsumeTopics(topic), kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.MetadataMinAge(50*time.Millisecond),
		kgo.SessionTimeout(6*time.Second), kgo.HeartbeatInterval(300*time.Millisecond),
		kgo.FetchMaxWait(200*time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }))
	seen := map[string]bool{}
	consumeAll := func() {
		t.Helper()
		for len(seen) < sent {
			fs := cons.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("consumed %d of %d: %v", len(seen), sent, fs.Errors())
			}
			fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
			// A commit may fail while the coordinator moves; the next one carries it.
			if err := cons.CommitUncommittedOffsets(ctx); err != nil {
				t.Logf("commit: %v", err)
			}
		}
	}
	consumeAll()
	phase("group consumed the first records")

	adm := kadm.NewClient(c.client())
	m := c.metadata()
	for _, internal := range []string{"__consumer_offsets"} {
		for p := range int32(3) {
			if tp := partition(m, internal, p); tp == nil || len(tp.Replicas) != 3 {
				t.Fatalf("%s partition %d: %+v, want 3 replicas", internal, p, tp)
			}
		}
	}
	coordinator := func(group string, txn bool) int32 {
		t.Helper()
		var id int32 = -1
		clustertest.WaitFor(t, 30*time.Second, "a coordinator for "+group, func() bool {
			var resp kadm.FindCoordinatorResponses
			if txn {
				resp = adm.FindTxnCoordinators(ctx, group)
			} else {
				resp = adm.FindGroupCoordinators(ctx, group)
			}
			if resp[group].Err != nil {
				return false
			}
			id = resp[group].NodeID
			return !c.down[id-1]
		})
		return id
	}
	old := coordinator("g", false)
	c.kill(old)
	phase(fmt.Sprintf("killed group coordinator %d", old))
	clustertest.WaitFor(t, 30*time.Second, "the group coordinator to move", func() bool {
		resp := adm.FindGroupCoordinators(ctx, "g")
		return resp["g"].Err == nil && resp["g"].NodeID != old
	})
	phase("group coordinator moved")
	produceN(100)
	phase("produced after the move")
	consumeAll()
	phase("group consumed the records after the move")
	// Every record's offset is committed, with the coordinator elsewhere.
	clustertest.WaitFor(t, 30*time.Second, "the group's offsets committed to the end", func() bool {
		if err := cons.CommitUncommittedOffsets(ctx); err != nil {
			return false
		}
		lags, err := adm.Lag(ctx, "g")
		if err != nil {
			return false
		}
		l := lags["g"]
		return l.Error() == nil && l.Lag.Total() == 0 && len(l.Lag.Sorted()) == int(partitions)
	})
	phase("offsets committed")
	c.restart(old)
	c.waitFullISR(topic, partitions)
	phase("restarted")

	// Transactions: commit one, kill -9 the coordinator's broker, commit another.
	// Each transaction writes to every partition, so that most of its markers go to partitions
	// that other brokers lead.
	txn := c.client(kgo.DefaultProduceTopic(topic), kgo.TransactionalID("tx"), kgo.MetadataMinAge(50*time.Millisecond),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }))
	commitOne := func(v string) {
		t.Helper()
		if err := txn.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		var rs []*kgo.Record
		for p := range partitions {
			rs = append(rs, &kgo.Record{Partition: p, Value: []byte(fmt.Sprintf("%s/%d", v, p))})
		}
		if err := txn.ProduceSync(ctx, rs...).FirstErr(); err != nil {
			t.Fatalf("transactional produce: %v", err)
		}
		if err := txn.EndTransaction(ctx, kgo.TryCommit); err != nil {
			t.Fatalf("commit: %v", err)
		}
	}
	commitOne("tx-1")
	phase("first transaction")
	m = c.metadata()
	for p := range int32(3) {
		if tp := partition(m, "__transaction_state", p); tp == nil || len(tp.Replicas) != 3 {
			t.Fatalf("__transaction_state partition %d: %+v, want 3 replicas", p, tp)
		}
	}
	oldTxn := coordinator("tx", true)
	c.kill(oldTxn)
	phase(fmt.Sprintf("killed transaction coordinator %d", oldTxn))
	clustertest.WaitFor(t, 30*time.Second, "the transaction coordinator to move", func() bool {
		resp := adm.FindTxnCoordinators(ctx, "tx")
		return resp["tx"].Err == nil && resp["tx"].NodeID != oldTxn
	})
	phase("transaction coordinator moved")
	commitOne("tx-2")
	phase("second transaction")
	// EndTransaction returns once PrepareCommit is written; the markers follow.
	var last kadm.DescribedTransaction
	clustertest.WaitFor(t, 30*time.Second, "the second transaction complete", func() bool {
		described, err := adm.DescribeTransactions(ctx, "tx")
		if err != nil {
			return false
		}
		last = described["tx"]
		return last.Err == nil && last.Coordinator != oldTxn && slices.Contains([]string{"Empty", "CompleteCommit"}, last.State)
	})
	t.Logf("transaction coordinator %d -> %d: %+v", oldTxn, last.Coordinator, last)
	// Both transactions' records are there for a read_committed consumer. (readAll would wait
	// for the commit markers, which consumers never see.)
	rc := c.client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	found := map[string]bool{}
	for len(found) < 2*int(partitions) {
		fs := rc.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("committed transactional records read back: %v", found)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if v := string(r.Value); strings.HasPrefix(v, "tx-") {
				if found[v] {
					t.Errorf("%s read twice", v)
				}
				found[v] = true
			}
		})
	}
}
