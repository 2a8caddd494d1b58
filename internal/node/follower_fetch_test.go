package node_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// batchReads counts, per broker, the record batches a client read (kgo.HookFetchBatchRead).
type batchReads struct {
	mu     sync.Mutex
	byNode map[int32]int
}

func (b *batchReads) OnFetchBatchRead(meta kgo.BrokerMetadata, _ string, _ int32, m kgo.FetchBatchMetrics) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.byNode[meta.NodeID] += m.NumRecords
}

func (b *batchReads) get() map[int32]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[int32]int{}
	for k, v := range b.byNode {
		out[k] = v
	}
	return out
}

// TestFetchFromFollowerInRack checks KIP-392: with the rack-aware replica selector, a
// consumer with client.rack r2 is sent by the leader (broker 1, rack r1) to the in-sync
// replica in r2 (broker 2) and reads every record from it; the leader serves none.
func TestFetchFromFollowerInRack(t *testing.T) {
	sel := "org.apache.kafka.common.replica.RackAwareReplicaSelector"
	c := clustertest.StartCluster(t, 3,
		clustertest.Overrides("replica.selector.class", sel),
		clustertest.NodeOverrides(0, "broker.rack", "r1"),
		clustertest.NodeOverrides(1, "broker.rack", "r2"),
		clustertest.NodeOverrides(2, "broker.rack", "r3"))
	ctx := context.Background()
	addrs := c.Addrs()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic("racked"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	createAssigned(t, cl, "racked", 1, 2, 3)
	c.WaitConverged()

	const n = 500
	for i := range n {
		cl.Produce(ctx, &kgo.Record{Value: []byte(strconv.Itoa(i))}, nil)
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Broker 2 may not know the high watermark yet: it then answers with no records until
	// its next fetch from the leader tells it.
	reads := &batchReads{byNode: map[int32]int{}}
	cons, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics("racked"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.Rack("r2"), kgo.WithHooks(reads))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	got := 0
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for got < n && rctx.Err() == nil {
		got += cons.PollFetches(rctx).NumRecords()
	}
	if got != n {
		t.Fatalf("consumed %d of %d records", got, n)
	}
	by := reads.get()
	if by[2] != n || by[1] != 0 || by[3] != 0 {
		t.Fatalf("records read per broker %v; want all %d from broker 2", by, n)
	}
}
