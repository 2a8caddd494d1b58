package acceptance

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ledger is what a producer sent and what the cluster acknowledged, per partition.
type ledger struct {
	mu    sync.Mutex
	sent  map[string]bool            // every value handed to the client
	acked map[int32]map[string]int64 // partition -> value -> acknowledged offset
	errs  []error                    // records the client failed
}

func newLedger() *ledger {
	return &ledger{sent: map[string]bool{}, acked: map[int32]map[string]int64{}}
}

func (l *ledger) send(v string) {
	l.mu.Lock()
	l.sent[v] = true
	l.mu.Unlock()
}

func (l *ledger) done(r *kgo.Record, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.errs = append(l.errs, err)
		return
	}
	if l.acked[r.Partition] == nil {
		l.acked[r.Partition] = map[string]int64{}
	}
	l.acked[r.Partition][string(r.Value)] = r.Offset
}

func (l *ledger) ackedIn(p int32) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked[p])
}

func (l *ledger) failures() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

// producer writes "partition:seq" values round robin over a topic's partitions until it is
// stopped; seq grows by one per record of a partition, so a partition's log must hold them in
// increasing order.
type producer struct {
	cl     *kgo.Client
	l      *ledger
	cancel context.CancelFunc
	done   chan struct{}
}

// allPartitions is 0..n-1.
func allPartitions(n int32) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(i)
	}
	return out
}

func startProducer(t *testing.T, c *cluster, topic string, partitions []int32, opts ...kgo.Opt) *producer {
	ctx, cancel := context.WithCancel(context.Background())
	p := &producer{cl: c.client(append(producerOpts(), opts...)...), l: newLedger(), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		seq := map[int32]int{}
		// A steady rate, not as fast as the client goes: enough records to cross every
		// failover, few enough to read back in seconds.
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ctx.Err() == nil; i++ {
			if i%len(partitions) == 0 {
				select {
				case <-tick.C:
				case <-ctx.Done():
					return
				}
			}
			part := partitions[i%len(partitions)]
			v := fmt.Sprintf("%d:%d", part, seq[part])
			seq[part]++
			p.l.send(v)
			// Not ctx: a record handed over is either acknowledged or fails on its own.
			p.cl.Produce(context.Background(), &kgo.Record{Topic: topic, Partition: part, Value: []byte(v)}, p.l.done)
		}
	}()
	t.Cleanup(p.stop)
	return p
}

// stop ends the producing loop and waits, at most 30 s, for every record handed over to be
// done. A loop still blocked in Produce then (a full buffer that a stuck cluster does not
// drain) is freed by closing the client, which fails the buffered records: a failing test
// fails, it does not hang.
func (p *producer) stop() {
	p.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	select {
	case <-p.done:
		p.cl.Flush(ctx)
	case <-ctx.Done():
		p.cl.Close()
		<-p.done
	}
}

// waitProgress waits until partition p has n more acknowledged records than it has now.
func waitProgress(t *testing.T, l *ledger, p int32, n int) {
	t.Helper()
	from := l.ackedIn(p)
	deadline := time.Now().Add(30 * time.Second)
	for l.ackedIn(p) < from+n {
		if time.Now().After(deadline) {
			l.mu.Lock()
			counts := map[int32]int{}
			for q, vs := range l.acked {
				counts[q] = len(vs)
			}
			errs := l.errs[:min(len(l.errs), 5)]
			l.mu.Unlock()
			t.Fatalf("timed out waiting for %d more acks on partition %d: acked per partition %v, failures %v", n, p, counts, errs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// verify reads topic back and checks it against l: every acknowledged record exactly once, at
// its acknowledged offset; no record that was never sent; each partition's values in the
// order they were produced.
func verify(t *testing.T, c *cluster, topic string, partitions int32, l *ledger) {
	t.Helper()
	got := c.readAll(topic, partitions)
	l.mu.Lock()
	defer l.mu.Unlock()
	var acked, read, lost, dup, phantom, moved, disorder int
	for p := range partitions {
		seen := map[string]int{}
		last := -1
		for _, r := range got[p] {
			v := string(r.Value)
			read++
			seen[v]++
			if seen[v] > 1 {
				dup++
				continue
			}
			if !l.sent[v] {
				phantom++
				t.Errorf("partition %d offset %d: %q was never sent", p, r.Offset, v)
				continue
			}
			if off, ok := l.acked[p][v]; ok && off != r.Offset {
				moved++
				t.Errorf("partition %d: %q acknowledged at offset %d, read at %d", p, v, off, r.Offset)
			}
			pp, s, _ := strings.Cut(v, ":")
			seq, _ := strconv.Atoi(s)
			if pp != strconv.Itoa(int(p)) || seq <= last {
				disorder++
				t.Errorf("partition %d offset %d: %q after seq %d", p, r.Offset, v, last)
			}
			last = seq
		}
		for v := range l.acked[p] {
			acked++
			if seen[v] == 0 {
				lost++
			}
		}
	}
	t.Logf("acked %d, read %d, lost %d, duplicated %d, never sent %d, moved %d, out of order %d, failed sends %d",
		acked, read, lost, dup, phantom, moved, disorder, len(l.errs))
	if lost > 0 || dup > 0 {
		t.Errorf("lost %d, duplicated %d acknowledged records", lost, dup)
	}
	if acked == 0 {
		t.Error("nothing was acknowledged")
	}
}

// producerOpts make an idempotent acks=all producer that notices leader changes quickly.
func producerOpts() []kgo.Opt {
	opts := []kgo.Opt{
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.MetadataMinAge(50 * time.Millisecond),
		kgo.MaxBufferedRecords(500),
		kgo.ProducerLinger(2 * time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }),
	}
	return opts
}

func TestNoAcknowledgedRecordLost(t *testing.T) {
	const topic, partitions = "acc", int32(6)
	c := startCluster(t, 3)
	minISR := "2"
	c.createTopic(topic, partitions, 3, map[string]*string{"min.insync.replicas": &minISR})

	prod := startProducer(t, c, topic, allPartitions(partitions))
	l := prod.l
	for p := range partitions {
		waitProgress(t, l, p, 20)
	}

	// Ten times: kill -9 the leader of a partition, wait for another leader and for writes to
	// go on, restart it and wait until it is back in every ISR. Once, the victim is the active
	// controller instead.
	for i := range 11 {
		p := int32(i) % partitions
		var victim int32
		if i == 5 {
			victim = c.controller()
		} else {
			victim = c.waitPartition(topic, p, "a leader", func(tp *kmsg.MetadataResponseTopicPartition) bool {
				return tp.Leader > 0
			}).Leader
		}
		t.Logf("round %d: kill -9 node %d (leader of partition %d? %v)", i, victim, p, i != 5)
		c.kill(victim)
		c.waitPartition(topic, p, "a new leader", func(tp *kmsg.MetadataResponseTopicPartition) bool {
			return tp.Leader > 0 && tp.Leader != victim
		})
		waitProgress(t, l, p, 20)
		c.restart(victim)
		c.waitFullISR(topic, partitions)
		waitProgress(t, l, p, 20)
	}
	prod.stop()
	for _, err := range l.failures() {
		t.Errorf("a record failed: %v", err)
	}
	verify(t, c, topic, partitions, l)
}
