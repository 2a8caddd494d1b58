package node_test

import (
	"context"
	"crypto/rand"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/cli/topic"
	"github.com/gregorhq/gregor/internal/clustertest"
)

// TestReassignThrottled moves a partition of about 4 MB to a new broker with a replication
// throttle of 1 MiB/s (set as kafka-reassign-partitions --throttle sets it): the copy
// cannot go faster than the throttle allows. The bucket holds one second of the rate and a
// fetch takes at most replica.fetch.max.bytes (1 MiB) beyond it, so the bytes beyond
// those 2 MiB need at least their size / rate; the bound is asserted with a margin, and
// nothing bounds how long the test may take.
func TestReassignThrottled(t *testing.T) {
	c := clustertest.StartCluster(t, 2)
	ctx := context.Background()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.DefaultProduceTopic("slow"),
		kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.ProducerBatchMaxBytes(1<<20),
		kgo.MetadataMinAge(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	createAssigned(t, cl, "slow", 1)
	c.WaitConverged()

	for range 400 {
		v := make([]byte, 10<<10)
		rand.Read(v)
		cl.Produce(ctx, &kgo.Record{Value: v}, nil)
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	dirs, err := adm.DescribeAllLogDirs(ctx, kadm.TopicsSet{"slow": {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	for _, ds := range dirs {
		size += ds.Size()
	}
	if size < 4_000_000 {
		t.Fatalf("partition size %d, want at least 4 MB", size)
	}

	const rate = 1 << 20
	start := time.Now()
	if err := topic.ReassignExecute(ctx, cl, []topic.Reassignment{{Topic: "slow", Partition: 0, Replicas: []int32{1, 2}}}, rate, io.Discard); err != nil {
		t.Fatal(err)
	}
	clustertest.WaitFor(t, 60*time.Second, "the throttled reassignment to complete", func() bool {
		m, err := adm.Metadata(ctx, "slow")
		p := m.Topics["slow"].Partitions[0]
		return err == nil && slices.Equal(p.Replicas, []int32{1, 2}) && slices.Equal(p.ISR, []int32{1, 2})
	})
	elapsed := time.Since(start)
	const burst = 2 << 20
	min := time.Duration(float64(size-burst) / rate * 0.8 * float64(time.Second))
	t.Logf("moved %d bytes in %v: %.0f B/s (throttle %d B/s)", size, elapsed, float64(size)/elapsed.Seconds(), rate)
	if elapsed < min {
		t.Fatalf("moved %d bytes in %v, faster than the throttle of %d B/s allows (at least %v)", size, elapsed, rate, min)
	}
}
