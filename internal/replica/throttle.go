package replica

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gregorhq/gregor/internal/metadata"
)

// Replication throttling (Kafka's ReplicationQuotaManager, used while partitions are
// reassigned). Two broker configs set the rates, in bytes per second:
// leader.replication.throttled.rate for what this broker serves to followers, and
// follower.replication.throttled.rate for what it fetches as a follower. Two topic configs
// say which replicas they apply to, as "partition:broker" pairs or "*":
// leader.replication.throttled.replicas (this broker's replica, when it leads) and
// follower.replication.throttled.replicas (this broker's replica, when it follows).
//
// As in Kafka, only traffic for replicas outside the ISR is held back (a replica in sync
// keeps up whatever the quota), and all throttled partitions of a broker share its rate:
//   - the leader answers a throttled follower's fetch with no records while the quota is
//     used up (the follower's fetch then waits up to replica.fetch.wait.max.ms), and counts
//     the bytes it serves;
//   - a follower leaves throttled partitions out of its fetches until the quota recovers,
//     and counts the bytes it appends.
//
// The quota is a token bucket holding at most one second of the rate; a read may take it
// below zero (a batch is not split), and the debt is paid before the next one.

const (
	leaderThrottledRate       = "leader.replication.throttled.rate"
	followerThrottledRate     = "follower.replication.throttled.rate"
	leaderThrottledReplicas   = "leader.replication.throttled.replicas"
	followerThrottledReplicas = "follower.replication.throttled.replicas"
)

// throttle is a token bucket of bytes per second.
type throttle struct {
	now func() time.Time

	mu sync.Mutex
	// Guarded by mu.
	rate   float64 // bytes per second; 0: unlimited
	tokens float64 // Invariant: tokens <= rate.
	last   time.Time
}

func newThrottle(now func() time.Time) *throttle {
	return &throttle{now: now}
}

// setRate sets the rate; rate <= 0 or math.MaxInt64 (the configs' default) is unlimited.
func (t *throttle) setRate(rate int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := float64(rate)
	if rate <= 0 || rate == math.MaxInt64 {
		r = 0
	}
	if r == t.rate {
		return
	}
	t.rate, t.tokens, t.last = r, min(t.tokens, r), t.now()
}

func (t *throttle) refillLocked() {
	now := t.now()
	if t.rate > 0 {
		t.tokens = min(t.rate, t.tokens+now.Sub(t.last).Seconds()*t.rate)
	}
	t.last = now
}

// wait is how long until the quota is no longer used up: 0 when bytes may flow now.
func (t *throttle) wait() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rate == 0 {
		return 0
	}
	t.refillLocked()
	if t.tokens >= 0 {
		return 0
	}
	return time.Duration(-t.tokens / t.rate * float64(time.Second))
}

// record takes n bytes from the quota.
func (t *throttle) record(n int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rate == 0 || n <= 0 {
		return
	}
	t.refillLocked()
	t.tokens -= float64(n)
}

// partitionThrottles are a partition's throttle flags, set by Manager.Apply from the topic
// configs.
type partitionThrottles struct {
	leader, follower atomic.Bool
}

// throttledReplica reports whether list (a *.replication.throttled.replicas value) names
// broker's replica of partition.
func throttledReplica(list string, partition, broker int32) bool {
	list = strings.TrimSpace(list)
	if list == "" {
		return false
	}
	if list == "*" {
		return true
	}
	want := strconv.Itoa(int(partition)) + ":" + strconv.Itoa(int(broker))
	return slices.ContainsFunc(strings.Split(list, ","), func(e string) bool { return strings.TrimSpace(e) == want })
}

// brokerRate is a throttle rate config for broker id: its own override, else the cluster
// default, else unlimited (0).
func brokerRate(img *metadata.Image, id int32, name string) int64 {
	for _, res := range []string{strconv.Itoa(int(id)), ""} {
		if v, ok := img.BrokerConfigs[res][name]; ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return 0
}

// applyThrottles sets the rates and each hosted partition's flags from img. The caller holds
// m.mu.
func (m *Manager) applyThrottlesLocked(img *metadata.Image) {
	m.leaderThrottle.setRate(brokerRate(img, m.cfg.NodeID, leaderThrottledRate))
	m.followerThrottle.setRate(brokerRate(img, m.cfg.NodeID, followerThrottledRate))
	for tp, p := range m.partitions {
		t := img.Topics[tp.Topic]
		if t == nil {
			continue
		}
		p.throttles.leader.Store(throttledReplica(t.Configs[leaderThrottledReplicas], tp.Partition, m.cfg.NodeID))
		p.throttles.follower.Store(throttledReplica(t.Configs[followerThrottledReplicas], tp.Partition, m.cfg.NodeID))
	}
}

// leaderThrottled reports whether the leader should hold back a fetch from follower id now:
// the partition is leader-throttled, the follower is not in the ISR and the quota is used up.
func (p *Partition) leaderThrottled(id int32) bool {
	if !p.throttles.leader.Load() {
		return false
	}
	p.mu.Lock()
	inSync := slices.Contains(p.isr, id)
	p.mu.Unlock()
	return !inSync && p.mgr.leaderThrottle.wait() > 0
}

// recordLeaderBytes counts n bytes served to follower id against the leader quota.
func (p *Partition) recordLeaderBytes(id int32, n int64) {
	if !p.throttles.leader.Load() {
		return
	}
	p.mu.Lock()
	inSync := slices.Contains(p.isr, id)
	p.mu.Unlock()
	if !inSync {
		p.mgr.leaderThrottle.record(n)
	}
}

// followerThrottled reports whether this follower's fetches of the partition count against
// the follower quota: it is follower-throttled and this broker is not in the ISR.
func (p *Partition) followerThrottled() bool {
	if !p.throttles.follower.Load() {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return !slices.Contains(p.isr, p.nodeID)
}
