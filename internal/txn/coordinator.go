package txn

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/coordinator"
	"github.com/gregorhq/gregor/internal/group"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/replica"
)

// StateTopic is the internal topic that holds transactional ids' state.
const StateTopic = "__transaction_state"

// MarkerWriter writes one transaction's markers to the partitions it touched.
type MarkerWriter interface {
	// WriteTxnMarkers writes the marker to each partition and returns per topic and
	// partition the error of those that failed (nil map when all succeeded). Retriable
	// errors (NOT_LEADER_OR_FOLLOWER, ...) are retried by the coordinator.
	WriteTxnMarkers(ctx context.Context, producerID int64, producerEpoch int16, commit bool,
		coordinatorEpoch int32, partitions map[string][]int32) map[string]map[int32]error
}

// Config configures a Coordinator.
type Config struct {
	NodeID int32
	// Broker supplies the transaction.* settings and offsets.topic.num.partitions.
	Broker config.Broker
	// Controller creates __transaction_state on first use; Replicas hosts its partitions. Both
	// may be nil when OpenLog is set (unit tests), and then the topic is never created.
	Controller *controller.Controller
	Replicas   *replica.Manager
	// OpenLog opens a __transaction_state partition; by default, the replica manager's.
	OpenLog func(partition int32) (PartitionLog, error)
	// NextProducerID hands out a producer id never used before (ProducerIDManager.NextID).
	NextProducerID func(ctx context.Context) (int64, error)
	// Markers writes transaction markers.
	Markers MarkerWriter
	// Now is the time source; time.Now when nil.
	Now func() time.Time
	// MarkerRetryBackoff is the wait between attempts at markers that failed; 100ms when 0.
	MarkerRetryBackoff time.Duration
	// NoBackgroundChecks turns off the periodic timeout and expiration checks (unit tests
	// call AbortTimedOut and ExpireTransactionalIDs themselves).
	NoBackgroundChecks bool
	Logger             *slog.Logger
}

// Coordinator is this broker's transaction coordinator: one shard per __transaction_state
// partition it leads.
type Coordinator struct {
	cfg       Config
	log       *slog.Logger
	quit      chan struct{} // closed by Close: the background checks stop
	closeOnce sync.Once

	// rt keeps one shard per __transaction_state partition this broker leads, loads and
	// unloads them as leadership moves, and tracks the goroutines Close waits for (loaders,
	// completions, background checks).
	rt *coordinator.Runtime[*shard]

	// topic creates __transaction_state on first use.
	topic *coordinator.InternalTopic
}

// shard is the state of one __transaction_state partition this broker leads.
type shard struct {
	// Shard is the partition, its lifecycle state (loading, active, unloaded), a context
	// that ends when it unloads (marker retries stop), and the lock that guards it and the
	// fields below.
	coordinator.Shard

	// Fields guarded by the Shard's lock.
	log   PartitionLog // set when the shard becomes active
	epoch int32        // coordinator epoch: the partition's leader epoch at load
	// txns holds every transactional id of the partition. A *txnMetadata in it is never
	// modified: a change writes a new value and swaps it in (see writeLocked).
	txns map[string]*txnMetadata
}

// New returns a coordinator that serves nothing until Apply (or setLeadership) tells it which
// partitions it leads.
func New(cfg Config) *Coordinator {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MarkerRetryBackoff <= 0 {
		cfg.MarkerRetryBackoff = 100 * time.Millisecond
	}
	c := &Coordinator{cfg: cfg, log: cfg.Logger, quit: make(chan struct{})}
	c.rt = coordinator.New(coordinator.Config[*shard]{
		Topic: StateTopic, NodeID: cfg.NodeID, PartitionFor: PartitionFor,
		NoTopicErr: kerr.NotCoordinator,
		NewShard: func(int32) *shard {
			return &shard{txns: map[string]*txnMetadata{}}
		},
		Load:   c.load,
		Unload: func(s *shard) { s.txns = nil },
		Logger: cfg.Logger,
	})
	if c.cfg.OpenLog == nil {
		c.cfg.OpenLog = c.openReplicaLog
	}
	b := cfg.Broker
	// As for __consumer_offsets, the replication factor is capped at the live brokers.
	c.topic = &coordinator.InternalTopic{Name: StateTopic, NumPartitions: b.TransactionStateLogNumPartitions,
		ReplicationFactor: b.TransactionStateLogReplicationFactor, SegmentBytes: b.TransactionStateLogSegmentBytes,
		Controller: cfg.Controller, Replicas: cfg.Replicas, Apply: c.Apply, Logger: cfg.Logger}
	if !cfg.NoBackgroundChecks {
		b := cfg.Broker
		c.every(time.Duration(b.TransactionAbortTimedOutTransactionCleanupIntervalMs)*time.Millisecond, func() { c.AbortTimedOut() })
		c.every(time.Duration(b.TransactionRemoveExpiredTransactionCleanupIntervalMs)*time.Millisecond, func() { c.ExpireTransactionalIDs() })
	}
	return c
}

// every runs f every d until Close.
func (c *Coordinator) every(d time.Duration, f func()) {
	if d <= 0 {
		return
	}
	c.rt.Go(func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				f()
			case <-c.quit:
				return
			}
		}
	})
}

func (c *Coordinator) now() int64 { return c.cfg.Now().UnixMilli() }

func (c *Coordinator) openReplicaLog(partition int32) (PartitionLog, error) {
	if c.cfg.Replicas == nil {
		return nil, kerr.CoordinatorNotAvailable
	}
	p, err := c.cfg.Replicas.Partition(StateTopic, partition)
	if err != nil {
		return nil, err
	}
	return replicaLog{coordinator.ReplicaLog{P: p, Now: c.now}}, nil
}

// goTracked runs f in a goroutine Close waits for; it returns false, without running f, once
// the coordinator is closed. It may be called with a shard's lock held.
func (c *Coordinator) goTracked(f func()) bool { return c.rt.Go(f) }

// Apply follows a new metadata image: it loads the shards of the __transaction_state
// partitions this broker now leads and unloads those it no longer leads.
func (c *Coordinator) Apply(img *metadata.Image) { c.rt.Apply(img) }

// setLeadership is Apply's decision, given the partition count and the partitions led.
func (c *Coordinator) setLeadership(numPartitions int32, led []int32) {
	c.rt.SetLeadership(numPartitions, led)
}

// load replays a shard's partition, makes its transactional ids available, and resumes the
// transactions that were writing markers. An error leaves the shard loading, and the runtime
// tries again.
func (c *Coordinator) load(s *shard) error {
	l, err := c.cfg.OpenLog(s.Partition())
	if err != nil {
		return err
	}
	txns := map[string]*txnMetadata{}
	err = l.Replay(func(key, value []byte) {
		id, m, err := decodeTxnRecord(key, value)
		switch {
		case err != nil:
			c.log.Warn("skipping undecodable __transaction_state record", "partition", s.Partition(), "err", err)
		case m == nil:
			delete(txns, id)
		default:
			txns[id] = m
		}
	})
	if err != nil {
		return err
	}
	n := len(txns) // counted now: once active, the map is the shard's, under its lock
	if s.Activate(func() {
		s.log, s.epoch, s.txns = l, l.LeaderEpoch(), txns
		for _, m := range txns {
			if m.state == statePrepareCommit || m.state == statePrepareAbort {
				c.startCompletionLocked(s, m)
			}
		}
	}) {
		c.log.Debug("loaded transaction coordinator partition", "partition", s.Partition(), "ids", n)
	}
	return nil
}

// Close stops the coordinator: every shard is unloaded, and Close returns once the loaders,
// completions and background checks have finished.
func (c *Coordinator) Close() {
	c.closeOnce.Do(func() { close(c.quit) })
	c.rt.Close()
}

// PartitionFor is the __transaction_state partition that holds a transactional id, as Kafka
// computes it (the same function as for groups).
func PartitionFor(transactionalID string, numPartitions int32) int32 {
	return group.PartitionFor(transactionalID, numPartitions)
}

// shardFor returns the loaded shard of a transactional id, with its lock held, or the error
// Kafka answers: NOT_COORDINATOR when another broker leads its partition (or the topic does
// not exist yet), COORDINATOR_LOAD_IN_PROGRESS while it loads.
func (c *Coordinator) shardFor(id string) (*shard, error) { return c.rt.ShardFor(id) }

// allShards returns the shards this broker leads, loaded or not.
func (c *Coordinator) allShards() []*shard { return c.rt.Shards() }

// waitCommitted waits for a write that ended at offset next to be committed; 0 means nothing
// was written.
func waitCommitted(ctx context.Context, l PartitionLog, next int64) error {
	return coordinator.WaitCommitted(ctx, l, next)
}

// FindCoordinator returns the broker that coordinates a transactional id: the leader of its
// __transaction_state partition. The topic is created on first use, as Kafka does.
func (c *Coordinator) FindCoordinator(ctx context.Context, id string) (int32, error) {
	img, err := c.ensureTopic(ctx)
	if err != nil {
		return -1, err
	}
	t := img.Topics[StateTopic]
	p := t.Partitions[PartitionFor(id, int32(len(t.Partitions)))]
	if p.Leader < 0 {
		return -1, kerr.CoordinatorNotAvailable
	}
	return p.Leader, nil
}

// ensureTopic creates __transaction_state when it does not exist, and returns an image that
// has it.
func (c *Coordinator) ensureTopic(ctx context.Context) (*metadata.Image, error) {
	return c.topic.Ensure(ctx)
}
