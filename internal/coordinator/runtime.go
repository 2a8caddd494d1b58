package coordinator

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/metadata"
)

// State is where a shard is in its lifecycle: Loading, then Active, then Unloaded. A shard
// never goes back; when this broker leads the partition again, a new shard loads.
type State int8

const (
	// Loading: this broker leads the partition and is replaying its log (or waiting to try
	// again after a failed replay). Requests get COORDINATOR_LOAD_IN_PROGRESS and retry.
	Loading State = iota
	// Active: the replay finished and the coordinator's state is installed; requests are
	// served.
	Active
	// Unloaded: leadership moved away, or the coordinator closed. A request that still
	// holds the shard gets NOT_COORDINATOR and finds the new leader.
	Unloaded
)

// Shard is the runtime's part of a coordinator's shard: the partition, its lifecycle state
// and the lock that guards it. A coordinator's shard type embeds it, and keeps its own state
// (groups, transactional ids) under the same lock.
type Shard struct {
	partition int32
	// ctx ends when the shard unloads: work on its behalf (marker retries) stops.
	ctx    context.Context
	cancel context.CancelFunc

	mu sync.Mutex
	// Fields guarded by mu (and the coordinator's fields it says so of).
	state State
}

// shardBase gives the runtime the embedded Shard of a coordinator's shard type.
func (s *Shard) shardBase() *Shard { return s }

// Sharded is a coordinator's shard type: a struct that embeds Shard.
type Sharded interface {
	shardBase() *Shard
}

// Partition is the shard's partition of the internal topic.
func (s *Shard) Partition() int32 { return s.partition }

// Context ends when the shard unloads.
func (s *Shard) Context() context.Context { return s.ctx }

// Lock takes the shard's lock, which guards its state and the coordinator's state in it.
func (s *Shard) Lock() { s.mu.Lock() }

// Unlock releases the shard's lock.
func (s *Shard) Unlock() { s.mu.Unlock() }

// StateLocked is the shard's state; the shard's lock is held.
func (s *Shard) StateLocked() State { return s.state }

// ActiveLocked reports whether the shard is Active; the shard's lock is held.
func (s *Shard) ActiveLocked() bool { return s.state == Active }

// Activate ends a load: unless the shard has unloaded meanwhile, it runs install (which puts
// the replayed state in place) and makes the shard Active, both under the shard's lock, so a
// request sees either a loading shard or the whole replayed state. It reports whether it did.
func (s *Shard) Activate(install func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != Loading {
		return false
	}
	install()
	s.state = Active
	return true
}

// Config configures a Runtime.
type Config[S Sharded] struct {
	// Topic is the internal topic; NodeID is this broker, whose partitions of it Apply loads.
	Topic  string
	NodeID int32
	// PartitionFor is the partition of a key (group id, transactional id) among n.
	PartitionFor func(key string, n int32) int32
	// NoTopicErr is what ShardFor answers while the topic does not exist (or Apply has not
	// seen it): the group coordinator answers COORDINATOR_NOT_AVAILABLE, the transaction
	// coordinator NOT_COORDINATOR, as they always have.
	NoTopicErr *kerr.Error
	// NewShard returns the coordinator's empty shard of a partition (its embedded Shard zero).
	// It is called with the runtime's lock held and must not block.
	NewShard func(partition int32) S
	// Load replays the shard's partition and ends with Shard.Activate. It runs in its own
	// goroutine with no lock held. An error leaves the shard Loading, and the load is tried
	// again after LoadRetryBackoff unless the shard unloads meanwhile.
	Load func(s S) error
	// Unload drops the coordinator's state of a shard (telling its waiters NOT_COORDINATOR).
	// It is called with the shard's lock held, the shard already Unloaded and its context
	// ended.
	Unload func(s S)
	// OnImage, when set, is given every image Apply follows (never one older than the last),
	// under Apply's lock.
	OnImage func(*metadata.Image)
	// AfterFunc runs f in its own goroutine after d (the coordinator's clock); time.AfterFunc
	// when nil.
	AfterFunc func(d time.Duration, f func()) (stop func() bool)
	Logger    *slog.Logger
}

// LoadRetryBackoff is how long a shard whose load failed waits before trying again.
const LoadRetryBackoff = time.Second

// Runtime follows which partitions of an internal topic this broker leads, and keeps one
// shard per partition: it loads a shard when this broker becomes the partition's leader,
// retries a failed load, unloads the shard when leadership moves away, and answers which
// shard serves a key, or the error a client gets instead. It also tracks the goroutines run
// on the coordinator's behalf, so that Close can wait for them.
//
// Lock order: applyMu, mu, a shard's lock, goMu.
type Runtime[S Sharded] struct {
	cfg Config[S]

	// applyMu serializes Apply. Callers hand it images without ordering among themselves;
	// appliedOffset (guarded by applyMu) makes it ignore one older than the last applied, so
	// a stale image never unloads shards of a newer one.
	applyMu       sync.Mutex
	appliedOffset uint64
	applied       bool

	mu sync.RWMutex
	// Fields guarded by mu.
	numPartitions int32 // partitions of the topic; 0 while it does not exist
	// shards are the partitions this broker leads. Invariant: a shard in it is not Unloaded
	// (it is removed before it unloads).
	shards map[int32]S
	closed bool

	// goMu guards goStopped, so that Go, which may run with a shard's lock held, never takes
	// mu. Close sets goStopped before waiting on wg.
	goMu      sync.Mutex
	goStopped bool
	// wg counts the goroutines Close waits for: loaders (Add under mu with closed false) and
	// those of Go and AfterFunc (Add under goMu with goStopped false).
	wg sync.WaitGroup
}

// New returns a runtime that leads nothing until Apply (or SetLeadership).
func New[S Sharded](cfg Config[S]) *Runtime[S] {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.AfterFunc == nil {
		cfg.AfterFunc = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	}
	if cfg.NoTopicErr == nil {
		cfg.NoTopicErr = kerr.NotCoordinator
	}
	return &Runtime[S]{cfg: cfg, shards: map[int32]S{}}
}

// Apply follows a new metadata image: it loads the shards of the partitions this broker now
// leads and unloads those it no longer leads.
func (r *Runtime[S]) Apply(img *metadata.Image) {
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	if r.applied && img.Offset < r.appliedOffset {
		return
	}
	r.applied, r.appliedOffset = true, img.Offset
	if r.cfg.OnImage != nil {
		defer r.cfg.OnImage(img)
	}
	t := img.Topics[r.cfg.Topic]
	if t == nil {
		r.SetLeadership(0, nil)
		return
	}
	var led []int32
	for _, p := range t.Partitions {
		if p.Leader == r.cfg.NodeID {
			led = append(led, p.ID)
		}
	}
	r.SetLeadership(int32(len(t.Partitions)), led)
}

// SetLeadership is Apply's decision, given the partition count and the partitions led.
func (r *Runtime[S]) SetLeadership(numPartitions int32, led []int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.numPartitions = numPartitions
	want := map[int32]bool{}
	for _, p := range led {
		want[p] = true
		if _, ok := r.shards[p]; ok {
			continue
		}
		s := r.cfg.NewShard(p)
		b := s.shardBase()
		b.partition = p
		b.ctx, b.cancel = context.WithCancel(context.Background())
		r.shards[p] = s
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.load(s)
		}()
	}
	for p, s := range r.shards {
		if !want[p] {
			delete(r.shards, p)
			r.unload(s)
		}
	}
}

// load runs the coordinator's load; a failure is retried after LoadRetryBackoff while the
// shard is still Loading (the shard stays Loading, so requests get
// COORDINATOR_LOAD_IN_PROGRESS and retry meanwhile).
func (r *Runtime[S]) load(s S) {
	err := r.cfg.Load(s)
	if err == nil {
		return
	}
	b := s.shardBase()
	r.cfg.Logger.Error("loading "+r.cfg.Topic+" partition failed; retrying", "partition", b.partition, "err", err)
	r.AfterFunc(LoadRetryBackoff, func() {
		b.mu.Lock()
		loading := b.state == Loading
		b.mu.Unlock()
		if loading {
			r.load(s)
		}
	})
}

// unload makes a shard Unloaded: its context ends, and the coordinator drops its state.
func (r *Runtime[S]) unload(s S) {
	b := s.shardBase()
	b.cancel()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.state = Unloaded
	r.cfg.Unload(s)
}

// Close unloads every shard and returns once the loaders and the goroutines of Go and
// AfterFunc have finished. Nothing loads or runs after it.
func (r *Runtime[S]) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	shards := r.shards
	r.shards = map[int32]S{}
	r.mu.Unlock()
	r.goMu.Lock()
	r.goStopped = true
	r.goMu.Unlock()
	for _, s := range shards {
		r.unload(s)
	}
	r.wg.Wait()
}

// ShardFor returns the Active shard of a key, with its lock held, or the error Kafka
// answers: COORDINATOR_NOT_AVAILABLE once closed, NoTopicErr while the topic does not
// exist, NOT_COORDINATOR when another broker leads the key's partition (or leadership has
// just moved away), COORDINATOR_LOAD_IN_PROGRESS while the shard loads.
func (r *Runtime[S]) ShardFor(key string) (S, error) {
	var zero S
	r.mu.RLock()
	n := r.numPartitions
	var s S
	ok := false
	if n > 0 {
		s, ok = r.shards[r.cfg.PartitionFor(key, n)]
	}
	closed := r.closed
	r.mu.RUnlock()
	switch {
	case closed:
		return zero, kerr.CoordinatorNotAvailable
	case n == 0:
		return zero, r.cfg.NoTopicErr
	case !ok:
		return zero, kerr.NotCoordinator
	}
	b := s.shardBase()
	b.mu.Lock()
	switch b.state {
	case Unloaded:
		b.mu.Unlock()
		return zero, kerr.NotCoordinator
	case Loading:
		b.mu.Unlock()
		return zero, kerr.CoordinatorLoadInProgress
	}
	return s, nil
}

// Shard returns the shard of a partition this broker leads, in whatever state.
func (r *Runtime[S]) Shard(partition int32) (S, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.shards[partition]
	return s, ok
}

// Shards returns the shards of the partitions this broker leads, in whatever state.
func (r *Runtime[S]) Shards() []S {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]S, 0, len(r.shards))
	for _, s := range r.shards {
		out = append(out, s)
	}
	return out
}

// Loaded reports whether this broker leads partition p and its shard is Active.
func (r *Runtime[S]) Loaded(p int32) bool {
	s, ok := r.Shard(p)
	if !ok {
		return false
	}
	b := s.shardBase()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state == Active
}

// Go runs f in a goroutine Close waits for; it returns false, without running f, once the
// runtime is closed. It may be called with a shard's lock held.
func (r *Runtime[S]) Go(f func()) bool {
	if !r.enter() {
		return false
	}
	go func() {
		defer r.wg.Done()
		f()
	}()
	return true
}

// AfterFunc runs f after d (on Config.AfterFunc's clock), as Go does, unless the runtime has
// closed by then. stop cancels it and reports whether it did so before f started.
func (r *Runtime[S]) AfterFunc(d time.Duration, f func()) (stop func() bool) {
	return r.cfg.AfterFunc(d, func() {
		if !r.enter() {
			return
		}
		defer r.wg.Done()
		f()
	})
}

// enter counts a goroutine Close must wait for; false once closed.
func (r *Runtime[S]) enter() bool {
	r.goMu.Lock()
	defer r.goMu.Unlock()
	if r.goStopped {
		return false
	}
	r.wg.Add(1)
	return true
}
