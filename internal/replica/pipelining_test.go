package replica_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/records"
)

// An acks=all Produce waiting for a stalled in-sync follower does not hold up the next
// Produce of the same connection: it is read and appended meanwhile (a producer keeps up to
// 5 requests in flight). Once the follower is back, both are acknowledged.
func TestPipelinedProduceAppendsWhileEarlierWaitsForISR(t *testing.T) {
	c := newCluster(t, time.Minute, nil, rf3(1, 1), 1, 2, 3)
	leader := c.broker(1)
	all := client(t, leader, -1)
	produceOK(t, all, 1)
	lp := leader.partition(t)
	waitFor(t, "the followers to catch up", func() bool {
		return c.broker(3).partition(t).LogEndOffset() == 1 && lp.HighWatermark() == 1
	})

	// Broker 3 stops but stays in the ISR (replica.lag.time.max.ms is a minute): acks=all
	// writes wait.
	fs3 := c.stop(3)
	type result struct {
		sp  kmsg.ProduceResponseTopicPartition
		err error
	}
	// send issues one Produce of one record on the client's connection to the leader.
	send := func(out chan<- result) {
		req := kmsg.NewPtrProduceRequest()
		req.Acks, req.TimeoutMillis = -1, 20_000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = records.BuildSimple(0, time.Now().UnixMilli(), records.Record{Key: []byte("k"), Value: []byte("v")})
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			resp, err := all.SeedBrokers()[0].Request(ctx, req)
			if err != nil {
				out <- result{err: err}
				return
			}
			out <- result{sp: resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0]}
		}()
	}
	first, second := make(chan result, 1), make(chan result, 1)
	send(first)
	waitFor(t, "the first write to be appended", func() bool { return lp.LogEndOffset() == 2 })
	send(second)
	// The second request is on the same connection, behind the first, which still waits.
	waitFor(t, "the second write to be appended while the first waits", func() bool { return lp.LogEndOffset() == 3 })
	select {
	case r := <-first:
		t.Fatalf("the first write was answered (%v, %v) with an in-sync follower stopped", r.err, kerr.ErrorForCode(r.sp.ErrorCode))
	default:
	}

	c.start(3, fs3)
	c.publish(func(*metadata.Partition) {})
	a, b := <-first, <-second
	for i, r := range []result{a, b} {
		if r.err == nil {
			r.err = kerr.ErrorForCode(r.sp.ErrorCode)
		}
		if r.err != nil {
			t.Fatalf("write %d: %v", i+1, r.err)
		}
	}
	if a.sp.BaseOffset != 1 || b.sp.BaseOffset != 2 {
		t.Fatalf("base offsets %d, %d; want 1, 2", a.sp.BaseOffset, b.sp.BaseOffset)
	}
}
