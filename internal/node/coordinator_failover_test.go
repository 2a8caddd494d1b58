package node_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// Acceptance 7 of the cluster: consumer groups and transactions keep working across a kill -9
// of their coordinator's broker. The coordinators' state is in __consumer_offsets and
// __transaction_state, replicated to three brokers; a new leader of the partition loads it
// (up to the high watermark: only what every in-sync replica has) and clients move over.

// processAddrs are the client addresses of the running processes.
func processAddrs(procs []*clustertest.Process, down int) []string {
	var out []string
	for i, p := range procs {
		if i != down {
			out = append(out, p.Addr())
		}
	}
	return out
}

// failoverCluster starts three gregor processes with replicated internal topics and a topic
// "in" of 3 partitions (RF 3) holding total records, partition p's values "p<p>-<i>".
func failoverCluster(t *testing.T, ctx context.Context, total int, extra ...string) ([]*clustertest.Process, map[int32][]string) {
	t.Helper()
	overrides := []string{}
	for i := 0; i+1 < len(replicatedCoordinators); i += 2 {
		overrides = append(overrides, replicatedCoordinators[i]+"="+replicatedCoordinators[i+1])
	}
	procs := clustertest.StartProcessCluster(t, 3, append(overrides, extra...)...)
	addrs := processAddrs(procs, -1)
	adm := clusterAdmin(t, addrs...)
	createRF3(ctx, t, adm, "in")
	p := newClient(t, addrs[0], kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(2*time.Millisecond))
	want := map[int32][]string{}
	var recs []*kgo.Record
	for i := range total {
		part := int32(i % 3)
		v := fmt.Sprintf("p%d-%05d", part, i/3)
		want[part] = append(want[part], v)
		recs = append(recs, &kgo.Record{Topic: "in", Partition: part, Value: []byte(v)})
	}
	if err := p.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("producing the input: %v", err)
	}
	return procs, want
}

// createRF3 creates topic with 3 partitions on 3 brokers, once 3 brokers are registered.
func createRF3(ctx context.Context, t *testing.T, adm *kadm.Client, topic string) {
	t.Helper()
	var last error
	clustertest.WaitFor(t, 30*time.Second, "topic "+topic+" created", func() bool {
		res, err := adm.CreateTopic(ctx, 3, 3, nil, topic)
		if err == nil {
			err = res.Err
		}
		last = err
		return err == nil || errors.Is(err, kerr.TopicAlreadyExists)
	})
	if last != nil && !errors.Is(last, kerr.TopicAlreadyExists) {
		t.Fatalf("create %s: %v", topic, last)
	}
}

// TestGroupSurvivesCoordinatorKill9, classic and KIP-848 protocols: a group member consumes
// and commits a third of "in", the group coordinator's broker is killed with SIGKILL, the
// member carries on (committing to the new coordinator) to two thirds and leaves; the killed
// broker comes back, the group's committed offsets are the member's last, and a new member
// of the group starts exactly at them and reads the rest: no record lost.
func TestGroupSurvivesCoordinatorKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs gregor processes")
	}
	for _, tc := range []struct {
		name string
		opts []kgo.Opt
	}{
		{"classic", nil},
		{"consumer", []kgo.Opt{kgo.ServerSideBalancer()}},
	} {
		t.Run(tc.name, func(t *testing.T) { testGroupSurvivesCoordinatorKill9(t, tc.opts) })
	}
}

func testGroupSurvivesCoordinatorKill9(t *testing.T, opts []kgo.Opt) {
	const total = 3000
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	procs, want := failoverCluster(t, ctx, total,
		"group.consumer.heartbeat.interval.ms=200", "group.consumer.min.heartbeat.interval.ms=100")

	member := func(addrs []string) *kgo.Client {
		return newClient(t, addrs[0], append([]kgo.Opt{kgo.SeedBrokers(addrs...), kgo.ConsumerGroup("g"),
			kgo.ConsumeTopics("in"), kgo.DisableAutoCommit(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchMaxPartitionBytes(4 << 10)}, opts...)...)
	}
	seen := map[string]int{}
	consume := func(cl *kgo.Client, upTo int) {
		t.Helper()
		for len(seen) < upTo {
			fs := cl.PollRecords(ctx, 100)
			if ctx.Err() != nil {
				t.Fatalf("consumed %d of %d records", len(seen), upTo)
			}
			for _, r := range fs.Records() {
				seen[string(r.Value)]++
			}
			// A commit sent while the coordinator moves fails; the next poll's commit covers
			// it. A KIP-848 member rejoins the new coordinator (which keeps membership in
			// memory only) and may read again from the last commit: at least once.
			if err := cl.CommitUncommittedOffsets(ctx); err != nil {
				t.Logf("commit: %v", err)
			}
		}
	}

	// offsets are the group's committed offsets, asked (with a new client, which knows no
	// coordinator yet) of the running brokers but down, until the coordinator answers.
	offsets := func(down int) map[int32]int64 {
		t.Helper()
		adm := clusterAdmin(t, processAddrs(procs, down)...)
		defer adm.Close()
		var fetched kadm.OffsetResponses
		clustertest.WaitFor(t, 30*time.Second, "the group's offsets", func() bool {
			var err error
			fetched, err = adm.FetchOffsets(ctx, "g")
			return err == nil && fetched.Error() == nil
		})
		out := map[int32]int64{}
		fetched.Each(func(o kadm.OffsetResponse) { out[o.Partition] = o.At })
		return out
	}
	m1 := member(processAddrs(procs, -1))
	consume(m1, total/3)
	before := offsets(-1) // every commit acknowledged so far
	coord := findCoordinator(ctx, t, m1, 0, "g")
	victim := int(coord - 1)
	t.Logf("killing broker %d, the group coordinator, at offsets %v", coord, before)
	procs[victim].Kill()
	consume(m1, 2*total/3)
	m1.LeaveGroup()
	m1.Close()
	after := offsets(victim) // from the new coordinator
	for part, o := range before {
		if after[part] < o {
			t.Fatalf("partition %d: committed %d before the failover, %d after (before %v, after %v)", part, o, after[part], before, after)
		}
	}

	procs[victim].Restart()
	addrs := processAddrs(procs, -1)
	if again := offsets(-1); !maps.Equal(again, after) {
		t.Fatalf("committed offsets %v after the killed broker came back, %v before", again, after)
	}

	// A new member starts at the committed offsets: what it reads first is the record at
	// each committed offset, and nothing below.
	m2 := member(addrs)
	firstOffsets := map[int32]int64{}
	for len(seen) < total {
		fs := m2.PollRecords(ctx, 100)
		if ctx.Err() != nil {
			t.Fatalf("second member consumed up to %d of %d records", len(seen), total)
		}
		for _, r := range fs.Records() {
			if _, ok := firstOffsets[r.Partition]; !ok {
				firstOffsets[r.Partition] = r.Offset
			}
			seen[string(r.Value)]++
		}
	}
	for part, o := range after {
		if first, ok := firstOffsets[part]; ok && first != o {
			t.Errorf("partition %d: the new member started at %d, committed %d", part, first, o)
		}
	}
	var missing []string
	for _, vs := range want {
		for _, v := range vs {
			if seen[v] == 0 {
				missing = append(missing, v)
			}
		}
	}
	if len(missing) > 0 {
		t.Fatalf("missing %d records: %v", len(missing), head(missing))
	}
}

func head(s []string) []string { return s[:min(len(s), 10)] }

// TestExactlyOnceCopySurvivesTxnCoordinatorKill9: a consume-transform-produce copy on
// kgo.GroupTransactSession from "in" to "out" (3 partitions each, RF 3) while the
// transaction coordinator's broker is killed with SIGKILL after a third of the copy, with a
// transaction open (produced, not yet ended), and restarted after two thirds. Afterwards "out", read read_committed, equals "in" partition by
// partition: no loss, no duplicate, same order.
func TestExactlyOnceCopySurvivesTxnCoordinatorKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs gregor processes")
	}
	const total = 3000
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	procs, want := failoverCluster(t, ctx, total)
	addrs := processAddrs(procs, -1)
	adm := clusterAdmin(t, addrs...)
	createRF3(ctx, t, adm, "out")

	sess, err := kgo.NewGroupTransactSession(
		kgo.SeedBrokers(addrs...),
		kgo.TransactionalID("copier"),
		kgo.TransactionTimeout(30*time.Second),
		kgo.ConsumerGroup("copy"),
		kgo.ConsumeTopics("in"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequireStableFetchOffsets(),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.FetchMaxPartitionBytes(4<<10),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()

	victim, back := -1, false
	copied := 0
	for copied < total {
		fs := sess.PollRecords(ctx, 200)
		if ctx.Err() != nil {
			t.Fatalf("copied %d of %d records", copied, total)
		}
		recs := fs.Records()
		if len(recs) == 0 {
			continue
		}
		if err := sess.Begin(); err != nil {
			t.Fatalf("begin: %v", err)
		}
		out := make([]*kgo.Record, len(recs))
		for i, r := range recs {
			out[i] = &kgo.Record{Topic: "out", Partition: r.Partition, Value: r.Value}
		}
		commit := kgo.TryCommit
		if err := sess.ProduceSync(ctx, out...).FirstErr(); err != nil {
			t.Logf("produce: %v (aborting)", err)
			commit = kgo.TryAbort
		}
		switch {
		case victim < 0 && copied >= total/3:
			// The transaction is open, its records in "out" and its offsets pending: the
			// coordinator dies before EndTxn, which the new one gets.
			coord := findCoordinator(ctx, t, sess.Client(), 1, "copier")
			victim = int(coord - 1)
			t.Logf("killing broker %d, the transaction coordinator, with a transaction open after %d records", coord, copied)
			procs[victim].Kill()
		case victim >= 0 && !back && copied >= 2*total/3:
			t.Logf("restarting broker %d after %d records", victim+1, copied)
			procs[victim].Restart()
			back = true
		}
		committed, err := sess.End(ctx, commit)
		if err != nil {
			t.Logf("end: %v", err)
		}
		if committed {
			copied += len(out)
		}
	}

	// Every transaction is over: a plain record after them on each partition marks the end
	// of what read_committed must show.
	addrs = processAddrs(procs, -1)
	p := newClient(t, addrs[0], kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for part := range int32(3) {
		if err := p.ProduceSync(ctx, &kgo.Record{Topic: "out", Partition: part, Value: []byte("end")}).FirstErr(); err != nil {
			t.Fatalf("end marker: %v", err)
		}
	}
	got := map[int32][]string{}
	ended := map[int32]bool{}
	cl := newClient(t, addrs[0], kgo.SeedBrokers(addrs...), kgo.ConsumeTopics("out"),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	for len(ended) < 3 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading out: ended partitions %v", ended)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if string(r.Value) == "end" {
				ended[r.Partition] = true
				return
			}
			got[r.Partition] = append(got[r.Partition], string(r.Value))
		})
	}
	for part, vs := range want {
		if !slices.Equal(got[part], vs) {
			t.Errorf("partition %d: read_committed has %d records, want %d (first %v, want %v)",
				part, len(got[part]), len(vs), head(got[part]), head(vs))
		}
	}
}
