package node_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// BenchmarkProduce1KiB measures produce throughput of 1 KiB records with acks=all through
// franz-go to an in-process node over loopback (MB/s is record value bytes).
func BenchmarkProduce1KiB(b *testing.B) {
	n := clustertest.StartNode(b)
	createTopicB(b, n.Addr(), "bench", 1)
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
// in-process node over loopback, as bench/run.sh's consume row: six partitions of
// uncompressed records of random letters (Kafka's perf payload), produced before the timer
// starts. MB/s is record value bytes; the broker's part is the fetch read path and sendfile.
func BenchmarkConsume1KiB(b *testing.B) {
	n := clustertest.StartNode(b)
	createTopicB(b, n.Addr(), "bench", 6)
	prod, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()), kgo.DefaultProduceTopic("bench"),
		kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	if err != nil {
		b.Fatal(err)
	}
	value := randomLetters(1024)
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

// BenchmarkEndToEndLatency is Kafka's EndToEndLatency: one 1 KiB record at a time is
// produced with acks=all and no linger, and the next is sent once a consumer, long-polling
// the partition, has it. ns/op is the average trip (produce, append, the waiting fetch's
// wake-up, the response); p50-us and p99-us are its percentiles. With nothing else
// running it is a few hundred microseconds: a trip near a timer's period (the fetch's max
// wait, a linger) would show a wake-up that waits for a timer.
func BenchmarkEndToEndLatency(b *testing.B) {
	n := clustertest.StartNode(b)
	createTopicB(b, n.Addr(), "lat", 1)
	prod, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()), kgo.DefaultProduceTopic("lat"),
		kgo.ProducerLinger(0), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		b.Fatal(err)
	}
	defer prod.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()), kgo.ConsumeTopics("lat"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(5*time.Second))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	value := randomLetters(1024)
	trips := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		prod.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				b.Error(err)
			}
		})
		for got := 0; got == 0; {
			fs := cl.PollFetches(ctx)
			fs.EachError(func(_ string, _ int32, err error) { b.Fatal(err) })
			got = fs.NumRecords()
		}
		trips = append(trips, time.Since(start))
	}
	b.StopTimer()
	// The consumer can have a record before its producer has the acknowledgement.
	if err := prod.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	slices.Sort(trips)
	b.ReportMetric(float64(trips[len(trips)/2].Microseconds()), "p50-us")
	b.ReportMetric(float64(trips[len(trips)*99/100].Microseconds()), "p99-us")
}

// randomLetters is n random uppercase letters, the payload of Kafka's perf tools.
func randomLetters(n int) []byte {
	v := make([]byte, n)
	for i := range v {
		v[i] = byte('A' + rand.IntN(26))
	}
	return v
}

func createTopicB(b *testing.B, addr, topic string, partitions int32) {
	b.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	if r, err := kadm.NewClient(cl).CreateTopic(context.Background(), partitions, 1, nil, topic); err != nil || r.Err != nil {
		b.Fatalf("create %s: %v %v", topic, err, r.Err)
	}
}
