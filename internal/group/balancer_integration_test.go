package group_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// cutDialer dials for one client until Cut, which closes its connections and refuses new
// ones: the client vanishes without a LeaveGroup, as a crashed process would.
type cutDialer struct {
	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

func (d *cutDialer) dial(ctx context.Context, network, host string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cut {
		return nil, errors.New("cut")
	}
	c, err := (&net.Dialer{}).DialContext(ctx, network, host)
	if err == nil {
		d.conns = append(d.conns, c)
	}
	return c, err
}

func (d *cutDialer) Cut() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cut = true
	for _, c := range d.conns {
		c.Close()
	}
}

// groupTracker records what the members of one group own, consume and commit.
type groupTracker struct {
	t  *testing.T
	mu sync.Mutex
	// owned[member] is the set of partitions the member was last assigned.
	owned map[int]map[int32]bool
	// committed[p] is the highest committed offset acknowledged for partition p.
	committed map[int32]int64
	consumed  map[int32]map[int64]int // times each offset was consumed
	dupes     []string
}

func newTracker(t *testing.T) *groupTracker {
	return &groupTracker{t: t, owned: map[int]map[int32]bool{}, committed: map[int32]int64{}, consumed: map[int32]map[int64]int{}}
}

func (g *groupTracker) assign(member int, ps map[string][]int32, add bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.owned[member] == nil {
		g.owned[member] = map[int32]bool{}
	}
	for _, list := range ps {
		for _, p := range list {
			if add {
				g.owned[member][p] = true
			} else {
				delete(g.owned[member], p)
			}
		}
	}
}

func (g *groupTracker) consume(member int, recs []*kgo.Record) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range recs {
		if r.Offset < g.committed[r.Partition] {
			g.dupes = append(g.dupes, fmt.Sprintf("member %d consumed p%d@%d below committed %d", member, r.Partition, r.Offset, g.committed[r.Partition]))
		}
		if g.consumed[r.Partition] == nil {
			g.consumed[r.Partition] = map[int64]int{}
		}
		g.consumed[r.Partition][r.Offset]++
	}
}

func (g *groupTracker) commit(recs []*kgo.Record) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range recs {
		if r.Offset+1 > g.committed[r.Partition] {
			g.committed[r.Partition] = r.Offset + 1
		}
	}
}

// exactlyOnce reports whether the given members own every partition of n exactly once
// between them, each owning at least one.
func (g *groupTracker) exactlyOnce(members []int, n int32) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	seen := map[int32]int{}
	for _, m := range members {
		if len(g.owned[m]) == 0 && len(members) <= int(n) {
			return false
		}
		for p := range g.owned[m] {
			seen[p]++
		}
	}
	for p := int32(0); p < n; p++ {
		if seen[p] != 1 {
			return false
		}
	}
	return len(seen) == int(n)
}

func (g *groupTracker) committedAll(n int32, end int64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for p := int32(0); p < n; p++ {
		if g.committed[p] != end {
			return false
		}
	}
	return true
}

// member is one consumer of the group, polling and committing synchronously in its own
// goroutine.
type member struct {
	cl     *kgo.Client
	dialer *cutDialer
	cancel context.CancelFunc
	done   chan struct{}
}

func startMember(t *testing.T, addr, group, topic string, id int, tr *groupTracker, opts ...kgo.Opt) *member {
	m := &member{dialer: &cutDialer{}, done: make(chan struct{})}
	base := []kgo.Opt{
		kgo.SeedBrokers(addr), kgo.Dialer(m.dialer.dial),
		kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll(),
		kgo.SessionTimeout(time.Second), kgo.HeartbeatInterval(100 * time.Millisecond),
		kgo.RebalanceTimeout(5 * time.Second), kgo.RetryTimeout(2 * time.Second),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { tr.assign(id, ps, true) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { tr.assign(id, ps, false) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { tr.assign(id, ps, false) }),
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	m.cl = cl
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go func() {
		defer close(m.done)
		for ctx.Err() == nil {
			pctx, pcancel := context.WithTimeout(ctx, 200*time.Millisecond)
			fs := cl.PollFetches(pctx)
			pcancel()
			if fs.IsClientClosed() {
				return
			}
			recs := fs.Records()
			if len(recs) > 0 {
				tr.consume(id, recs)
				if err := cl.CommitRecords(ctx, recs...); err == nil {
					tr.commit(recs)
				}
			}
			cl.AllowRebalance()
		}
	}()
	return m
}

// stop ends the polling goroutine; with leave, the client also closes (leaving the group).
func (m *member) stop(leave bool) {
	m.cancel()
	<-m.done
	if leave {
		m.cl.Close()
	}
}

func TestGroupBalancers(t *testing.T) {
	for _, tc := range []struct {
		name string
		bal  kgo.GroupBalancer
	}{
		{"range", kgo.RangeBalancer()},
		{"roundrobin", kgo.RoundRobinBalancer()},
		{"sticky", kgo.StickyBalancer()},
		{"cooperative-sticky", kgo.CooperativeStickyBalancer()},
	} {
		t.Run(tc.name, func(t *testing.T) { testBalancer(t, tc.bal) })
	}
}

// testBalancer: three members share six partitions; one leaves, one dies; the survivor ends
// up with everything, and no record below an acknowledged commit is consumed again. extra
// options go to every member (kgo.ServerSideBalancer for the KIP-848 protocol).
func testBalancer(t *testing.T, bal kgo.GroupBalancer, extra ...kgo.Opt) {
	const parts = 6
	n := startNode(t)
	addr := n.Addr()
	createTopic(t, addr, "bal", parts)
	produce(t, addr, "bal", parts, 20)

	tr := newTracker(t)
	var ms []*member
	for i := 0; i < 3; i++ {
		ms = append(ms, startMember(t, addr, "g-"+bal.ProtocolName(), "bal", i, tr, append([]kgo.Opt{kgo.Balancers(bal)}, extra...)...))
	}
	defer func() {
		for _, m := range ms {
			m.cancel()
		}
	}()
	waitFor(t, 30*time.Second, "three members to own every partition once", func() bool {
		return tr.exactlyOnce([]int{0, 1, 2}, parts)
	})

	// A member that closes leaves the group: its partitions move within a rebalance.
	ms[0].stop(true)
	tr.assign(0, map[string][]int32{"bal": {0, 1, 2, 3, 4, 5}}, false)
	produce(t, addr, "bal", parts, 20)
	waitFor(t, 30*time.Second, "two members to own every partition once", func() bool {
		return tr.exactlyOnce([]int{1, 2}, parts)
	})

	// A member that vanishes without leaving loses its partitions after its session timeout.
	ms[1].dialer.Cut()
	ms[1].stop(false)
	tr.assign(1, map[string][]int32{"bal": {0, 1, 2, 3, 4, 5}}, false)
	produce(t, addr, "bal", parts, 20)
	waitFor(t, 30*time.Second, "the last member to own every partition", func() bool {
		return tr.exactlyOnce([]int{2}, parts)
	})
	waitFor(t, 30*time.Second, "every record to be committed", func() bool {
		return tr.committedAll(parts, 60)
	})
	ms[2].stop(true)
	go ms[1].cl.Close() // cannot reach the broker; closing may take its retry timeout

	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.dupes) > 0 {
		t.Fatalf("records of a committed prefix consumed again:\n%v", tr.dupes)
	}
	for p := int32(0); p < parts; p++ {
		for o := int64(0); o < 60; o++ {
			if tr.consumed[p][o] == 0 {
				t.Fatalf("p%d@%d never consumed", p, o)
			}
		}
	}
}
