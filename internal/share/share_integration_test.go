package share_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// shareNode starts a node set up for share-group tests: short locks, fast heartbeats, and
// share-partitions that start at the log start.
func shareNode(t *testing.T, extra ...string) *clustertest.Node {
	return clustertest.StartNode(t, append([]string{
		"offsets.topic.num.partitions", "1",
		"group.share.auto.offset.reset", "earliest",
		"group.share.record.lock.duration.ms", "2000",
		"group.share.heartbeat.interval.ms", "1000",
		"group.share.delivery.count.limit", "3",
	}, extra...)...)
}

func client(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func shareConsumer(t *testing.T, addr, group, topic string, opts ...kgo.Opt) *kgo.Client {
	return client(t, addr, append([]kgo.Opt{kgo.ShareGroup(group), kgo.ConsumeTopics(topic),
		kgo.ShareMaxRecords(5), kgo.FetchMaxWait(300 * time.Millisecond)}, opts...)...)
}

func createTopic(t *testing.T, addr, topic string, partitions int32) {
	t.Helper()
	adm := kadm.NewClient(client(t, addr))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if r, err := adm.CreateTopic(ctx, partitions, 1, nil, topic); err != nil || r.Err != nil {
		t.Fatalf("create %s: %v %v", topic, err, r.Err)
	}
}

func produce(t *testing.T, cl *kgo.Client, topic string, from, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rs []*kgo.Record
	for i := from; i < from+n; i++ {
		rs = append(rs, &kgo.Record{Topic: topic, Key: []byte(strconv.Itoa(i)), Value: []byte(strconv.Itoa(i))})
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// deliveries counts, per record value, how many times share consumers received it, and
// which consumers received anything.
type deliveries struct {
	mu    sync.Mutex
	count map[string]int
	by    map[int]int
}

func (d *deliveries) add(consumer int, r *kgo.Record) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.count[string(r.Value)]++
	d.by[consumer]++
}

func (d *deliveries) snapshot() (distinct, total, consumers int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range d.count {
		total += n
	}
	return len(d.count), total, len(d.by)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// poll runs a share consumer until ctx ends, acknowledging every record with ACCEPT.
func poll(ctx context.Context, wg *sync.WaitGroup, id int, cl *kgo.Client, d *deliveries) {
	defer wg.Done()
	for ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) { d.add(id, r) })
		cl.MarkAcks(kgo.AckAccept, fs.Records()...)
	}
}

// Six share consumers on two partitions: every member gets records, every record is
// processed, and none is delivered twice when all are accepted.
func TestShareGroupSixConsumersTwoPartitions(t *testing.T) {
	n := shareNode(t)
	createTopic(t, n.Addr(), "work", 2)
	prod := client(t, n.Addr(), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	d := &deliveries{count: map[string]int{}, by: map[int]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		cl := shareConsumer(t, n.Addr(), "g1", "work")
		wg.Add(1)
		go poll(ctx, &wg, i, cl, d)
	}
	defer func() { cancel(); wg.Wait() }()
	produced := 0
	waitFor(t, "all six consumers to receive records", 30*time.Second, func() bool {
		produce(t, prod, "work", produced, 20)
		produced += 20
		_, _, consumers := d.snapshot()
		return consumers == 6
	})
	waitFor(t, "every record to be processed", 30*time.Second, func() bool {
		distinct, _, _ := d.snapshot()
		return distinct == produced
	})
	// Everything was accepted: nothing comes back once the locks would have expired.
	distinct, total, _ := d.snapshot()
	if total != distinct {
		d.mu.Lock()
		for v, c := range d.count {
			if c > 1 {
				t.Errorf("record %s delivered %d times", v, c)
			}
		}
		d.mu.Unlock()
	}
	t.Logf("%d records, %d deliveries", distinct, total)
	desc, err := kadm.NewClient(client(t, n.Addr())).ListGroups(context.Background())
	if err != nil || desc["g1"].ProtocolType != "share" {
		t.Fatalf("ListGroups: %v %+v", err, desc)
	}
}
