package txn

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/controller"
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

// commitTimeout bounds how long a write waits for the high watermark.
const commitTimeout = 5 * time.Second

// Coordinator is this broker's transaction coordinator: one shard per __transaction_state
// partition it leads.
type Coordinator struct {
	cfg  Config
	log  *slog.Logger
	quit chan struct{}

	mu sync.RWMutex
	// Fields guarded by mu.
	numPartitions int32 // partitions of __transaction_state; 0 while the topic does not exist
	shards        map[int32]*shard
	closed        bool
	// wg counts the goroutines (loaders, completions, background checks) that Close waits
	// for; Add only under mu with closed false.
	wg sync.WaitGroup

	// goMu guards goStopped, so that goTracked, which runs with a shard's mu held, never
	// takes mu (lock order: mu, shard.mu, goMu). Close sets goStopped before waiting on wg.
	goMu      sync.Mutex
	goStopped bool

	createMu sync.Mutex // serializes creating __transaction_state

	// applyMu serializes Apply; appliedOffset (guarded by applyMu) makes it ignore an image
	// older than the last applied. Lock order: applyMu before mu.
	applyMu       sync.Mutex
	appliedOffset uint64
	applied       bool
}

// shard is the state of one __transaction_state partition this broker leads.
type shard struct {
	partition int32
	// ctx ends when the shard unloads: marker retries stop.
	ctx    context.Context
	cancel context.CancelFunc

	mu sync.Mutex
	// Fields guarded by mu.
	log      PartitionLog
	epoch    int32 // coordinator epoch: the partition's leader epoch at load
	loaded   bool  // replay finished
	unloaded bool  // leadership moved away (or the coordinator closed)
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
	c := &Coordinator{cfg: cfg, log: cfg.Logger, quit: make(chan struct{}), shards: map[int32]*shard{}}
	if c.cfg.OpenLog == nil {
		c.cfg.OpenLog = c.openReplicaLog
	}
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
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
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
	}()
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
	return replicaLog{p: p, now: c.now}, nil
}

// goTracked runs f in a goroutine Close waits for; it returns false, without running f, once
// the coordinator is closed.
func (c *Coordinator) goTracked(f func()) bool {
	c.goMu.Lock()
	defer c.goMu.Unlock()
	if c.goStopped {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
	return true
}

// Apply follows a new metadata image: it loads the shards of the __transaction_state
// partitions this broker now leads and unloads those it no longer leads.
func (c *Coordinator) Apply(img *metadata.Image) {
	c.applyMu.Lock()
	defer c.applyMu.Unlock()
	if c.applied && img.Offset < c.appliedOffset {
		return
	}
	c.applied, c.appliedOffset = true, img.Offset
	t := img.Topics[StateTopic]
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
		ctx, cancel := context.WithCancel(context.Background())
		s := &shard{partition: p, ctx: ctx, cancel: cancel, txns: map[string]*txnMetadata{}}
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
			unload(s)
		}
	}
}

// loadRetryBackoff is how long a shard whose load failed waits before trying again.
const loadRetryBackoff = time.Second

// load replays a shard's partition, makes its transactional ids available, and resumes the
// transactions that were writing markers.
func (c *Coordinator) load(s *shard) {
	for {
		l, err := c.cfg.OpenLog(s.partition)
		txns := map[string]*txnMetadata{}
		if err == nil {
			err = l.Replay(func(key, value []byte) {
				id, m, err := decodeTxnRecord(key, value)
				switch {
				case err != nil:
					c.log.Warn("skipping undecodable __transaction_state record", "partition", s.partition, "err", err)
				case m == nil:
					delete(txns, id)
				default:
					txns[id] = m
				}
			})
		}
		if err == nil {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.unloaded {
				return
			}
			s.log, s.epoch, s.txns, s.loaded = l, l.LeaderEpoch(), txns, true
			for _, m := range txns {
				if m.state == statePrepareCommit || m.state == statePrepareAbort {
					c.startCompletionLocked(s, m)
				}
			}
			c.log.Debug("loaded transaction coordinator partition", "partition", s.partition, "ids", len(txns))
			return
		}
		// The shard stays loading, so requests get COORDINATOR_LOAD_IN_PROGRESS and retry.
		c.log.Error("loading transaction coordinator partition failed; retrying", "partition", s.partition, "err", err)
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(loadRetryBackoff):
		}
	}
}

// unload drops a shard: its completions stop, and requests get NOT_COORDINATOR.
func unload(s *shard) {
	s.cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unloaded = true
	s.txns = nil
}

// Close stops the coordinator: every shard is unloaded, and Close returns once the loaders,
// completions and background checks have finished.
func (c *Coordinator) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	close(c.quit)
	shards := c.shards
	c.shards = map[int32]*shard{}
	c.mu.Unlock()
	for _, s := range shards {
		unload(s)
	}
	c.goMu.Lock()
	c.goStopped = true
	c.goMu.Unlock()
	c.wg.Wait()
}

// PartitionFor is the __transaction_state partition that holds a transactional id, as Kafka
// computes it (the same function as for groups).
func PartitionFor(transactionalID string, numPartitions int32) int32 {
	return group.PartitionFor(transactionalID, numPartitions)
}

// shardFor returns the loaded shard of a transactional id, with its mu held, or the error
// Kafka answers: NOT_COORDINATOR when another broker leads its partition (or the topic does
// not exist yet), COORDINATOR_LOAD_IN_PROGRESS while it loads.
func (c *Coordinator) shardFor(id string) (*shard, error) {
	c.mu.RLock()
	n := c.numPartitions
	var s *shard
	if n > 0 {
		s = c.shards[PartitionFor(id, n)]
	}
	closed := c.closed
	c.mu.RUnlock()
	switch {
	case closed:
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

// loadedShards returns the shards this broker leads, loaded or not.
func (c *Coordinator) allShards() []*shard {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*shard, 0, len(c.shards))
	for _, s := range c.shards {
		out = append(out, s)
	}
	return out
}

// waitCommitted waits for a write that ended at offset next to be committed; 0 means nothing
// was written.
func waitCommitted(ctx context.Context, l PartitionLog, next int64) error {
	if l == nil || next == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	return l.WaitCommitted(ctx, next)
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
	ctrl := c.cfg.Controller
	if ctrl == nil {
		return nil, kerr.CoordinatorNotAvailable
	}
	if img := ctrl.Image(); img.Topics[StateTopic] != nil && len(img.Topics[StateTopic].Partitions) > 0 {
		return img, nil
	}
	c.createMu.Lock()
	defer c.createMu.Unlock()
	img := ctrl.Image()
	if img.Topics[StateTopic] == nil {
		b := c.cfg.Broker
		// As for __consumer_offsets: never ask for more replicas than there are live brokers.
		rf := b.TransactionStateLogReplicationFactor
		if live := int16(liveBrokers(img)); live < rf {
			rf = max(live, 1)
		}
		compact := "compact"
		segment := strconv.Itoa(int(b.TransactionStateLogSegmentBytes))
		res := ctrl.CreateTopics(ctx, []controller.TopicSpec{{
			Name:              StateTopic,
			NumPartitions:     b.TransactionStateLogNumPartitions,
			ReplicationFactor: rf,
			Configs:           map[string]*string{"cleanup.policy": &compact, "segment.bytes": &segment},
		}}, false)
		if err := res[0].Err; err != nil && !isCode(err, kerr.TopicAlreadyExists) {
			c.log.Warn("creating __transaction_state failed", "err", err, "message", res[0].Message)
			return nil, kerr.CoordinatorNotAvailable
		}
		img = ctrl.Image()
		if c.cfg.Replicas != nil {
			if err := c.cfg.Replicas.Apply(img); err != nil {
				c.log.Error("opening __transaction_state failed", "err", err)
			}
		}
		c.Apply(img)
	}
	if img.Topics[StateTopic] == nil || len(img.Topics[StateTopic].Partitions) == 0 {
		return nil, kerr.CoordinatorNotAvailable
	}
	return img, nil
}

func liveBrokers(img *metadata.Image) int {
	n := 0
	for _, b := range img.Brokers {
		if !b.Fenced {
			n++
		}
	}
	return n
}

func isCode(err error, want *kerr.Error) bool {
	ke, ok := err.(*kerr.Error)
	return ok && ke.Code == want.Code
}
