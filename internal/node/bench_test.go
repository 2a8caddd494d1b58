package node_test

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// BenchmarkProduce1KiB measures produce throughput of 1 KiB records with acks=all through
// franz-go to an in-process node over loopback (MB/s is record value bytes).
func BenchmarkProduce1KiB(b *testing.B) {
	n := clustertest.StartNode(b)
	createTopicB(b, n.Addr(), "bench")
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()), kgo.DefaultProduceTopic("bench"), kgo.ProducerLinger(0))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	value := make([]byte, 1024)
	ctx := context.Background()
	b.SetBytes(int64(len(value)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cl.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				b.Error(err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkConsume1KiB measures fetch throughput of 1 KiB records through franz-go from an
// in-process node over loopback (the records are produced before the timer starts).
func BenchmarkConsume1KiB(b *testing.B) {
	n := clustertest.StartNode(b)
	createTopicB(b, n.Addr(), "bench")
	prod, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()), kgo.DefaultProduceTopic("bench"))
	if err != nil {
		b.Fatal(err)
	}
	value := make([]byte, 1024)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		prod.Produce(ctx, &kgo.Record{Value: value}, nil)
	}
	if err := prod.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	prod.Close()

	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()), kgo.ConsumeTopics("bench"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	b.SetBytes(int64(len(value)))
	b.ResetTimer()
	for got := 0; got < b.N; {
		fs := cl.PollFetches(ctx)
		fs.EachError(func(_ string, _ int32, err error) { b.Fatal(err) })
		got += fs.NumRecords()
	}
}

func createTopicB(b *testing.B, addr, topic string) {
	b.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	if r, err := kadm.NewClient(cl).CreateTopic(context.Background(), 1, 1, nil, topic); err != nil || r.Err != nil {
		b.Fatalf("create %s: %v %v", topic, err, r.Err)
	}
}
