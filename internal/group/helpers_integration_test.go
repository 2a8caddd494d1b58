package group_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// fastGroups are node settings that make rebalances quick in tests.
var fastGroups = []string{
	"group.initial.rebalance.delay.ms", "0",
	"group.min.session.timeout.ms", "100",
	"offsets.topic.num.partitions", "4",
	// KIP-848 consumer groups: a member that stops heartbeating is gone within a second.
	"group.consumer.session.timeout.ms", "1000",
	"group.consumer.min.session.timeout.ms", "500",
	"group.consumer.heartbeat.interval.ms", "100",
	"group.consumer.min.heartbeat.interval.ms", "50",
}

func startNode(t *testing.T, extra ...string) *clustertest.Node {
	t.Helper()
	return clustertest.StartNode(t, append(append([]string{}, fastGroups...), extra...)...)
}

func newClient(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func admin(t *testing.T, addr string) *kadm.Client {
	t.Helper()
	cl := newClient(t, addr)
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func createTopic(t *testing.T, addr, topic string, partitions int32) {
	t.Helper()
	r, err := admin(t, addr).CreateTopic(ctxT(t, 30*time.Second), partitions, 1, nil, topic)
	if err != nil || r.Err != nil {
		t.Fatalf("create %s: %v %v", topic, err, r.Err)
	}
}

// produce writes n records to each partition of topic, values "p-i".
func produce(t *testing.T, addr, topic string, partitions int32, n int) {
	t.Helper()
	cl := newClient(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	defer cl.Close()
	var recs []*kgo.Record
	for p := int32(0); p < partitions; p++ {
		for i := 0; i < n; i++ {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: fmt.Appendf(nil, "%d-%d", p, i)})
		}
	}
	if err := cl.ProduceSync(ctxT(t, 30*time.Second), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	backoff := 5 * time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(backoff)
		backoff = min(backoff*2, 100*time.Millisecond)
	}
}
