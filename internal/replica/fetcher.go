package replica

import (
	"context"
	"errors"
	"hash/fnv"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/storage"
)

// Follower fetching (Kafka's ReplicaFetcherManager, ReplicaFetcherThread and
// AbstractFetcherThread). A follower runs num.replica.fetchers fetchers per leader broker;
// a partition goes to fetcher hash(topic, partition) mod that number. A fetcher loops:
//
//  1. partitions that just became followers of a new epoch ask the leader, with
//     OffsetForLeaderEpoch, where their latest epoch ends, and truncate a divergent tail;
//  2. one Fetch (v12+, replica id = this broker, current and last fetched leader epochs) for
//     all its other partitions, from their log end offsets;
//  3. the returned batches are appended as they are (Partition.appendFromLeader); a
//     DivergingEpoch answer truncates as in 1; an error backs the partition off for
//     replica.fetch.backoff.ms (a new leader epoch, from the next image, resets it).
//
// The leader long-polls each Fetch up to replica.fetch.wait.max.ms, so nothing here waits
// on a clock but the backoffs.

// fetcherKey names one fetcher: the leader broker, the address it is reached at, and which
// of the num.replica.fetchers it is.
type fetcherKey struct {
	leader int32
	addr   string
	index  int
}

// fetchers are the Manager's follower fetchers.
//
// Lock order: after Manager.mu (Apply adds and removes partitions under it); fetcher.mu after
// fetchers.mu.
type fetchers struct {
	m *Manager

	mu sync.Mutex
	// Guarded by mu.
	byKey     map[fetcherKey]*fetcher
	byTP      map[storage.TopicPartition]*fetcher
	stopped   bool
	loggedFor map[int32]bool // leaders whose missing endpoint was logged
}

func newFetchers(m *Manager) *fetchers {
	return &fetchers{m: m, byKey: map[fetcherKey]*fetcher{}, byTP: map[storage.TopicPartition]*fetcher{}, loggedFor: map[int32]bool{}}
}

// leaderAddr is the leader's inter-broker endpoint in img, "" when it has none.
func (fs *fetchers) leaderAddr(img *metadata.Image, leader int32) string {
	b, ok := img.Brokers[leader]
	if !ok {
		return ""
	}
	for _, e := range b.Endpoints {
		if fs.m.cfg.InterBrokerListener == "" || e.Name == fs.m.cfg.InterBrokerListener {
			return net.JoinHostPort(e.Host, strconv.Itoa(int(e.Port)))
		}
	}
	return ""
}

// add makes p fetched from leader at epoch, starting with the truncation check. A leader
// without a known endpoint is not fetched from until an image gives one.
func (fs *fetchers) add(p *Partition, img *metadata.Image, leader, epoch int32) {
	fs.remove(p.TP)
	if leader < 0 {
		return
	}
	addr := fs.leaderAddr(img, leader)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.stopped {
		return
	}
	if addr == "" {
		if !fs.loggedFor[leader] {
			fs.m.log.Warn("leader has no inter-broker endpoint; not fetching", "leader", leader,
				"listener", fs.m.cfg.InterBrokerListener)
			fs.loggedFor[leader] = true
		}
		return
	}
	h := fnv.New32a()
	h.Write([]byte(p.TP.Topic))
	h.Write([]byte{byte(p.TP.Partition >> 24), byte(p.TP.Partition >> 16), byte(p.TP.Partition >> 8), byte(p.TP.Partition)})
	key := fetcherKey{leader: leader, addr: addr, index: int(h.Sum32() % uint32(fs.m.cfg.NumReplicaFetchers))}
	f := fs.byKey[key]
	if f == nil {
		var err error
		if f, err = newFetcher(fs.m, key); err != nil {
			fs.m.log.Error("starting a replica fetcher failed", "leader", leader, "err", err)
			return
		}
		fs.byKey[key] = f
	}
	f.addPartition(p, epoch)
	fs.byTP[p.TP] = f
}

// remove stops fetching tp; a fetcher left without partitions stops.
func (fs *fetchers) remove(tp storage.TopicPartition) {
	fs.mu.Lock()
	f := fs.byTP[tp]
	if f == nil {
		fs.mu.Unlock()
		return
	}
	delete(fs.byTP, tp)
	empty := f.removePartition(tp)
	if empty {
		delete(fs.byKey, f.key)
	}
	fs.mu.Unlock()
	if empty {
		f.stop()
	}
}

// stopAll stops every fetcher and waits for them.
func (fs *fetchers) stopAll() {
	fs.mu.Lock()
	fs.stopped = true
	all := fs.byKey
	fs.byKey, fs.byTP = map[fetcherKey]*fetcher{}, map[storage.TopicPartition]*fetcher{}
	fs.mu.Unlock()
	for _, f := range all {
		f.stop()
	}
}

// fetchState is one partition of a fetcher.
type fetchState struct {
	p     *Partition
	epoch int32 // the leader epoch it follows
	// truncated is set once the OffsetForLeaderEpoch check of this epoch is done.
	truncated bool
	// delayedUntil backs the partition off after an error.
	delayedUntil time.Time
}

// fetcher fetches the partitions it was given from one leader.
type fetcher struct {
	m      *Manager
	key    fetcherKey
	cl     *kgo.Client
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	wake   chan struct{} // a partition was added

	mu sync.Mutex
	// Guarded by mu.
	parts map[storage.TopicPartition]*fetchState
}

func newFetcher(m *Manager, key fetcherKey) (*fetcher, error) {
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(key.addr),
		kgo.ClientID("gregor-replica-fetcher-" + strconv.Itoa(int(m.cfg.NodeID)) + "-" + strconv.Itoa(key.index)),
		kgo.RetryBackoffFn(func(int) time.Duration { return m.cfg.ReplicaFetchBackoff }),
	}, m.cfg.InterBrokerClientOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(m.ctx)
	f := &fetcher{m: m, key: key, cl: cl, ctx: ctx, cancel: cancel, done: make(chan struct{}),
		wake: make(chan struct{}, 1), parts: map[storage.TopicPartition]*fetchState{}}
	m.goTracked(f.run)
	return f, nil
}

func (f *fetcher) addPartition(p *Partition, epoch int32) {
	f.mu.Lock()
	f.parts[p.TP] = &fetchState{p: p, epoch: epoch}
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// removePartition drops tp and reports whether the fetcher has no partition left.
func (f *fetcher) removePartition(tp storage.TopicPartition) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.parts, tp)
	return len(f.parts) == 0
}

func (f *fetcher) stop() {
	f.cancel()
	<-f.done
}

func (f *fetcher) run() {
	defer close(f.done)
	defer f.cl.Close()
	for f.ctx.Err() == nil {
		now := time.Now()
		var truncate, fetch []*fetchState
		var nextRetry time.Time
		f.mu.Lock()
		for _, s := range f.parts {
			switch {
			case now.Before(s.delayedUntil):
				if nextRetry.IsZero() || s.delayedUntil.Before(nextRetry) {
					nextRetry = s.delayedUntil
				}
			case !s.truncated:
				truncate = append(truncate, s)
			case s.p.followerThrottled():
				// Left out while the follower quota is used up (throttle.go).
				if d := f.m.followerThrottle.wait(); d > 0 {
					until := now.Add(d)
					if nextRetry.IsZero() || until.Before(nextRetry) {
						nextRetry = until
					}
				} else {
					fetch = append(fetch, s)
				}
			default:
				fetch = append(fetch, s)
			}
		}
		f.mu.Unlock()
		switch {
		case len(truncate) > 0:
			f.truncate(truncate)
		case len(fetch) > 0:
			f.fetch(fetch)
		default:
			var retry <-chan time.Time
			var t *time.Timer
			if !nextRetry.IsZero() {
				t = time.NewTimer(time.Until(nextRetry))
				retry = t.C
			}
			select {
			case <-f.ctx.Done():
			case <-f.wake:
			case <-retry:
			}
			if t != nil {
				t.Stop()
			}
		}
	}
}

// current reports whether s is still the fetcher's state for its partition (Apply may have
// replaced or removed it while a request was out).
func (f *fetcher) current(s *fetchState) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.parts[s.p.TP] == s
}

// backOff delays the partitions for replica.fetch.backoff.ms.
func (f *fetcher) backOff(states ...*fetchState) {
	until := time.Now().Add(f.m.cfg.ReplicaFetchBackoff)
	f.mu.Lock()
	for _, s := range states {
		s.delayedUntil = until
	}
	f.mu.Unlock()
}

func (f *fetcher) request(req kmsg.Request) (kmsg.Response, error) {
	seeds := f.cl.SeedBrokers()
	if len(seeds) == 0 {
		return nil, errors.New("replica: fetcher has no broker")
	}
	return seeds[0].Request(f.ctx, req)
}

// truncate asks the leader where each partition's latest epoch ends (OffsetForLeaderEpoch)
// and truncates there (Kafka's truncateToEpochEndOffsets).
func (f *fetcher) truncate(states []*fetchState) {
	req := kmsg.NewPtrOffsetForLeaderEpochRequest()
	req.ReplicaID = f.m.cfg.NodeID
	byTopic := map[string]int{}
	for _, s := range states {
		i, ok := byTopic[s.p.TP.Topic]
		if !ok {
			i = len(req.Topics)
			byTopic[s.p.TP.Topic] = i
			t := kmsg.NewOffsetForLeaderEpochRequestTopic()
			t.Topic = s.p.TP.Topic
			req.Topics = append(req.Topics, t)
		}
		rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		rp.Partition, rp.CurrentLeaderEpoch, rp.LeaderEpoch = s.p.TP.Partition, s.epoch, s.p.epochs.LatestEpoch()
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
	}
	raw, err := f.request(req)
	if err != nil {
		if f.ctx.Err() == nil {
			f.m.log.Warn("OffsetForLeaderEpoch to leader failed", "leader", f.key.leader, "err", err)
			f.backOff(states...)
		}
		return
	}
	resp := raw.(*kmsg.OffsetForLeaderEpochResponse)
	find := func(topic string, partition int32) *fetchState {
		for _, s := range states {
			if s.p.TP.Topic == topic && s.p.TP.Partition == partition {
				return s
			}
		}
		return nil
	}
	answered := map[*fetchState]bool{}
	for _, t := range resp.Topics {
		for _, rp := range t.Partitions {
			s := find(t.Topic, rp.Partition)
			if s == nil || answered[s] {
				continue
			}
			answered[s] = true
			if !f.current(s) {
				continue
			}
			if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
				f.m.log.Debug("OffsetForLeaderEpoch refused", "topic", t.Topic, "partition", rp.Partition, "err", err)
				f.backOff(s)
				continue
			}
			done, err := s.p.truncateToLeader(rp.LeaderEpoch, rp.EndOffset)
			if err != nil {
				f.m.log.Error("truncation failed", "topic", t.Topic, "partition", rp.Partition, "err", err)
				f.backOff(s)
				continue
			}
			if done {
				f.mu.Lock()
				s.truncated = true
				f.mu.Unlock()
			}
		}
	}
	for _, s := range states {
		if !answered[s] {
			f.backOff(s)
		}
	}
}

// fetch sends one Fetch for states and applies the answer.
func (f *fetcher) fetch(states []*fetchState) {
	cfg := &f.m.cfg
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID = cfg.NodeID
	req.ReplicaState.ID = cfg.NodeID
	req.MaxWaitMillis = int32(cfg.ReplicaFetchWaitMax.Milliseconds())
	req.MinBytes = cfg.ReplicaFetchMinBytes
	req.MaxBytes = cfg.ReplicaFetchResponseMaxBytes
	req.SessionEpoch = -1 // sessionless
	byTopic := map[string]int{}
	for _, s := range states {
		i, ok := byTopic[s.p.TP.Topic]
		if !ok {
			i = len(req.Topics)
			byTopic[s.p.TP.Topic] = i
			t := kmsg.NewFetchRequestTopic()
			t.Topic, t.TopicID = s.p.TP.Topic, s.p.TopicID
			req.Topics = append(req.Topics, t)
		}
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition = s.p.TP.Partition
		rp.CurrentLeaderEpoch = s.epoch
		rp.FetchOffset = s.p.LogEndOffset()
		rp.LastFetchedEpoch = s.p.epochs.LatestEpoch()
		rp.LogStartOffset = s.p.LogStartOffset()
		rp.PartitionMaxBytes = cfg.ReplicaFetchMaxBytes
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
	}
	raw, err := f.request(req)
	if err != nil {
		if f.ctx.Err() == nil {
			f.m.log.Warn("fetch from leader failed", "leader", f.key.leader, "err", err)
			f.backOff(states...)
		}
		return
	}
	resp := raw.(*kmsg.FetchResponse)
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		f.m.log.Warn("fetch from leader refused", "leader", f.key.leader, "err", err)
		f.backOff(states...)
		return
	}
	byName := map[storage.TopicPartition]*fetchState{}
	for _, s := range states {
		byName[s.p.TP] = s
	}
	for _, t := range resp.Topics {
		name := t.Topic
		if req.Version >= 13 {
			for _, s := range states {
				if s.p.TopicID == metadata.UUID(t.TopicID) {
					name = s.p.TP.Topic
				}
			}
		}
		for _, rp := range t.Partitions {
			s := byName[storage.TopicPartition{Topic: name, Partition: rp.Partition}]
			if s == nil || !f.current(s) {
				continue
			}
			f.applyPartition(s, &rp)
		}
	}
}

// applyPartition applies one partition of a Fetch response.
func (f *fetcher) applyPartition(s *fetchState, rp *kmsg.FetchResponseTopicPartition) {
	if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
		if errors.Is(err, kerr.OffsetOutOfRange) && rp.LogStartOffset > s.p.LogEndOffset() {
			// The leader deleted what this log lacks: start over at its log start.
			if err := s.p.restartAt(rp.LogStartOffset); err == nil {
				return
			}
		}
		f.m.log.Debug("fetch partition refused", "topic", s.p.TP.Topic, "partition", s.p.TP.Partition,
			"log_end_offset", s.p.LogEndOffset(), "leader_log_start_offset", rp.LogStartOffset, "err", err)
		f.backOff(s)
		return
	}
	if rp.DivergingEpoch.Epoch >= 0 || rp.DivergingEpoch.EndOffset >= 0 {
		leo := s.p.LogEndOffset()
		if _, err := s.p.truncateToLeader(rp.DivergingEpoch.Epoch, rp.DivergingEpoch.EndOffset); err != nil {
			f.m.log.Error("truncation failed", "topic", s.p.TP.Topic, "partition", s.p.TP.Partition, "err", err)
			f.backOff(s)
		} else if s.p.LogEndOffset() == leo {
			// Nothing to cut, yet the leader sees a divergence: do not spin on it; check
			// with OffsetForLeaderEpoch after the backoff.
			f.m.log.Warn("leader reports a divergence truncation does not resolve", "topic", s.p.TP.Topic,
				"partition", s.p.TP.Partition, "diverging_epoch", rp.DivergingEpoch.Epoch, "end_offset", rp.DivergingEpoch.EndOffset)
			f.mu.Lock()
			s.truncated = false
			f.mu.Unlock()
			f.backOff(s)
		}
		return
	}
	if s.p.followerThrottled() {
		f.m.followerThrottle.record(int64(len(rp.RecordBatches)))
	}
	if err := s.p.appendFromLeader(s.epoch, rp.RecordBatches, rp.HighWatermark, rp.LogStartOffset); err != nil {
		if !errors.Is(err, errStaleFetch) {
			f.m.log.Error("appending fetched batches failed", "topic", s.p.TP.Topic, "partition", s.p.TP.Partition, "err", err)
			f.backOff(s)
		}
	}
}

// truncateToLeader truncates the partition by the leader's answer for an epoch (Kafka's
// getOffsetTruncationState): leaderEpoch is the largest epoch the leader has at or below the
// one asked, leaderEnd where it ends there. It reports whether truncation is complete; when
// not, the follower asks again with its (now older) latest epoch.
func (p *Partition) truncateToLeader(leaderEpoch int32, leaderEnd int64) (done bool, err error) {
	leo := p.log.LogEndOffset()
	var target int64
	switch {
	case leaderEnd == storage.UndefinedEpochOffset:
		// The leader knows no such epoch: keep what is committed.
		target, done = p.HighWatermark(), true
	case leaderEpoch == storage.UndefinedEpoch:
		target, done = min(leaderEnd, leo), true
	default:
		followerEpoch, followerEnd := p.epochs.EndOffsetFor(leaderEpoch, leo)
		if followerEpoch != leaderEpoch {
			target, done = min(followerEnd, leo), false
			if followerEnd < 0 {
				target, done = min(leaderEnd, leo), true
			}
		} else {
			target, done = min(leaderEnd, leo), true
		}
	}
	if target >= leo {
		// Nothing to cut: asking again with the same latest epoch would get the same answer.
		return true, nil
	}
	if err := p.truncateTo(target); err != nil {
		return false, err
	}
	return done, nil
}
