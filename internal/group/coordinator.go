package group

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/coordinator"
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

	// rt keeps one shard per __consumer_offsets partition this broker leads, loads and
	// unloads them as leadership moves, and tracks the goroutines Close waits for.
	rt *coordinator.Runtime[*shard]

	// topic creates __consumer_offsets on first use.
	topic *coordinator.InternalTopic

	// rebalances counts the classic groups' completed joins (new generations), for metrics.
	rebalances atomic.Int64
}

// shard is the state of one __consumer_offsets partition this broker leads.
type shard struct {
	// Shard is the partition, its lifecycle state (loading, active, unloaded) and the lock
	// that guards it and the fields below it says so of.
	coordinator.Shard

	// txns indexes the groups with pending transactional offsets by producer id; it has its
	// own lock (see openTxns).
	txns *openTxns

	// Fields guarded by the Shard's lock.
	log    PartitionLog // set when the shard becomes active
	groups map[string]*Group
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
	c := &Coordinator{cfg: cfg, log: cfg.Logger, clock: cfg.Clock, consumerCfg: consumerConfig(cfg.Broker),
		shareCfg: shareConfig(cfg.Broker)}
	c.rt = coordinator.New(coordinator.Config[*shard]{
		Topic: OffsetsTopic, NodeID: cfg.NodeID, PartitionFor: PartitionFor,
		NoTopicErr: kerr.CoordinatorNotAvailable,
		NewShard: func(int32) *shard {
			return &shard{groups: map[string]*Group{}, txns: newOpenTxns()}
		},
		Load:      c.load,
		Unload:    c.unloadLocked,
		OnImage:   c.applyTopics,
		AfterFunc: c.clock.AfterFunc,
		Logger:    cfg.Logger,
	})
	if c.cfg.OpenLog == nil {
		c.cfg.OpenLog = c.openReplicaLog
	}
	b := cfg.Broker
	c.topic = &coordinator.InternalTopic{Name: OffsetsTopic, NumPartitions: b.OffsetsTopicNumPartitions,
		ReplicationFactor: b.OffsetsTopicReplicationFactor, SegmentBytes: b.OffsetsTopicSegmentBytes,
		Controller: cfg.Controller, Replicas: cfg.Replicas, Apply: c.Apply, Logger: cfg.Logger}
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
	return replicaLog{coordinator.ReplicaLog{P: p, Now: func() int64 { return c.clock.Now().UnixMilli() }}}, nil
}

// afterFunc runs f after d unless the coordinator has closed by then.
func (c *Coordinator) afterFunc(d time.Duration, f func()) func() bool {
	return c.rt.AfterFunc(d, f)
}

// Apply follows a new metadata image: it loads the shards of the __consumer_offsets partitions
// this broker now leads and unloads those it no longer leads, and gives consumer groups the
// image's topics.
func (c *Coordinator) Apply(img *metadata.Image) { c.rt.Apply(img) }

// setLeadership is Apply's decision, given the partition count and the partitions led.
func (c *Coordinator) setLeadership(numPartitions int32, led []int32) {
	c.rt.SetLeadership(numPartitions, led)
}

// load replays a shard's partition and makes its groups available; an error leaves the shard
// loading, and the runtime tries again.
func (c *Coordinator) load(s *shard) error {
	start := c.clock.Now()
	l, err := c.cfg.OpenLog(s.Partition())
	if err != nil {
		return err
	}
	groups, next, err := c.replay(s, l)
	if err != nil {
		return err
	}
	var committed []groupCommit
	n := len(groups) // counted now: once active, the map is the shard's, under its lock
	activated := s.Activate(func() {
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
	})
	c.notifyCommits(committed) // markers written while loading: live commits
	if !activated {
		return nil
	}
	level := slog.LevelInfo
	if n == 0 {
		level = slog.LevelDebug
	}
	c.log.Log(context.Background(), level, "loaded group coordinator partition", "partition", s.Partition(), "groups", n,
		"took", c.clock.Now().Sub(start))
	return nil
}

// unloadLocked drops a shard (the runtime has made it unloaded; its lock is held): its
// groups' waiters are told NOT_COORDINATOR and their timers stop.
func (c *Coordinator) unloadLocked(s *shard) {
	for _, g := range s.groups {
		g.mu.Lock()
		g.shutdownLocked(kerr.NotCoordinator.Code)
		g.mu.Unlock()
	}
	s.groups = nil
}

// Close stops the coordinator: every shard is unloaded, and Close returns once the loaders and
// timer callbacks have finished.
func (c *Coordinator) Close() { c.rt.Close() }

// shardFor returns the loaded shard of a group, or the error Kafka answers: NOT_COORDINATOR
// when another broker leads its partition, COORDINATOR_NOT_AVAILABLE while the topic does not
// exist, COORDINATOR_LOAD_IN_PROGRESS while it loads. The shard's lock is held on success.
func (c *Coordinator) shardFor(groupID string) (*shard, error) {
	return c.rt.ShardFor(groupID)
}

// group returns a group, creating an empty classic group when create is set; nil when it
// does not exist. The group's mu is held when it is returned.
func (c *Coordinator) group(groupID string, create bool) (*Group, error) {
	s, err := c.shardFor(groupID)
	if err != nil {
		return nil, err
	}
	defer s.Unlock()
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

// loadedShards returns the shards of the partitions this broker leads, loaded or not.
func (c *Coordinator) loadedShards() []*shard { return c.rt.Shards() }

// waitCommitted waits for a write that ended at offset next to be committed. A zero next means
// nothing was written.
func (c *Coordinator) waitCommitted(ctx context.Context, l PartitionLog, next int64) error {
	return coordinator.WaitCommitted(ctx, l, next)
}

// Loaded reports whether this broker leads partition p of __consumer_offsets and has loaded it.
func (c *Coordinator) Loaded(p int32) bool { return c.rt.Loaded(p) }
