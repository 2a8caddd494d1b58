package group_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestStaticMemberRestartsWithoutRebalance: a static member that comes back within its session
// timeout takes its old place: same generation, same partitions, and the other member sees no
// rebalance.
func TestStaticMemberRestartsWithoutRebalance(t *testing.T) {
	n := startNode(t)
	addr := n.Addr()
	createTopic(t, addr, "static", 4)

	var mu sync.Mutex
	assigned := map[string][]int32{}
	assignments := map[string]int{}
	start := func(instance string) *kgo.Client {
		return newClient(t, addr, kgo.ConsumerGroup("static-g"), kgo.ConsumeTopics("static"),
			kgo.InstanceID(instance), kgo.SessionTimeout(10*time.Second), kgo.HeartbeatInterval(100*time.Millisecond),
			kgo.RebalanceTimeout(5*time.Second), kgo.Balancers(kgo.RangeBalancer()),
			kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) {
				mu.Lock()
				defer mu.Unlock()
				assigned[instance] = slices.Sorted(slices.Values(ps["static"]))
				assignments[instance]++
			}))
	}
	poll := func(cl *kgo.Client) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		cl.PollFetches(ctx)
	}
	a, b := start("a"), start("b")
	defer b.Close()
	waitFor(t, 30*time.Second, "both static members to be assigned", func() bool {
		poll(a)
		poll(b)
		mu.Lock()
		defer mu.Unlock()
		return len(assigned["a"])+len(assigned["b"]) == 4 && len(assigned["a"]) > 0 && len(assigned["b"]) > 0
	})
	_, genA := a.GroupMetadata()
	_, genB := b.GroupMetadata()
	if genA != genB {
		t.Fatalf("generations %d and %d", genA, genB)
	}
	mu.Lock()
	before := slices.Clone(assigned["a"])
	aAssignments, bAssignments := assignments["a"], assignments["b"]
	mu.Unlock()

	a.Close() // a static member does not leave the group on close
	a2 := start("a")
	defer a2.Close()
	waitFor(t, 30*time.Second, "the restarted member to be assigned", func() bool {
		poll(a2)
		mu.Lock()
		defer mu.Unlock()
		return assignments["a"] > aAssignments
	})
	if _, gen := a2.GroupMetadata(); gen != genA {
		t.Fatalf("generation after restart %d, before %d", gen, genA)
	}
	mu.Lock()
	after := assigned["a"]
	mu.Unlock()
	if !slices.Equal(before, after) {
		t.Fatalf("partitions before %v, after %v", before, after)
	}
	poll(b)
	if _, gen := b.GroupMetadata(); gen != genB {
		t.Fatalf("the other member's generation moved from %d to %d", genB, gen)
	}
	mu.Lock()
	defer mu.Unlock()
	if assignments["b"] != bAssignments {
		t.Fatalf("the other member was reassigned")
	}
}

// TestCommittedOffsetsSurviveRestart: offsets and group metadata are replayed from
// __consumer_offsets when the node comes back.
func TestCommittedOffsetsSurviveRestart(t *testing.T) {
	n := startNode(t)
	createTopic(t, n.Addr(), "durable", 3)
	ctx := ctxT(t, 60*time.Second)
	offs := kadm.Offsets{}
	for p := int32(0); p < 3; p++ {
		offs.Add(kadm.Offset{Topic: "durable", Partition: p, At: int64(10 * (p + 1)), LeaderEpoch: -1, Metadata: "m"})
	}
	resp, err := admin(t, n.Addr()).CommitOffsets(ctx, "durable-g", offs)
	if err != nil || resp.Error() != nil {
		t.Fatalf("commit: %v %v", err, resp.Error())
	}
	// Overwrite one and delete nothing: the last commit is what must come back.
	offs = kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "durable", Partition: 0, At: 99, LeaderEpoch: -1})
	if resp, err := admin(t, n.Addr()).CommitOffsets(ctx, "durable-g", offs); err != nil || resp.Error() != nil {
		t.Fatalf("commit: %v %v", err, resp.Error())
	}

	n.Restart()
	var got kadm.OffsetResponses
	waitFor(t, 30*time.Second, "offsets to be fetchable after restart", func() bool {
		got, err = admin(t, n.Addr()).FetchOffsets(ctx, "durable-g")
		return err == nil && got.Error() == nil
	})
	for p, want := range []int64{99, 20, 30} {
		o, ok := got.Lookup("durable", int32(p))
		if !ok || o.At != want {
			t.Fatalf("partition %d after restart: %+v (found %v), want %d", p, o, ok, want)
		}
	}
	if o, _ := got.Lookup("durable", 1); o.Metadata != "m" {
		t.Fatalf("metadata %q", o.Metadata)
	}
}

// TestOffsetsTopicRecordsDecode reads __consumer_offsets as a client and decodes its records
// with kmsg's key and value types: the group's offsets and its metadata are there, in Kafka's
// formats.
func TestOffsetsTopicRecordsDecode(t *testing.T) {
	n := startNode(t)
	addr := n.Addr()
	createTopic(t, addr, "decoded", 2)
	produce(t, addr, "decoded", 2, 5)
	ctx := ctxT(t, 60*time.Second)
	cl := newClient(t, addr, kgo.ConsumerGroup("decode-g"), kgo.ConsumeTopics("decoded"), kgo.DisableAutoCommit(),
		kgo.SessionTimeout(2*time.Second), kgo.HeartbeatInterval(100*time.Millisecond))
	got := 0
	for got < 10 {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		got += fs.NumRecords()
	}
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	memberID, generation := cl.GroupMetadata()
	cl.Close()

	topics, err := admin(t, addr).ListTopics(ctx, "__consumer_offsets")
	if err != nil {
		t.Fatal(err)
	}
	td := topics["__consumer_offsets"]
	if !td.IsInternal || len(td.Partitions) != 4 {
		t.Fatalf("__consumer_offsets: internal %v, %d partitions", td.IsInternal, len(td.Partitions))
	}
	ends, err := admin(t, addr).ListEndOffsets(ctx, "__consumer_offsets")
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { want[o.Partition] = o.Offset })

	reader := newClient(t, addr, kgo.ConsumeTopics("__consumer_offsets"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer reader.Close()
	commits := map[int32]int64{}
	var meta []kmsg.GroupMetadataValue
	seen := map[int32]int64{}
	done := func() bool {
		for p, end := range want {
			if seen[p] < end {
				return false
			}
		}
		return true
	}
	for !done() {
		fs := reader.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			seen[r.Partition] = r.Offset + 1
			var ver int16
			if len(r.Key) >= 2 {
				ver = int16(r.Key[0])<<8 | int16(r.Key[1])
			}
			switch ver {
			case 0, 1:
				var k kmsg.OffsetCommitKey
				if err := k.ReadFrom(r.Key); err != nil {
					t.Fatal(err)
				}
				if k.Version != 1 || k.Group != "decode-g" || r.Value == nil {
					return
				}
				var v kmsg.OffsetCommitValue
				if err := v.ReadFrom(r.Value); err != nil {
					t.Fatal(err)
				}
				if v.Version != 3 {
					t.Fatalf("offset commit value version %d", v.Version)
				}
				commits[k.Partition] = v.Offset
			case 2:
				var k kmsg.GroupMetadataKey
				if err := k.ReadFrom(r.Key); err != nil {
					t.Fatal(err)
				}
				if k.Group != "decode-g" || r.Value == nil {
					return
				}
				var v kmsg.GroupMetadataValue
				if err := v.ReadFrom(r.Value); err != nil {
					t.Fatal(err)
				}
				meta = append(meta, v)
			default:
				t.Fatalf("unexpected key version %d", ver)
			}
		})
	}
	if commits[0] != 5 || commits[1] != 5 {
		t.Fatalf("decoded commits %v", commits)
	}
	var stable *kmsg.GroupMetadataValue
	for i := range meta {
		if len(meta[i].Members) == 1 {
			stable = &meta[i]
		}
	}
	if stable == nil {
		t.Fatalf("no group metadata with the member among %d records", len(meta))
	}
	if stable.Version != 3 || stable.ProtocolType != "consumer" || stable.Generation != generation ||
		stable.Members[0].MemberID != memberID || stable.Leader == nil || *stable.Leader != memberID {
		t.Fatalf("group metadata %+v (member %s generation %d)", stable, memberID, generation)
	}
	var assignment kmsg.ConsumerMemberAssignment
	if err := assignment.ReadFrom(stable.Members[0].Assignment); err != nil || len(assignment.Topics) != 1 ||
		assignment.Topics[0].Topic != "decoded" || len(assignment.Topics[0].Partitions) != 2 {
		t.Fatalf("assignment %+v: %v", assignment, err)
	}
	// The member left on close: the last metadata record is of the empty group.
	if last := meta[len(meta)-1]; len(last.Members) != 0 || last.Generation <= generation {
		t.Fatalf("last group metadata %+v", last)
	}
}
