package replica

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/storage"
)

// followerState is what the leader knows of one follower of a partition, from its fetches
// (Kafka's Replica state).
type followerState struct {
	// leo is the follower's log end offset: the offset of its latest fetch; -1 unknown.
	leo int64
	// lastCaughtUpMs is the last time the follower had everything the leader had (Kafka's
	// lastCaughtUpTimeMs): a fetch at the leader's log end counts now, one at the log end the
	// leader had at the follower's previous fetch counts at that previous fetch's time.
	lastCaughtUpMs int64
	// The time of the previous fetch and the leader's log end offset then.
	lastFetchMs, lastFetchLeaderLEO int64
}

// AlterPartitionFunc asks the controller to set a partition's ISR (Kafka's AlterPartition):
// leaderEpoch and partitionEpoch are what the leader last saw; the controller refuses with
// FENCED_LEADER_EPOCH / INVALID_UPDATE_VERSION when they are stale, NOT_CONTROLLER when it
// is not active (the caller retries), and otherwise commits a PartitionChangeRecord and
// returns the partition as committed.
type AlterPartitionFunc func(ctx context.Context, topic string, partition int32,
	leaderEpoch, partitionEpoch int32, isr []int32) (metadata.Partition, error)

// IsLeader reports whether this broker leads the partition.
func (p *Partition) IsLeader() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.leader == p.nodeID
}

// ISR is the committed in-sync replica set.
func (p *Partition) ISR() []int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.isr)
}

// applyRole makes the partition's role what part says (Kafka's makeLeader / makeFollower). A
// leader with a new epoch records the epoch's start (its log end) in the epoch cache and
// starts tracking its followers afresh, those in the ISR as caught up now; a follower forgets
// them. An image older than what this broker holds (a smaller leader epoch, or the same one
// with a smaller partition epoch) changes nothing. Waiting fetches and produces wake so that
// they see the new role. It returns whether to (re)start fetching from the leader: this
// broker follows and the leader or its epoch changed.
func (p *Partition) applyRole(part metadata.Partition) (fetch bool) {
	p.mu.Lock()
	same := part.Leader == p.leader && part.LeaderEpoch == p.leaderEpoch && part.Epoch == p.partitionEpoch &&
		slices.Equal(part.Replicas, p.replicas) && slices.Equal(part.ISR, p.isr)
	p.mu.Unlock()
	if same {
		return false // most images change other partitions: keep appends going
	}
	p.appendMu.Lock() // no append, as leader or follower, across a role change
	defer p.appendMu.Unlock()
	leo := p.log.LogEndOffset()
	now := p.now().UnixMilli()
	p.mu.Lock()
	defer p.mu.Unlock()
	if part.LeaderEpoch < p.leaderEpoch || (part.LeaderEpoch == p.leaderEpoch && part.Epoch < p.partitionEpoch) {
		return false
	}
	changed := part.LeaderEpoch != p.leaderEpoch || part.Leader != p.leader
	wasLeader := p.leader == p.nodeID
	p.leader, p.leaderEpoch = part.Leader, part.LeaderEpoch
	p.replicas, p.isr, p.partitionEpoch = slices.Clone(part.Replicas), slices.Clone(part.ISR), part.Epoch
	defer p.wakeWaitersLocked()
	if p.leader != p.nodeID {
		p.followers, p.pendingISR = nil, nil
		return changed || wasLeader
	}
	if changed || !wasLeader {
		if err := p.epochs.Assign(p.leaderEpoch, leo); err != nil {
			p.logger.Error("writing the leader epoch checkpoint failed", "err", err)
		}
		p.followers, p.pendingISR = map[int32]*followerState{}, nil
		level := slog.LevelInfo
		if len(p.replicas) <= 1 {
			level = slog.LevelDebug // a single node leads everything: not news
		}
		p.logger.Log(context.Background(), level, "became leader", "leader_epoch", p.leaderEpoch, "isr", p.isr)
	}
	for _, id := range p.replicas {
		if id == p.nodeID || p.followers[id] != nil {
			continue
		}
		f := &followerState{leo: -1, lastFetchLeaderLEO: -1}
		if slices.Contains(p.isr, id) {
			f.lastCaughtUpMs = now
		}
		p.followers[id] = f
	}
	for id := range p.followers {
		if !slices.Contains(p.replicas, id) {
			delete(p.followers, id)
		}
	}
	p.maybeAdvanceHighWatermarkLocked(leo)
	return false
}

// maximalISRLocked is the ISR the high watermark waits for: the committed one, plus the
// replicas an AlterPartition in flight adds (Kafka's maximal ISR), so that a write is never
// acknowledged without a replica the controller may be about to count in.
func (p *Partition) maximalISRLocked() []int32 {
	if p.pendingISR == nil {
		return p.isr
	}
	out := slices.Clone(p.isr)
	for _, id := range p.pendingISR {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// maybeAdvanceHighWatermarkLocked moves a leader's high watermark up to the smallest log end
// offset of the (maximal) ISR, the leader's own being leo, and reports whether it moved.
// Followers learn theirs from the leader instead. The caller holds mu.
//
// Invariant: the high watermark never decreases while this broker leads the epoch.
func (p *Partition) maybeAdvanceHighWatermarkLocked(leo int64) bool {
	if p.leader != p.nodeID {
		return false
	}
	// Under flush.messages, the leader's own copy counts only once it is on disk.
	hw := min(leo, p.log.DurableEnd())
	for _, id := range p.maximalISRLocked() {
		if id == p.nodeID {
			continue
		}
		f := p.followers[id]
		if f == nil {
			continue // not a replica (stale ISR): the controller will drop it
		}
		hw = min(hw, f.leo)
	}
	if hw > p.highWatermark {
		p.highWatermark = hw
		return true
	}
	return false
}

// FollowerReadResult is what the leader answers a follower's fetch of one partition.
type FollowerReadResult struct {
	ReadResult
	// DivergingEpoch, when Epoch >= 0, tells the follower that its log diverges from the
	// leader's after EndOffset of that epoch: it must truncate there first (no records).
	DivergingEpoch storage.EpochEntry
	DivergingEnd   int64
}

// ReadForFollower serves a fetch from follower replicaID (Kafka's fetchRecords from a
// follower): only the leader answers, only a broker of the replica set may ask. A follower
// whose last fetched epoch ends, on the leader, below its fetch offset is told where it
// diverges. Otherwise it reads up to the log end offset, not the high watermark; the fetch
// offset becomes the follower's log end offset, which may advance the high watermark and
// bring the follower back into the ISR.
func (p *Partition) ReadForFollower(replicaID int32, offset, maxBytes int64, lastFetchedEpoch int32) (FollowerReadResult, error) {
	res := FollowerReadResult{DivergingEpoch: storage.EpochEntry{Epoch: -1}, DivergingEnd: -1}
	p.mu.Lock()
	isLeader, isReplica := p.leader == p.nodeID, slices.Contains(p.replicas, replicaID) && replicaID != p.nodeID
	p.mu.Unlock()
	if !isLeader || !isReplica || !p.mgr.isRegisteredBroker(replicaID) {
		return res, kerr.NotLeaderForPartition
	}
	leo := p.log.LogEndOffset()
	if lastFetchedEpoch >= 0 {
		epoch, end := p.epochs.EndOffsetFor(lastFetchedEpoch, leo)
		if epoch < lastFetchedEpoch || end < offset {
			res.DivergingEpoch.Epoch, res.DivergingEnd = epoch, end
			p.mu.Lock()
			res.HighWatermark, res.LastStableOffset = p.highWatermark, p.lastStableOffsetLocked()
			p.mu.Unlock()
			res.LogStartOffset = p.log.LogStartOffset()
			return res, nil
		}
	}
	throttled := p.leaderThrottled(replicaID)
	if throttled {
		maxBytes = 0 // the quota is used up: no records this time (throttle.go)
	}
	region, err := p.log.Read(offset, maxBytes, leo, !throttled)
	if err != nil {
		res.LogStartOffset = p.log.LogStartOffset()
		if errors.Is(err, storage.ErrOffsetOutOfRange) {
			return res, kerr.OffsetOutOfRange
		}
		return res, kerr.KafkaStorageError
	}
	res.Region = region
	p.recordLeaderBytes(replicaID, region.Size)
	p.updateFollower(replicaID, offset, leo)
	p.mu.Lock()
	res.HighWatermark, res.LastStableOffset = p.highWatermark, p.lastStableOffsetLocked()
	p.mu.Unlock()
	res.LogStartOffset = p.log.LogStartOffset()
	return res, nil
}

// updateFollower records a follower fetch at offset while the leader's log ended at leo
// (Kafka's updateFollowerFetchState), then advances the high watermark and expands the ISR
// if the follower caught up.
func (p *Partition) updateFollower(id int32, offset, leo int64) {
	now := p.now().UnixMilli()
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.followers[id]
	if f == nil || p.leader != p.nodeID {
		return
	}
	switch {
	case offset >= leo:
		f.lastCaughtUpMs = max(f.lastCaughtUpMs, now)
	case f.lastFetchLeaderLEO >= 0 && offset >= f.lastFetchLeaderLEO:
		f.lastCaughtUpMs = max(f.lastCaughtUpMs, f.lastFetchMs)
	}
	f.leo, f.lastFetchMs, f.lastFetchLeaderLEO = offset, now, leo
	if p.maybeAdvanceHighWatermarkLocked(leo) {
		p.wakeWaitersLocked()
	}
	// Expand: a replica outside the ISR that has the high watermark and all of this epoch's
	// start (Kafka's isFollowerInSync), and that the image shows registered and unfenced
	// (Kafka's isReplicaIsrEligible): a fenced broker still fetching would only be refused.
	if !slices.Contains(p.isr, id) && p.pendingISR == nil && p.mgr.isrEligible(id) {
		start, ok := p.epochs.StartOffsetOf(p.leaderEpoch)
		if ok && offset >= start && offset >= p.highWatermark {
			p.proposeISRLocked(append(slices.Clone(p.isr), id))
		}
	}
}

// maybeShrinkISR drops from the ISR the followers that have not caught up for lag (Kafka's
// maybeShrinkIsr): their log end differs from the leader's and their last caught-up time is
// older than replica.lag.time.max.ms. The leader itself always stays.
func (p *Partition) maybeShrinkISR(lag time.Duration) {
	leo := p.log.LogEndOffset()
	now := p.now().UnixMilli()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.leader != p.nodeID || p.pendingISR != nil || len(p.isr) <= 1 {
		return
	}
	keep := make([]int32, 0, len(p.isr))
	for _, id := range p.isr {
		f := p.followers[id]
		if id != p.nodeID && f != nil && f.leo != leo && now-f.lastCaughtUpMs > lag.Milliseconds() {
			p.logger.Info("shrinking ISR: follower out of sync", "replica", id, "follower_leo", f.leo,
				"leader_leo", leo, "caught_up_ms_ago", now-f.lastCaughtUpMs)
			continue
		}
		keep = append(keep, id)
	}
	if len(keep) != len(p.isr) {
		p.proposeISRLocked(keep)
	}
}

// proposeISRLocked sends isr to the controller (one AlterPartition in flight per partition).
// A partition whose only replica is this broker never asks. The caller holds mu.
func (p *Partition) proposeISRLocked(isr []int32) {
	if p.mgr.cfg.AlterPartition == nil || len(p.replicas) <= 1 {
		return
	}
	p.pendingISR = isr
	leaderEpoch, partitionEpoch := p.leaderEpoch, p.partitionEpoch
	p.mgr.goTracked(func() { p.alterPartition(leaderEpoch, partitionEpoch, isr) })
}

// alterPartition calls the controller until it answers for good: NOT_CONTROLLER and other
// transient errors are retried after a backoff while this broker still leads the same epoch;
// a stale epoch is dropped (the next image brings the truth). A committed answer becomes the
// partition's ISR unless an image already brought something newer.
func (p *Partition) alterPartition(leaderEpoch, partitionEpoch int32, isr []int32) {
	backoff := 50 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(p.mgr.ctx, 30*time.Second)
		got, err := p.mgr.cfg.AlterPartition(ctx, p.TP.Topic, p.TP.Partition, leaderEpoch, partitionEpoch, isr)
		cancel()
		p.mu.Lock()
		current := p.leader == p.nodeID && p.leaderEpoch == leaderEpoch && slices.Equal(p.pendingISR, isr)
		if !current {
			p.mu.Unlock()
			return
		}
		if err == nil {
			if got.LeaderEpoch != p.leaderEpoch || got.Leader != p.nodeID {
				// The change moved leadership (it completed a reassignment that removed
				// this broker): the next image brings the new role. pendingISR stays, so
				// that nothing more is proposed in the meantime.
				p.mu.Unlock()
				return
			}
			if got.Epoch > p.partitionEpoch {
				p.isr, p.partitionEpoch = slices.Clone(got.ISR), got.Epoch
				p.logger.Info("ISR changed", "isr", p.isr, "partition_epoch", p.partitionEpoch)
			}
			p.pendingISR = nil
			p.maybeAdvanceHighWatermarkLocked(p.log.LogEndOffset())
			p.wakeWaitersLocked() // produces waiting on the ISR size check it again
			p.mu.Unlock()
			return
		}
		// A refusal for good drops the pending ISR: the committed one stands. INELIGIBLE_REPLICA
		// (a broker being added is fenced or in controlled shutdown) is one, as in Kafka: were
		// it retried, the pending expansion would hold the high watermark (which waits for the
		// maximal ISR) at that broker's last fetch, and every acks=all write would time out.
		if errors.Is(err, kerr.FencedLeaderEpoch) || errors.Is(err, kerr.InvalidUpdateVersion) ||
			errors.Is(err, kerr.UnknownTopicOrPartition) || errors.Is(err, kerr.InvalidRequest) ||
			errors.Is(err, kerr.IneligibleReplica) || errors.Is(err, kerr.OperationNotAttempted) {
			p.logger.Info("AlterPartition refused; waiting for metadata", "isr", isr, "err", err)
			p.pendingISR = nil
			p.maybeAdvanceHighWatermarkLocked(p.log.LogEndOffset())
			p.wakeWaitersLocked()
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		p.logger.Debug("AlterPartition failed; retrying", "err", err)
		select {
		case <-p.mgr.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// CheckEnoughReplicas is the check an acks=all produce makes before its append: the ISR must
// have at least min.insync.replicas members (NOT_ENOUGH_REPLICAS), and this broker must lead.
func (p *Partition) CheckEnoughReplicas() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.leader != p.nodeID {
		return kerr.NotLeaderForPartition
	}
	if int32(len(p.isr)) < p.cfg.MinInsyncReplicas {
		return kerr.NotEnoughReplicas
	}
	return nil
}

// replicatedLocked answers whether an acks=all write ending below offset is done (Kafka's
// checkEnoughReplicasReachOffset): done when the high watermark reached it, with
// NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR is then smaller than min.insync.replicas, or
// NOT_LEADER_OR_FOLLOWER once this broker no longer leads the epoch it was appended in.
func (p *Partition) replicatedLocked(offset int64, epoch int32) (done bool, err error) {
	if p.leader != p.nodeID || p.leaderEpoch != epoch {
		return true, kerr.NotLeaderForPartition
	}
	if p.highWatermark < offset {
		return false, nil
	}
	if int32(len(p.isr)) < p.cfg.MinInsyncReplicas {
		return true, kerr.NotEnoughReplicasAfterAppend
	}
	return true, nil
}

// isrEligible reports whether broker id may join an ISR as the newest applied image has it:
// registered and unfenced (a broker in controlled shutdown is fenced once it has handed its
// leaderships over).
func (m *Manager) isrEligible(id int32) bool {
	img := m.image.Load()
	if img == nil {
		return true
	}
	b, ok := img.Brokers[id]
	return ok && !b.Fenced
}
