package share

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/replica"
)

// Clock is the manager's time source: the current time and timers (acquisition locks).
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d; stop cancels it.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }
func (systemClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// Members answers whether a member belongs to a share group, and whether it is assigned a
// partition (the group coordinator). An error means the coordinator cannot say (it is on
// another broker, or loading); the manager then does not check.
type Members interface {
	ShareMember(groupID, memberID string, topicID [16]byte, partition int32) (member, assigned bool, err error)
}

// Config configures a Manager.
type Config struct {
	NodeID int32
	// Broker supplies the group.share.* settings.
	Broker     config.Broker
	Controller *controller.Controller
	Replicas   *replica.Manager
	Members    Members
	// Request sends req to broker id over the inter-broker listener and returns its answer:
	// __share_group_state is written and read through it when another broker leads it.
	// When nil, only a state topic this broker leads is usable.
	Request func(ctx context.Context, id int32, req kmsg.Request) (kmsg.Response, error)
	// OnStartOffset, when set, is told of every share-partition's start offset (SPSO) when
	// the share-partition is first used and whenever the offset moves, as the lag evaluator
	// is told of a consumer group's commits (the group coordinator's OnOffsetCommit
	// signature). It is called with the share-partition's lock held and must not block or
	// call back into the Manager.
	OnStartOffset func(group, topic string, partition int32, offset int64, at time.Time)
	// Clock is the time source; the wall clock when nil.
	Clock  Clock
	Logger *slog.Logger
}

// partKey names a share-partition.
type partKey struct {
	group     string
	topicID   [16]byte
	partition int32
}

// entry is one share-partition and what the manager keeps beside it.
type entry struct {
	key   partKey
	topic string // the topic's name, for reads and the dead-letter topic
	// leaderEpoch is the data partition's leader epoch when this broker took the
	// share-partition. Invariant: the entry is served and written only while this broker
	// leads the partition in that epoch (leads); once leadership moved, the new leader
	// serves it from __share_group_state and this entry is dropped (dropStale).
	leaderEpoch int32

	mu sync.Mutex
	// Guarded by mu.
	sp *SharePartition
	// timerStop cancels the lock-expiry timer; timerSeq invalidates timers that fired
	// after being replaced.
	timerStop func() bool
	timerSeq  int
	// reported is the start offset last told to Config.OnStartOffset, -1 before the first.
	reported int64
	// deleted is set when DeleteOffsets dropped the share-partition: a fetch still holding
	// the entry must not write its state back.
	deleted bool
}

// sessionKey names a share session: Kafka keeps one per group member per broker.
type sessionKey struct{ group, member string }

type tidp struct {
	topicID   [16]byte
	partition int32
}

// session is a share session: its epoch and the partitions it fetches.
type session struct {
	epoch int32 // the epoch the next request must carry
	parts map[tidp]struct{}
}

// Manager is this broker's share-partition manager (Kafka's SharePartitionManager): the
// share-partitions of the partitions it leads, the share sessions of the members fetching
// from it, and the durable state in __share_group_state.
//
// Lock order: see the package comment.
type Manager struct {
	cfg    Config
	clock  Clock
	log    *slog.Logger
	limits Limits

	mu sync.Mutex
	// Guarded by mu.
	entries  map[partKey]*entry
	sessions map[sessionKey]*session
	closed   bool

	// availMu guards avail, a channel closed (and replaced) whenever records become
	// available again without an append to the log (a release or an expired lock), so that
	// long-polling fetches wake.
	availMu sync.Mutex
	avail   chan struct{}

	// readState replays __share_group_state: readStateLog, replaced in unit tests.
	readState func() (map[partKey]*SharePartition, error)

	storeMu sync.Mutex
	// Guarded by storeMu.
	// stored is the state replayed from __share_group_state, taken by the share-partitions
	// when they are first used.
	stored map[partKey]*SharePartition
}

// New returns a manager.
func New(cfg Config) *Manager {
	if cfg.Clock == nil {
		cfg.Clock = systemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	b := cfg.Broker
	m := &Manager{
		cfg: cfg, clock: cfg.Clock, log: cfg.Logger,
		limits: Limits{
			LockDuration:       time.Duration(max(b.GroupShareRecordLockDurationMs, 1)) * time.Millisecond,
			DeliveryCountLimit: int16(max(b.GroupShareDeliveryCountLimit, 1)),
			MaxRecordLocks:     int64(max(b.GroupSharePartitionMaxRecordLocks, 1)),
		},
		entries:  map[partKey]*entry{},
		sessions: map[sessionKey]*session{},
		avail:    make(chan struct{}),
	}
	m.readState = m.readStateLog
	return m
}

// Close stops the lock timers.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	entries := m.entries
	m.mu.Unlock()
	for _, e := range entries {
		e.mu.Lock()
		if e.timerStop != nil {
			e.timerStop()
		}
		e.timerSeq++
		e.mu.Unlock()
	}
}

// LockDuration is the acquisition lock duration, sent in ShareFetch responses.
func (m *Manager) LockDuration() time.Duration { return m.limits.LockDuration }

// availableChan returns the channel closed at the next release.
func (m *Manager) availableChan() <-chan struct{} {
	m.availMu.Lock()
	defer m.availMu.Unlock()
	return m.avail
}

func (m *Manager) signalAvailable() {
	m.availMu.Lock()
	close(m.avail)
	m.avail = make(chan struct{})
	m.availMu.Unlock()
}

// topicByID returns the image's topic with id, and whether this broker leads partition.
func (m *Manager) topicByID(id [16]byte, partition int32) (*metadata.Topic, error) {
	img := m.cfg.Controller.Image()
	t := img.TopicsByID[metadata.UUID(id)]
	if t == nil {
		return nil, kerr.UnknownTopicID
	}
	if partition < 0 || int(partition) >= len(t.Partitions) {
		return nil, kerr.UnknownTopicOrPartition
	}
	if t.Partitions[partition].Leader != m.cfg.NodeID {
		return nil, kerr.NotLeaderForPartition
	}
	return t, nil
}

// entryFor returns the share-partition of (group, topic id, partition), creating it on first
// use from the durable state, or at the start share.auto.offset.reset says.
func (m *Manager) entryFor(group string, id [16]byte, partition int32) (*entry, *replica.Partition, error) {
	t, err := m.topicByID(id, partition)
	if err != nil {
		return nil, nil, err
	}
	p, err := m.cfg.Replicas.Partition(t.Name, partition)
	if err != nil {
		return nil, nil, err
	}
	start := func() int64 {
		if m.cfg.Broker.GroupShareAutoOffsetReset == "earliest" {
			return p.LogStartOffset()
		}
		return p.HighWatermark()
	}
	e, err := m.entryForKey(partKey{group, id, partition}, t.Name, t.Partitions[partition].LeaderEpoch, start)
	if err != nil {
		return nil, nil, err
	}
	return e, p, nil
}

// entryForKey returns the entry of share-partition k for the data partition's leader epoch
// epoch, creating it on first use from the durable state, or fresh at start() when there is
// none. An entry of an earlier epoch is dropped first: this broker lost the partition since
// and got it back, and another leader may have changed the state in between.
func (m *Manager) entryForKey(k partKey, topic string, epoch int32, start func() int64) (*entry, error) {
	m.mu.Lock()
	e := m.entries[k]
	m.mu.Unlock()
	if e != nil && e.leaderEpoch == epoch {
		return e, nil
	}
	// Taking the stored state and inserting the entry happen under storeMu, so that two
	// first uses of k cannot both miss: the second finds the entry the first inserted
	// rather than a stored state already taken.
	m.storeMu.Lock()
	defer m.storeMu.Unlock()
	m.mu.Lock()
	e = m.entries[k]
	m.mu.Unlock()
	if e != nil {
		if e.leaderEpoch == epoch {
			return e, nil
		}
		m.dropStale(e)
	}
	sp, err := m.takeStoredLocked(k)
	if err != nil {
		return nil, err
	}
	if sp == nil {
		sp = NewSharePartition(start(), m.limits)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e = &entry{key: k, topic: topic, sp: sp, reported: -1, leaderEpoch: epoch}
	m.entries[k] = e
	e.mu.Lock()
	m.reportLocked(e)
	e.mu.Unlock()
	return e, nil
}

// leads reports whether this broker still leads e's data partition in the epoch e was taken
// in (the entry's invariant).
func (m *Manager) leads(e *entry) bool {
	t := m.cfg.Controller.Image().TopicsByID[metadata.UUID(e.key.topicID)]
	if t == nil || int(e.key.partition) >= len(t.Partitions) {
		return false
	}
	p := t.Partitions[e.key.partition]
	return p.Leader == m.cfg.NodeID && p.LeaderEpoch == e.leaderEpoch
}

// dropStale forgets e, whose data partition this broker no longer leads in e's epoch: its
// timers stop and it writes nothing more (deleted), so that it cannot overwrite what the new
// leader writes. What its members held is not released here: the new leader loaded the state
// with it AVAILABLE.
func (m *Manager) dropStale(e *entry) {
	m.mu.Lock()
	if m.entries[e.key] == e {
		delete(m.entries, e.key)
	}
	m.mu.Unlock()
	e.mu.Lock()
	e.deleted = true
	if e.timerStop != nil {
		e.timerStop()
		e.timerStop = nil
	}
	e.timerSeq++
	e.mu.Unlock()
}

// afterChangeLocked runs after the share-partition's state changed: it writes the state,
// re-arms the lock timer, and wakes waiting fetches when records became available. It
// returns the state write, which a caller answering a client waits for (waitDurable) once
// e.mu is released.
func (m *Manager) afterChangeLocked(e *entry, released bool) *replica.PendingWrite {
	w := m.persistLocked(e)
	m.reportLocked(e)
	m.armTimerLocked(e)
	if released {
		m.signalAvailable()
	}
	return w
}

// armTimerLocked sets e's timer to its next acquisition lock deadline.
func (m *Manager) armTimerLocked(e *entry) {
	if e.timerStop != nil {
		e.timerStop()
		e.timerStop = nil
	}
	e.timerSeq++
	next := e.sp.NextLockDeadline()
	if next.IsZero() || e.deleted {
		return
	}
	seq := e.timerSeq
	e.timerStop = m.clock.AfterFunc(next.Sub(m.clock.Now()), func() {
		m.mu.Lock()
		closed := m.closed
		m.mu.Unlock()
		if closed {
			return
		}
		m.expire(e, seq)
	})
}

// expire releases e's expired acquisition locks.
func (m *Manager) expire(e *entry, seq int) {
	e.mu.Lock()
	if seq != e.timerSeq {
		e.mu.Unlock()
		return
	}
	e.timerStop = nil
	archived, changed := e.sp.ExpireLocks(m.clock.Now())
	if changed {
		m.afterChangeLocked(e, true)
	} else {
		m.armTimerLocked(e)
	}
	e.mu.Unlock()
	m.deadLetter(e, archived)
}

// ExpireLocks releases every expired acquisition lock now (tests with a manual clock call
// it instead of waiting for the timers).
func (m *Manager) ExpireLocks() {
	m.mu.Lock()
	entries := make([]*entry, 0, len(m.entries))
	for _, e := range m.entries {
		entries = append(entries, e)
	}
	m.mu.Unlock()
	for _, e := range entries {
		e.mu.Lock()
		seq := e.timerSeq
		e.mu.Unlock()
		m.expire(e, seq)
	}
}

// releaseMember releases everything member holds in the share-partitions of group (its
// session closed).
func (m *Manager) releaseMember(group, member string, parts map[tidp]struct{}) {
	for tp := range parts {
		m.mu.Lock()
		e := m.entries[partKey{group, tp.topicID, tp.partition}]
		m.mu.Unlock()
		if e == nil {
			continue
		}
		e.mu.Lock()
		archived := e.sp.ReleaseMember(member)
		m.afterChangeLocked(e, true)
		e.mu.Unlock()
		m.deadLetter(e, archived)
	}
}

// MemberRemoved releases everything member holds in the share-partitions of group and drops
// its share session: the group coordinator calls it when the member leaves the group or its
// session times out, so its records go to the other members at once rather than when their
// acquisition locks expire.
func (m *Manager) MemberRemoved(group, member string) {
	m.mu.Lock()
	delete(m.sessions, sessionKey{group, member})
	var entries []*entry
	for k, e := range m.entries {
		if k.group == group {
			entries = append(entries, e)
		}
	}
	m.mu.Unlock()
	for _, e := range entries {
		e.mu.Lock()
		if !e.sp.Holds(member) {
			e.mu.Unlock()
			continue
		}
		archived := e.sp.ReleaseMember(member)
		m.afterChangeLocked(e, true)
		e.mu.Unlock()
		m.deadLetter(e, archived)
	}
}

// createTopic creates an internal topic with one partition and rf replicas (at most the
// live brokers) when it does not exist.
func (m *Manager) createTopic(ctx context.Context, name string, rf int16, configs map[string]*string) error {
	img := m.cfg.Controller.Image()
	if img.Topics[name] != nil {
		return nil
	}
	live := int16(0)
	for _, b := range img.Brokers {
		if !b.Fenced {
			live++
		}
	}
	rf = max(min(rf, live), 1)
	res := m.cfg.Controller.CreateTopics(ctx, []controller.TopicSpec{{Name: name, NumPartitions: 1, ReplicationFactor: rf, Configs: configs}}, false)
	if err := res[0].Err; err != nil {
		if ke, ok := err.(*kerr.Error); !ok || ke.Code != kerr.TopicAlreadyExists.Code {
			return err
		}
	}
	return nil
}

// ensureTopic creates an internal topic with one partition and rf replicas when it does not
// exist, and returns this broker's replica of it.
func (m *Manager) ensureTopic(ctx context.Context, name string, rf int16, configs map[string]*string) (*replica.Partition, error) {
	if p, err := m.cfg.Replicas.Partition(name, 0); err == nil {
		return p, nil
	}
	if err := m.createTopic(ctx, name, rf, configs); err != nil {
		return nil, err
	}
	if err := m.cfg.Replicas.Apply(m.cfg.Controller.Image()); err != nil {
		return nil, err
	}
	return m.cfg.Replicas.Partition(name, 0)
}
