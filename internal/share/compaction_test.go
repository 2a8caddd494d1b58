package share_test

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/share"
)

// stateRecordCount reads __share_group_state from its start to its end and returns how many
// records it holds and its end offset.
func stateRecordCount(t *testing.T, addr string) (n int, end int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(client(t, addr)).ListEndOffsets(ctx, share.StateTopic)
	if err != nil {
		t.Fatal(err)
	}
	o, _ := ends.Lookup(share.StateTopic, 0)
	if o.Err != nil {
		t.Fatal(o.Err)
	}
	cl := client(t, addr, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{share.StateTopic: {0: kgo.NewOffset().AtStart()}}))
	for last := int64(-1); last < o.Offset-1; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s: %v", share.StateTopic, ctx.Err())
		}
		fs.EachRecord(func(r *kgo.Record) { n, last = n+1, r.Offset })
	}
	cl.Close()
	return n, o.Offset
}

// The share-partition state survives the compaction of __share_group_state and a restart:
// records acquired and never acknowledged are delivered again, acknowledged ones are not,
// whatever records the cleaner dropped.
func TestShareStateSurvivesCompaction(t *testing.T) {
	n := shareNode(t, "group.share.record.lock.duration.ms", "60000", "log.cleaner.backoff.ms", "20")
	// The state topic rolls a segment per record and is cleaned as soon as it can be.
	adm := kadm.NewClient(client(t, n.Addr()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	compact, seg, ratio := "compact", "14", "0.01"
	if r, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"cleanup.policy": &compact, "segment.bytes": &seg,
		"min.cleanable.dirty.ratio": &ratio}, share.StateTopic); err != nil || r.Err != nil {
		t.Fatalf("create %s: %v %v", share.StateTopic, err, r.Err)
	}
	createTopic(t, n.Addr(), "work", 1)
	produce(t, client(t, n.Addr()), "work", 0, 40) // offsets 0..39

	a := newRawShareMember(t, n.Addr(), "gc", "member-a", "work")
	b := newRawShareMember(t, n.Addr(), "gc", "member-b", "work")
	acquire := func(m *rawShareMember, max int32, first, last int64) {
		t.Helper()
		got := m.fetchN(max)
		if len(got) != 1 || got[0].FirstOffset != first || got[0].LastOffset != last {
			t.Fatalf("%s acquired %+v, want [%d, %d]", m.id, got, first, last)
		}
	}
	acquire(a, 10, 0, 9)
	a.ack(0, 9, share.AckAccept)
	acquire(a, 10, 10, 19) // held by a, never acknowledged: delivered again after the restart
	a.ack(10, 10, share.AckAccept)
	acquire(b, 10, 20, 29)
	b.ack(20, 29, share.AckAccept)
	acquire(b, 2, 30, 31)
	b.ack(30, 30, share.AckAccept)

	// One record per offset was written; the cleaner has run once fewer are left.
	waitFor(t, "the cleaner to compact "+share.StateTopic, 20*time.Second, func() bool {
		left, end := stateRecordCount(t, n.Addr())
		return left < int(end)
	})

	n.Restart()
	c := newRawShareMember(t, n.Addr(), "gc", "member-c", "work")
	var want []int64
	for off := int64(11); off < 40; off++ {
		if off < 20 || off > 30 {
			want = append(want, off)
		}
	}
	seen := map[int64]bool{}
	defer func() {
		if t.Failed() {
			t.Logf("delivered after the restart: %v", slices.Sorted(maps.Keys(seen)))
		}
	}()
	waitFor(t, "every record not acknowledged before the restart", 15*time.Second, func() bool {
		for _, r := range c.fetch() {
			for off := r.FirstOffset; off <= r.LastOffset; off++ {
				if !slices.Contains(want, off) {
					t.Fatalf("offset %d, acknowledged before the restart, was delivered again", off)
				}
				seen[off] = true
			}
		}
		return len(seen) == len(want)
	})
}
