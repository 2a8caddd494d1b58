package share_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

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

// A consumer that stops polling while it holds records loses them to the others once the
// lock expires, with a higher delivery count; a record that is always released ends in the
// dead-letter topic at the delivery limit, and a rejected one at once, with the headers.
func TestShareGroupRedeliveryAndDeadLetters(t *testing.T) {
	n := shareNode(t, "group.share.dead.letter.topic", "redo.dlq")
	createTopic(t, n.Addr(), "redo", 1)
	prod := client(t, n.Addr())
	produce(t, prod, "redo", 0, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := prod.ProduceSync(ctx,
		&kgo.Record{Topic: "redo", Value: []byte("poison")},
		&kgo.Record{Topic: "redo", Value: []byte("bad")}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	// A takes some records and stalls without acknowledging them.
	a := shareConsumer(t, n.Addr(), "g2", "redo")
	held := map[string]bool{}
	for len(held) == 0 {
		fs := a.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("A got nothing")
		}
		fs.EachRecord(func(r *kgo.Record) { held[string(r.Value)] = true })
	}

	b := shareConsumer(t, n.Addr(), "g2", "redo")
	accepted := map[string]int32{} // value -> delivery count when accepted
	var poisonCounts []int32
	waitFor(t, "B to process everything A held", 30*time.Second, func() bool {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		fs := b.PollFetches(pctx)
		pcancel()
		for _, r := range fs.Records() {
			switch string(r.Value) {
			case "poison":
				poisonCounts = append(poisonCounts, r.DeliveryCount())
				b.MarkAcks(kgo.AckRelease, r)
			case "bad":
				b.MarkAcks(kgo.AckReject, r)
			default:
				accepted[string(r.Value)] = r.DeliveryCount()
				b.MarkAcks(kgo.AckAccept, r)
			}
		}
		for v := range held {
			if _, ok := accepted[v]; !ok && v != "poison" && v != "bad" {
				return false
			}
		}
		return len(accepted) == 10
	})
	for v := range held {
		if c, ok := accepted[v]; ok && c < 2 {
			t.Errorf("record %s held by A redelivered with delivery count %d, want >= 2", v, c)
		}
	}

	// The dead-letter topic gets "bad" (rejected) and "poison" (delivery limit).
	dlq := client(t, n.Addr(), kgo.ConsumeTopics("redo.dlq"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := map[string]map[string]string{}
	waitFor(t, "two dead letters", 30*time.Second, func() bool {
		if !held["poison"] {
			// keep B draining so the poison record reaches its limit
			pctx, pcancel := context.WithTimeout(ctx, 300*time.Millisecond)
			fs := b.PollFetches(pctx)
			pcancel()
			for _, r := range fs.Records() {
				if string(r.Value) == "poison" {
					poisonCounts = append(poisonCounts, r.DeliveryCount())
				}
				b.MarkAcks(kgo.AckRelease, r)
			}
		}
		pctx, pcancel := context.WithTimeout(ctx, 300*time.Millisecond)
		fs := dlq.PollFetches(pctx)
		pcancel()
		fs.EachRecord(func(r *kgo.Record) {
			h := map[string]string{}
			for _, kv := range r.Headers {
				h[kv.Key] = string(kv.Value)
			}
			got[string(r.Value)] = h
		})
		return len(got) == 2
	})
	if h := got["bad"]; h["gregor.dlq.reason"] != "rejected" || h["gregor.dlq.topic"] != "redo" || h["gregor.dlq.partition"] != "0" ||
		h["gregor.dlq.offset"] != "11" || h["gregor.dlq.group"] != "g2" || h["gregor.dlq.delivery.count"] == "" {
		t.Errorf("rejected record headers: %v", h)
	}
	if h := got["poison"]; h["gregor.dlq.reason"] != "delivery-limit" || h["gregor.dlq.offset"] != "10" || h["gregor.dlq.delivery.count"] != "3" {
		t.Errorf("poison record headers: %v", h)
	}
	t.Logf("poison delivery counts seen by B: %v; A held %d records", poisonCounts, len(held))
}

// A restart in the middle: records acknowledged before it are not delivered again, and
// records acquired but not acknowledged are delivered after it.
func TestShareGroupStateSurvivesRestart(t *testing.T) {
	n := shareNode(t)
	createTopic(t, n.Addr(), "durable", 1)
	prod := client(t, n.Addr())
	produce(t, prod, "durable", 0, 30)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	c1, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()), kgo.ShareGroup("g3"), kgo.ConsumeTopics("durable"),
		kgo.ShareMaxRecords(5), kgo.FetchMaxWait(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	accepted := map[string]bool{}
	for len(accepted) < 10 {
		fs := c1.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("no records")
		}
		for _, r := range fs.Records() {
			accepted[string(r.Value)] = true
		}
		c1.MarkAcks(kgo.AckAccept, fs.Records()...)
	}
	if err := c1.FlushAcks(ctx); err != nil {
		t.Fatal(err)
	}
	// Acquire some more and hold them, unacknowledged, across the restart.
	held := map[string]bool{}
	for len(held) == 0 {
		for _, r := range c1.PollFetches(ctx).Records() {
			if !accepted[string(r.Value)] {
				held[string(r.Value)] = true
			}
		}
	}

	n.Restart()
	c1.Close() // its session and its locks died with the broker

	c2 := shareConsumer(t, n.Addr(), "g3", "durable")
	got := map[string]int{}
	waitFor(t, "every record not acknowledged before the restart", 30*time.Second, func() bool {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		fs := c2.PollFetches(pctx)
		pcancel()
		for _, r := range fs.Records() {
			got[string(r.Value)]++
		}
		c2.MarkAcks(kgo.AckAccept, fs.Records()...)
		for i := 0; i < 30; i++ {
			if v := strconv.Itoa(i); !accepted[v] && got[v] == 0 {
				return false
			}
		}
		return true
	})
	for v := range accepted {
		if got[v] > 0 {
			t.Errorf("record %s acknowledged before the restart was delivered again", v)
		}
	}
	for v := range held {
		if got[v] == 0 {
			t.Errorf("record %s held across the restart was lost", v)
		}
	}
	t.Logf("accepted %d before the restart, held %d, delivered %d after", len(accepted), len(held), len(got))
}

// ShareGroupDescribe shows the members and their shared partitions; a ShareFetch from a
// member the group does not know is UNKNOWN_MEMBER_ID; DescribeGroups answers Dead.
func TestShareGroupDescribeAndUnknownMember(t *testing.T) {
	n := shareNode(t)
	createTopic(t, n.Addr(), "d", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 2 {
		cl := shareConsumer(t, n.Addr(), "g4", "d")
		pctx, pcancel := context.WithTimeout(ctx, 100*time.Millisecond)
		cl.PollFetches(pctx) // starts the client's group management
		pcancel()
	}
	adm := kadm.NewClient(client(t, n.Addr()))
	waitFor(t, "two members sharing partition 0", 20*time.Second, func() bool {
		d, err := adm.DescribeShareGroups(ctx, "g4")
		if err != nil || d["g4"].Err != nil || len(d["g4"].Members) != 2 {
			return false
		}
		for _, m := range d["g4"].Members {
			if ps := m.Assignment["d"]; len(ps) != 1 {
				return false
			}
		}
		return d["g4"].GroupState == "Stable" && d["g4"].Assignor == "simple"
	})

	req := kmsg.NewPtrShareFetchRequest()
	group, member := "g4", "nobody"
	req.GroupID, req.MemberID, req.MaxWaitMillis = &group, &member, 10
	topics, err := adm.ListTopics(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	rt := kmsg.NewShareFetchRequestTopic()
	rt.TopicID = topics["d"].ID
	rt.Partitions = []kmsg.ShareFetchRequestTopicPartition{{Partition: 0}}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, client(t, n.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorCode != kerr.UnknownMemberID.Code {
		t.Fatalf("ShareFetch from a stranger: error %d, want UNKNOWN_MEMBER_ID", resp.ErrorCode)
	}
	dg, err := adm.DescribeGroups(ctx, "g4")
	if err != nil || dg["g4"].State != "Dead" {
		t.Fatalf("DescribeGroups of a share group: %v %+v", err, dg["g4"])
	}
}
