package node_test

import (
	"context"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// throttleWatch notes, for every response that carried a throttle time, when it came and
// how many bytes the broker had acknowledged by then. With one small request in flight, the
// acknowledged count trails what the broker has received by at most one batch, so the
// difference between two points is what the broker received in between.
type throttleWatch struct {
	acked *atomic.Int64

	mu    sync.Mutex
	at    []time.Time // guarded by mu
	bytes []int64     // guarded by mu
}

func (w *throttleWatch) OnBrokerThrottle(_ kgo.BrokerMetadata, d time.Duration, _ bool) {
	if d <= 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.at = append(w.at, time.Now())
	w.bytes = append(w.bytes, w.acked.Load())
}

// since returns the bytes acknowledged and the time passed from the first throttled
// response to the last; ok is false before two.
func (w *throttleWatch) since() (bytes int64, elapsed time.Duration, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.at) < 2 {
		return 0, 0, false
	}
	last := len(w.at) - 1
	return w.bytes[last] - w.bytes[0], w.at[last].Sub(w.at[0]), true
}

// TestProduceQuota limits a client id to 512 KiB/s and checks that the bytes the broker
// accepts from it come in at that rate within 20%, from the first throttled response on.
//
// Kafka's rate counts a new client's bytes over at least quota.window.num-1 whole samples,
// so a new client first sends that many samples' worth at once (which the measurement leaves
// out); with the default 11 samples it is then held back until the 10 s have passed. The rate
// window here is 2 samples of 1 s so that a run of a few seconds is past that.
func TestProduceQuota(t *testing.T) {
	const quota = 512 << 10
	n := clustertest.StartNode(t, "quota.window.num", "2", "quota.window.size.seconds", "1")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	admin, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	adm := kadm.NewClient(admin)
	if _, err := adm.CreateTopics(ctx, 1, 1, nil, "quota"); err != nil {
		t.Fatal(err)
	}
	client := "limited"
	res, err := adm.AlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{{
		Entity: kadm.ClientQuotaEntity{{Type: "client-id", Name: &client}},
		Ops:    []kadm.AlterClientQuotaOp{{Key: "producer_byte_rate", Value: quota}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	described, err := adm.DescribeClientQuotas(ctx, false, []kadm.DescribeClientQuotaComponent{{Type: "client-id", MatchType: 0, MatchName: &client}})
	if err != nil || len(described) != 1 || described[0].Values[0].Value != quota {
		t.Fatalf("describing the quota: %v %+v", err, described)
	}

	var acked atomic.Int64
	throttles := &throttleWatch{acked: &acked}
	p, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()), kgo.ClientID(client), kgo.WithHooks(throttles),
		kgo.ProducerBatchMaxBytes(16<<10), kgo.MaxProduceRequestsInflightPerBroker(1), kgo.ProducerLinger(0), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// Warm up (metadata, producer id) before the clock starts.
	if err := p.ProduceSync(ctx, &kgo.Record{Topic: "quota", Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	// Random values: the quota counts the bytes the broker receives, so they must not
	// compress away.
	value := make([]byte, 1024)
	rand.Read(value)
	const measured = 3 * quota // three seconds at the quota, after the first throttle
	var firstErr atomic.Value
	done := make(chan struct{})
	var once sync.Once
	go func() {
		// Produce blocks while the client's buffer is full, which paces this loop.
		for {
			select {
			case <-done:
				return
			default:
			}
			p.Produce(ctx, &kgo.Record{Topic: "quota", Value: value}, func(r *kgo.Record, err error) {
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					once.Do(func() { close(done) })
					return
				}
				acked.Add(int64(len(r.Value)))
				if n, _, ok := throttles.since(); ok && n >= measured {
					once.Do(func() { close(done) })
				}
			})
		}
	}()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("the producer never finished")
	}
	if err, _ := firstErr.Load().(error); err != nil {
		t.Fatal(err)
	}
	bytes, elapsed, _ := throttles.since()
	got := float64(bytes) / elapsed.Seconds()
	t.Logf("%d bytes in %v between throttled responses: %.0f bytes/s (quota %d)", bytes, elapsed, got, quota)
	if got < 0.8*quota || got > 1.2*quota {
		t.Fatalf("rate %.0f bytes/s, want %d ±20%%", got, quota)
	}
}
