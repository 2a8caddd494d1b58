package group

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/group/consumergroup"
	"github.com/gregorhq/gregor/internal/group/sharegroup"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/replica"
)

// Config configures a Coordinator.
type Config struct {
	NodeID int32
	// Broker supplies the group.* and offset* settings.
	Broker config.Broker
	// Controller creates __consumer_offsets on first use; Replicas hosts its partitions. Both
	// may be nil when OpenLog is set (unit tests), and then the topic is never created.
	Controller *controller.Controller
	Replicas   *replica.Manager
	// OpenLog opens a __consumer_offsets partition; by default, the replica manager's.
	OpenLog func(partition int32) (PartitionLog, error)
	// Clock is the time source; SystemClock when nil.
	Clock  Clock
	Logger *slog.Logger
	// OnOffsetCommit, when set, is told of every offset committed through OffsetCommit, after
	// the commit is durable (in the high watermark of __consumer_offsets) and before the
	// client is answered, and of every transactional offset when its transaction's COMMIT
	// marker is written (no group lock held); at is the commit time. Consumer-lag evaluation watches commits this
	// way instead of reading __consumer_offsets again. It must not block.
	OnOffsetCommit func(group, topic string, partition int32, offset int64, at time.Time)
	// OnGroupDeleted, when set, is told of a group DeleteGroups removed, so whatever
	// OnOffsetCommit fed can forget it. It must not block.
	OnGroupDeleted func(group string)
	// OnShareMemberRemoved, when set, is told of a share group member that left
	// (ShareGroupHeartbeat with epoch -1) or whose session timed out, with no coordinator
	// lock held, so that the share-partition manager releases the records it holds and
	// drops its share session.
	OnShareMemberRemoved func(group, member string)
}

// commitTimeout bounds how long a write waits for the high watermark (Kafka's
// offsets.commit.timeout.ms default).
const commitTimeout = 5 * time.Second

// Coordinator is this broker's group coordinator: one shard per __consumer_offsets partition it
// leads.
type Coordinator struct {
	cfg   Config
	log   *slog.Logger
	clock Clock
	// consumerCfg is the settings of KIP-848 consumer groups, from cfg.Broker.
	consumerCfg consumergroup.Config
	// shareCfg is the settings of KIP-932 share groups, from cfg.Broker.
	shareCfg sharegroup.Config
	// topics is the latest image's topics, as consumer groups see them; the map it points to
	// is never modified.
	topics atomic.Pointer[map[string]consumergroup.TopicInfo]

	mu sync.RWMutex
	// Fields guarded by mu.
	numPartitions int32 // partitions of __consumer_offsets; 0 while the topic does not exist
	shards        map[int32]*shard
	closed        bool
	// wg counts the goroutines (loaders, timer callbacks) that Close waits for; Add only
	// under mu with closed false (see enter).
	wg sync.WaitGroup

	createMu sync.Mutex // serializes creating __consumer_offsets

	// rebalances counts the classic groups' completed joins (new generations), for metrics.
	rebalances atomic.Int64

	// applyMu serializes Apply. Callers hand it images without ordering among themselves;
	// appliedOffset (guarded by applyMu) makes it ignore one older than the last applied, so
	// a stale image never unloads shards of a newer one. Lock order: applyMu before mu.
	applyMu       sync.Mutex
	appliedOffset uint64
	applied       bool
}

// shard is the state of one __consumer_offsets partition this broker leads.
type shard struct {
	partition int32
	log       PartitionLog

	// txns indexes the groups with pending transactional offsets by producer id; it has its
	// own lock (see openTxns).
	txns *openTxns

	mu sync.Mutex
	// Fields guarded by mu.
	loaded   bool // replay finished
	unloaded bool // leadership moved away (or the coordinator closed): the shard is gone
	groups   map[string]*Group
	// markersWhileLoading are the transaction markers written while the shard loads; those
	// the replay did not read are applied when it is loaded.
	markersWhileLoading []txnMarker
}

// New returns a coordinator that serves nothing until Apply (or setLeadership) tells it which
// partitions it leads.
func New(cfg Config) *Coordinator {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	c := &Coordinator{cfg: cfg, log: cfg.Logger, clock: cfg.Clock, shards: map[int32]*shard{}, consumerCfg: consumerConfig(cfg.Broker),
		shareCfg: shareConfig(cfg.Broker)}
	if c.cfg.OpenLog == nil {
		c.cfg.OpenLog = c.openReplicaLog
	}
	if cfg.Replicas != nil {
		cfg.Replicas.OnTxnMarker(OffsetsTopic, c.onTxnMarker)
	}
	c.scheduleExpiry()
	return c
}

func (c *Coordinator) openReplicaLog(partition int32) (PartitionLog, error) {
	if c.cfg.Replicas == nil {
		return nil, kerr.CoordinatorNotAvailable
	}
	p, err := c.cfg.Replicas.Partition(OffsetsTopic, partition)
	if err != nil {
		return nil, err
	}
	return replicaLog{p: p, now: func() int64 { return c.clock.Now().UnixMilli() }}, nil
}

// enter registers a goroutine (a timer callback, a loader) that Close must wait for; it
// returns false once the coordinator is closed, and then the goroutine must not run.
func (c *Coordinator) enter() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	return true
}

func (c *Coordinator) leave() { c.wg.Done() }

// afterFunc runs f after d unless the coordinator has closed by then.
func (c *Coordinator) afterFunc(d time.Duration, f func()) func() bool {
	return c.clock.AfterFunc(d, func() {
		if !c.enter() {
			return
		}
		defer c.leave()
		f()
	})
}

// Apply follows a new metadata image: it loads the shards of the __consumer_offsets partitions
// this broker now leads and unloads those it no longer leads, and gives consumer groups the
// image's topics.
func (c *Coordinator) Apply(img *metadata.Image) {
	c.applyMu.Lock()
	defer c.applyMu.Unlock()
	if c.applied && img.Offset < c.appliedOffset {
		return
	}
	c.applied, c.appliedOffset = true, img.Offset
	defer c.applyTopics(img)
	t := img.Topics[OffsetsTopic]
	if t == nil {
		c.setLeadership(0, nil)
		return
	}
	var led []int32
	for _, p := range t.Partitions {
		if p.Leader == c.cfg.NodeID {
			led = append(led, p.ID)
		}
	}
	c.setLeadership(int32(len(t.Partitions)), led)
}

// setLeadership is Apply's decision, given the partition count and the partitions led.
func (c *Coordinator) setLeadership(numPartitions int32, led []int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.numPartitions = numPartitions
	want := map[int32]bool{}
	for _, p := range led {
		want[p] = true
		if c.shards[p] != nil {
			continue
		}
		s := &shard{partition: p, groups: map[string]*Group{}, txns: newOpenTxns()}
		c.shards[p] = s
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.load(s)
		}()
	}
	for p, s := range c.shards {
		if !want[p] {
			delete(c.shards, p)
			c.unload(s)
		}
	}
}

// loadRetryBackoff is how long a shard whose load failed waits before trying again.
const loadRetryBackoff = time.Second

// load replays a shard's partition and makes its groups available.
func (c *Coordinator) load(s *shard) {
	start := c.clock.Now()
	l, err := c.cfg.OpenLog(s.partition)
	var groups map[string]*Group
	var next int64
	if err == nil {
		groups, next, err = c.replay(s, l)
	}
	if err != nil {
		// The shard stays loading, so requests get COORDINATOR_LOAD_IN_PROGRESS and retry,
		// and the load is tried again shortly unless leadership moves away meanwhile.
		c.log.Error("loading group coordinator partition failed; retrying", "partition", s.partition, "err", err)
		c.afterFunc(loadRetryBackoff, func() {
			s.mu.Lock()
			gone := s.unloaded
			s.mu.Unlock()
			if !gone {
				c.load(s)
			}
		})
		return
	}
	s.mu.Lock()
	var committed []groupCommit
	defer func() {
		s.mu.Unlock()
		c.notifyCommits(committed) // markers written while loading: live commits
	}()
	if s.unloaded {
		return
	}
	s.log = l
	s.groups = groups
	for _, m := range s.markersWhileLoading {
		if m.offset >= next {
			committed = append(committed, completeTxn(s, groups, m.producerID, m.commit, m.offset)...)
		}
	}
	s.markersWhileLoading = nil
	for _, g := range groups {
		g.mu.Lock()
		g.afterLoadLocked()
		g.mu.Unlock()
	}
	s.loaded = true
	level := slog.LevelInfo
	if len(groups) == 0 {
		level = slog.LevelDebug
	}
	c.log.Log(context.Background(), level, "loaded group coordinator partition", "partition", s.partition, "groups", len(groups),
		"took", c.clock.Now().Sub(start))
}

// unload drops a shard: its groups' waiters are told NOT_COORDINATOR and their timers stop.
func (c *Coordinator) unload(s *shard) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unloaded = true
	for _, g := range s.groups {
		g.mu.Lock()
		g.shutdownLocked(kerr.NotCoordinator.Code)
		g.mu.Unlock()
	}
	s.groups = nil
}

// Close stops the coordinator: every shard is unloaded, and Close returns once the loaders and
// timer callbacks have finished.
func (c *Coordinator) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	shards := c.shards
	c.shards = map[int32]*shard{}
	c.mu.Unlock()
	for _, s := range shards {
		c.unload(s)
	}
	c.wg.Wait()
}

// shardFor returns the loaded shard of a group, or the error Kafka answers: NOT_COORDINATOR
// when another broker leads its partition (or the topic does not exist yet),
// COORDINATOR_LOAD_IN_PROGRESS while it loads. The shard's mu is held on success.
func (c *Coordinator) shardFor(groupID string) (*shard, error) {
	c.mu.RLock()
	n := c.numPartitions
	var s *shard
	if n > 0 {
		s = c.shards[PartitionFor(groupID, n)]
	}
	closed := c.closed
	c.mu.RUnlock()
	switch {
	case closed || n == 0:
		return nil, kerr.CoordinatorNotAvailable
	case s == nil:
		return nil, kerr.NotCoordinator
	}
	s.mu.Lock()
	switch {
	case s.unloaded:
		s.mu.Unlock()
		return nil, kerr.NotCoordinator
	case !s.loaded:
		s.mu.Unlock()
		return nil, kerr.CoordinatorLoadInProgress
	}
	return s, nil
}

// group returns a group, creating an empty classic group when create is set; nil when it
// does not exist. The group's mu is held when it is returned.
func (c *Coordinator) group(groupID string, create bool) (*Group, error) {
	s, err := c.shardFor(groupID)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	g := s.groups[groupID]
	if g == nil {
		if !create {
			return nil, nil
		}
		g = c.newGroup(s, groupID)
		s.groups[groupID] = g
	}
	g.mu.Lock()
	return g, nil
}

// shards returns the loaded shards.
func (c *Coordinator) loadedShards() []*shard {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*shard, 0, len(c.shards))
	for _, s := range c.shards {
		out = append(out, s)
	}
	return out
}

// waitCommitted waits for a write that ended at offset next to be committed. A zero next means
// nothing was written.
func (c *Coordinator) waitCommitted(ctx context.Context, l PartitionLog, next int64) error {
	if l == nil || next == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	return l.WaitCommitted(ctx, next)
}

// Loaded reports whether this broker leads partition p of __consumer_offsets and has loaded it.
func (c *Coordinator) Loaded(p int32) bool {
	c.mu.RLock()
	s := c.shards[p]
	c.mu.RUnlock()
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loaded && !s.unloaded
}
