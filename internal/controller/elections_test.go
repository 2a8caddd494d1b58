package controller

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gregorhq/gregor/internal/metadata"
)

func TestElectionPlan(t *testing.T) {
	topic := &metadata.Topic{Name: "t", ID: metadata.UUID{1}}
	alive := func(ids ...int32) aliveFunc { return func(id int32) bool { return slices.Contains(ids, id) } }
	i32 := func(v int32) *int32 { return &v }
	cases := []struct {
		name               string
		p                  metadata.Partition
		alive              aliveFunc
		preferred, unclean bool
		wantLeader         *int32 // nil: unchanged
		wantISR            []int32
		noChange           bool
	}{
		{name: "all alive", p: metadata.Partition{Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}, Leader: 1},
			alive: alive(1, 2, 3), noChange: true},
		{name: "leader gone: next ISR member in replica order", p: metadata.Partition{Replicas: []int32{1, 2, 3}, ISR: []int32{3, 2, 1}, Leader: 1},
			alive: alive(2, 3), wantLeader: i32(2), wantISR: []int32{3, 2}},
		{name: "follower gone: leaves the ISR only", p: metadata.Partition{Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}, Leader: 1},
			alive: alive(1, 3), wantISR: []int32{1, 3}},
		{name: "last ISR member gone: kept, offline", p: metadata.Partition{Replicas: []int32{1, 2}, ISR: []int32{1}, Leader: 1},
			alive: alive(2), wantLeader: i32(-1)},
		{name: "last ISR member gone, unclean: out-of-sync replica leads", p: metadata.Partition{Replicas: []int32{1, 2}, ISR: []int32{1}, Leader: 1},
			alive: alive(2), unclean: true, wantLeader: i32(2), wantISR: []int32{2}},
		{name: "offline partition, ISR member back", p: metadata.Partition{Replicas: []int32{1, 2}, ISR: []int32{1}, Leader: -1},
			alive: alive(1, 2), wantLeader: i32(1)},
		{name: "out-of-sync replica back: no leader without unclean", p: metadata.Partition{Replicas: []int32{1, 2}, ISR: []int32{1}, Leader: -1},
			alive: alive(2), noChange: true},
		{name: "preferred", p: metadata.Partition{Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 2},
			alive: alive(1, 2), preferred: true, wantLeader: i32(1)},
		{name: "preferred not in ISR", p: metadata.Partition{Replicas: []int32{1, 2}, ISR: []int32{2}, Leader: 2},
			alive: alive(1, 2), preferred: true, noChange: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch := electionPlan(topic, &tc.p, tc.alive, tc.preferred, tc.unclean)
			if tc.noChange {
				if ch != nil {
					t.Fatalf("want no change, got %+v", ch)
				}
				return
			}
			if ch == nil {
				t.Fatal("want a change, got none")
			}
			switch {
			case tc.wantLeader == nil && ch.Leader != nil:
				t.Errorf("leader changed to %d", *ch.Leader)
			case tc.wantLeader != nil && (ch.Leader == nil || *ch.Leader != *tc.wantLeader):
				t.Errorf("leader %v, want %d", ch.Leader, *tc.wantLeader)
			}
			if !slices.Equal(ch.ISR, tc.wantISR) {
				t.Errorf("ISR %v, want %v", ch.ISR, tc.wantISR)
			}
		})
	}
}

// fakeClock is an injectable clock for the fencing timers.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func waitImage(t *testing.T, c *Controller, what string, cond func(*metadata.Image) bool) {
	t.Helper()
	ch, cancel := c.Subscribe()
	defer cancel()
	deadline := time.After(10 * time.Second)
	for !cond(c.Image()) {
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestFencingElectsNewLeaderAndAlterPartition(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0)}
	cfg := testConfig(t.TempDir())
	cfg.Now = clock.Now
	cfg.SessionTimeout = time.Second
	c := startController(t, cfg)
	ctx := context.Background()
	registerBrokers(t, c, 1, 2, 3)
	res := c.CreateTopics(ctx, []TopicSpec{{Name: "t", NumPartitions: -1, ReplicationFactor: -1,
		Assignments: map[int32][]int32{0: {2, 3, 1}}}}, false)
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	before := c.Image().Topics["t"].Partitions[0]

	// Brokers 1 and 3 heartbeat; broker 2 (the leader) does not, and its session expires.
	clock.Advance(600 * time.Millisecond)
	for _, id := range []int32{1, 3} {
		if _, err := c.Heartbeat(ctx, BrokerHeartbeat{BrokerID: id, BrokerEpoch: epochOf(c, id), MetadataOffset: c.Image().Offset}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(600 * time.Millisecond)
	waitImage(t, c, "broker 2 fenced", func(img *metadata.Image) bool { return img.Brokers[2].Fenced })
	after := c.Image().Topics["t"].Partitions[0]
	if after.Leader != 3 || after.LeaderEpoch != before.LeaderEpoch+1 || !slices.Equal(after.ISR, []int32{3, 1}) {
		t.Fatalf("after fencing broker 2: %+v (before %+v)", after, before)
	}

	// AlterPartition validation, from the leader's point of view (this node is broker 1: it
	// is not the leader now).
	if _, err := c.AlterPartition(ctx, "t", 0, after.LeaderEpoch, after.Epoch, []int32{3, 1}); errCode(err) != "INVALID_REQUEST" {
		t.Fatalf("AlterPartition from a non-leader: %v", err)
	}
	if _, err := c.alterPartition(ctx, leaderRequest(c, 3, "t", 0, after.LeaderEpoch-1, after.Epoch, []int32{3})); errCode(err) != "FENCED_LEADER_EPOCH" {
		t.Fatalf("stale leader epoch: %v", err)
	}
	if _, err := c.alterPartition(ctx, leaderRequest(c, 3, "t", 0, after.LeaderEpoch, after.Epoch-1, []int32{3})); errCode(err) != "INVALID_UPDATE_VERSION" {
		t.Fatalf("stale partition epoch: %v", err)
	}
	if _, err := c.alterPartition(ctx, leaderRequest(c, 3, "t", 0, after.LeaderEpoch, after.Epoch, []int32{3, 2})); errCode(err) != "INELIGIBLE_REPLICA" {
		t.Fatalf("fenced broker in the ISR: %v", err)
	}
	if _, err := c.alterPartition(ctx, leaderRequest(c, 3, "t", 0, after.LeaderEpoch, after.Epoch, []int32{1})); errCode(err) != "INVALID_REQUEST" {
		t.Fatalf("ISR without the leader: %v", err)
	}
	got, err := c.alterPartition(ctx, leaderRequest(c, 3, "t", 0, after.LeaderEpoch, after.Epoch, []int32{3}))
	if err != nil || !slices.Equal(got.ISR, []int32{3}) || got.Epoch != after.Epoch+1 || got.LeaderEpoch != after.LeaderEpoch {
		t.Fatalf("shrink ISR: %+v %v", got, err)
	}

	// Broker 2 comes back: unfenced, a follower, not in the ISR.
	if _, err := c.Heartbeat(ctx, BrokerHeartbeat{BrokerID: 2, BrokerEpoch: epochOf(c, 2), MetadataOffset: c.Image().Offset}); err != nil {
		t.Fatal(err)
	}
	back := c.Image()
	if back.Brokers[2].Fenced || back.Topics["t"].Partitions[0].Leader != 3 || slices.Contains(back.Topics["t"].Partitions[0].ISR, 2) {
		t.Fatalf("after broker 2 returns: %+v %+v", back.Brokers[2], back.Topics["t"].Partitions[0])
	}
	// The leader expands the ISR; then a preferred election moves leadership back to 2.
	p := back.Topics["t"].Partitions[0]
	if _, err := c.alterPartition(ctx, leaderRequest(c, 3, "t", 0, p.LeaderEpoch, p.Epoch, []int32{3, 2})); err != nil {
		t.Fatal(err)
	}
	results := c.ElectLeaders(ctx, ElectPreferred, []TopicPartition{{"t", 0}, {"nope", 0}})
	if len(results) != 2 || results[0].Err != nil || errCode(results[1].Err) != "UNKNOWN_TOPIC_OR_PARTITION" {
		t.Fatalf("ElectLeaders: %+v", results)
	}
	if l := c.Image().Topics["t"].Partitions[0].Leader; l != 2 {
		t.Fatalf("leader after preferred election: %d", l)
	}
	results = c.ElectLeaders(ctx, ElectPreferred, []TopicPartition{{"t", 0}})
	if errCode(results[0].Err) != "ELECTION_NOT_NEEDED" {
		t.Fatalf("second preferred election: %+v", results)
	}
}

func TestControlledShutdownHeartbeat(t *testing.T) {
	c := startController(t, testConfig(t.TempDir()))
	ctx := context.Background()
	registerBrokers(t, c, 1, 2)
	for _, r := range c.CreateTopics(ctx, []TopicSpec{
		{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignments: map[int32][]int32{0: {2, 1}}},
		{Name: "solo", NumPartitions: -1, ReplicationFactor: -1, Assignments: map[int32][]int32{0: {2}}},
	}, false) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	res, err := c.Heartbeat(ctx, BrokerHeartbeat{BrokerID: 2, BrokerEpoch: epochOf(c, 2), MetadataOffset: c.Image().Offset, WantShutDown: true})
	if err != nil || res.ShouldShutDown {
		t.Fatalf("first shutdown heartbeat: %+v %v (leadership not moved yet)", res, err)
	}
	res, err = c.Heartbeat(ctx, BrokerHeartbeat{BrokerID: 2, BrokerEpoch: epochOf(c, 2), MetadataOffset: c.Image().Offset, WantShutDown: true})
	if err != nil || !res.ShouldShutDown || !res.IsFenced {
		t.Fatalf("second shutdown heartbeat: %+v %v", res, err)
	}
	if p := c.Image().Topics["t"].Partitions[0]; p.Leader != 1 || !slices.Equal(p.ISR, []int32{1}) {
		t.Errorf("t-0: %+v", p)
	}
	if p := c.Image().Topics["solo"].Partitions[0]; p.Leader != -1 || !slices.Equal(p.ISR, []int32{2}) {
		t.Errorf("solo-0 (its only replica shut down): %+v, want offline with ISR [2]", p)
	}
}

func TestRackAwarePlacement(t *testing.T) {
	brokers := []metadata.Broker{
		{ID: 1, Rack: "a"}, {ID: 2, Rack: "a"}, {ID: 3, Rack: "b"}, {ID: 4, Rack: "b"}, {ID: 5, Rack: "c"}, {ID: 6, Rack: "c"},
	}
	rack := map[int32]string{}
	for _, b := range brokers {
		rack[b.ID] = b.Rack
	}
	for start := range len(brokers) {
		p := rackAwarePlacer{start: func(int) int { return start }}
		out, err := p.place(brokers, 0, 12, 3)
		if err != nil {
			t.Fatal(err)
		}
		leaders := map[int32]int{}
		for i, rs := range out {
			racks := map[string]bool{}
			for _, r := range rs {
				racks[rack[r]] = true
			}
			if len(rs) != 3 || len(racks) != 3 {
				t.Fatalf("start %d partition %d: replicas %v on racks %v", start, i, rs, racks)
			}
			leaders[rs[0]]++
		}
		if len(leaders) != 6 {
			t.Errorf("start %d: leaders %v, want every broker", start, leaders)
		}
	}
	// More replicas than racks: distinct brokers, every rack used.
	out, err := rackAwarePlacer{}.place(brokers[:4], 0, 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range out {
		seen := map[int32]bool{}
		for _, r := range rs {
			seen[r] = true
		}
		if len(seen) != 3 {
			t.Errorf("replicas %v not distinct", rs)
		}
	}
	if _, err := (rackAwarePlacer{}).place(brokers[:2], 0, 1, 3); errCode(err) != "INVALID_REPLICATION_FACTOR" {
		t.Errorf("rf 3 on 2 brokers: %v", err)
	}
}

func TestAutoLeaderRebalance(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0)}
	cfg := testConfig(t.TempDir())
	cfg.Now = clock.Now
	cfg.SessionTimeout = time.Hour // no fencing by the clock jump below
	cfg.AutoLeaderRebalance = true
	cfg.ImbalanceCheckInterval = time.Minute
	c := startController(t, cfg)
	ctx := context.Background()
	registerBrokers(t, c, 1, 2)
	c.CreateTopics(ctx, []TopicSpec{{Name: "t", NumPartitions: -1, ReplicationFactor: -1,
		Assignments: map[int32][]int32{0: {1, 2}}}}, false)

	// Broker 1 fences itself and comes back: broker 2 leads, and broker 1 rejoins the ISR.
	if _, err := c.Heartbeat(ctx, BrokerHeartbeat{BrokerID: 1, BrokerEpoch: epochOf(c, 1), WantFence: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Heartbeat(ctx, BrokerHeartbeat{BrokerID: 1, BrokerEpoch: epochOf(c, 1), MetadataOffset: c.Image().Offset}); err != nil {
		t.Fatal(err)
	}
	p := c.Image().Topics["t"].Partitions[0]
	if p.Leader != 2 {
		t.Fatalf("leader %d, want 2", p.Leader)
	}
	if _, err := c.alterPartition(ctx, leaderRequest(c, 2, "t", 0, p.LeaderEpoch, p.Epoch, []int32{2, 1})); err != nil {
		t.Fatal(err)
	}
	// After leader.imbalance.check.interval, leadership returns to the preferred replica.
	clock.Advance(2 * time.Minute)
	waitImage(t, c, "the preferred leader back", func(img *metadata.Image) bool {
		return img.Topics["t"].Partitions[0].Leader == 1
	})
}

// An offline partition whose only in-sync replica is gone gets an out-of-sync leader once
// unclean.leader.election.enable is turned on for its topic, with no broker event to set it off.
func TestUncleanElectionAfterConfigChange(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0)}
	cfg := testConfig(t.TempDir())
	cfg.Now = clock.Now
	cfg.SessionTimeout = time.Second
	c := startController(t, cfg)
	ctx := context.Background()
	registerBrokers(t, c, 1, 2, 3)
	res := c.CreateTopics(ctx, []TopicSpec{{Name: "t", NumPartitions: -1, ReplicationFactor: -1,
		Assignments: map[int32][]int32{0: {2, 3}}}}, false)
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	heartbeat := func(ids ...int32) {
		t.Helper()
		for _, id := range ids {
			if _, err := c.Heartbeat(ctx, BrokerHeartbeat{BrokerID: id, BrokerEpoch: epochOf(c, id), MetadataOffset: c.Image().Offset}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Broker 3 misses its session first (out of the ISR), then broker 2, the last ISR member.
	clock.Advance(600 * time.Millisecond)
	heartbeat(1, 2)
	clock.Advance(600 * time.Millisecond)
	waitImage(t, c, "broker 3 fenced", func(img *metadata.Image) bool { return img.Brokers[3].Fenced })
	heartbeat(1, 2)
	clock.Advance(600 * time.Millisecond)
	heartbeat(1)
	clock.Advance(600 * time.Millisecond)
	waitImage(t, c, "broker 2 fenced", func(img *metadata.Image) bool { return img.Brokers[2].Fenced })
	heartbeat(1, 3) // broker 3 is back, but out of sync
	p := c.Image().Topics["t"].Partitions[0]
	if p.Leader != -1 || !slices.Equal(p.ISR, []int32{2}) || c.Image().Brokers[3].Fenced {
		t.Fatalf("want t-0 offline with ISR [2] and broker 3 unfenced: %+v", p)
	}

	on := "true"
	r := c.IncrementalAlterConfigs(ctx, []ConfigResource{{Type: metadata.ConfigResourceTopic, Name: "t",
		Changes: []ConfigChange{{Name: "unclean.leader.election.enable", Op: ConfigSet, Value: &on}}}}, false)
	if r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	waitImage(t, c, "broker 3 elected uncleanly", func(img *metadata.Image) bool {
		p := img.Topics["t"].Partitions[0]
		return p.Leader == 3 && slices.Equal(p.ISR, []int32{3})
	})
}
