package replica

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/records"
	"github.com/gregorhq/gregor/internal/storage"
)

// Kafka's defaults of the replica.* broker configs.
const (
	defaultReplicaFetchMaxBytes         = 1 << 20
	defaultReplicaFetchMinBytes         = 1
	defaultReplicaFetchWaitMax          = 500 * time.Millisecond
	defaultReplicaFetchResponseMaxBytes = 10 << 20
	defaultReplicaFetchBackoff          = time.Second
	defaultReplicaLagTimeMax            = 30 * time.Second
)

// startReplication fills the replication defaults and starts the ISR check: every half of
// replica.lag.time.max.ms, as Kafka schedules isr-expiration.
func (m *Manager) startReplication() {
	c := &m.cfg
	if c.NumReplicaFetchers <= 0 {
		c.NumReplicaFetchers = 1
	}
	if c.ReplicaFetchMaxBytes <= 0 {
		c.ReplicaFetchMaxBytes = defaultReplicaFetchMaxBytes
	}
	if c.ReplicaFetchMinBytes <= 0 {
		c.ReplicaFetchMinBytes = defaultReplicaFetchMinBytes
	}
	if c.ReplicaFetchWaitMax <= 0 {
		c.ReplicaFetchWaitMax = defaultReplicaFetchWaitMax
	}
	if c.ReplicaFetchResponseMaxBytes <= 0 {
		c.ReplicaFetchResponseMaxBytes = defaultReplicaFetchResponseMaxBytes
	}
	if c.ReplicaFetchBackoff <= 0 {
		c.ReplicaFetchBackoff = defaultReplicaFetchBackoff
	}
	if c.ReplicaLagTimeMax <= 0 {
		c.ReplicaLagTimeMax = defaultReplicaLagTimeMax
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.fetchers = newFetchers(m)
	m.goTracked(m.isrLoop)
}

// stopReplication stops the fetchers, the ISR check and AlterPartition retries, and waits
// for them.
func (m *Manager) stopReplication() {
	m.cancel()
	m.fetchers.stopAll()
	m.wg.Wait()
}

// goTracked runs fn on a goroutine that Close waits for.
func (m *Manager) goTracked(fn func()) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		fn()
	}()
}

// isrLoop shrinks the ISRs of led partitions whose followers fell behind (maybeShrinkISR).
func (m *Manager) isrLoop() {
	t := time.NewTicker(max(m.cfg.ReplicaLagTimeMax/2, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
			m.CheckISR()
			m.writeHighWatermarks()
		}
	}
}

// CheckISR runs the ISR shrink check of every led partition once (the background check does
// this every half of replica.lag.time.max.ms).
func (m *Manager) CheckISR() {
	for _, p := range m.Partitions() {
		p.maybeShrinkISR(m.cfg.ReplicaLagTimeMax)
	}
}

// Image is the newest metadata image applied (metadata.Empty before the first): what the
// hosted partitions follow.
func (m *Manager) Image() *metadata.Image {
	if img := m.image.Load(); img != nil {
		return img
	}
	return metadata.Empty()
}

// isRegisteredBroker reports whether id is a broker of the newest applied image: only brokers
// fetch as replicas.
func (m *Manager) isRegisteredBroker(id int32) bool {
	img := m.image.Load()
	if img == nil {
		return false
	}
	_, ok := img.Brokers[id]
	return ok
}

// PendingWrite is an acks=all write waiting for the ISR: the partition, the offset the high
// watermark must reach (the write's last offset + 1) and the leader epoch it was appended in.
// Err is its outcome once WaitReplicated returns.
type PendingWrite struct {
	P          *Partition
	NextOffset int64
	Epoch      int32
	Err        error
}

// Replicated settles, without waiting, each write the in-sync replicas already have (its Err
// set, its P cleared, as WaitReplicated does) and reports whether all are settled: on a
// single node, or when the followers were quick, a Produce is answered at once.
func Replicated(writes []*PendingWrite) bool {
	return len(settleReplicated(writes)) == 0
}

// settleReplicated settles the writes that are done (their Err set, their P cleared) and
// returns the partitions of those still waiting.
func settleReplicated(writes []*PendingWrite) []*Partition {
	var pending []*Partition
	for _, w := range writes {
		if w.Err != nil || w.P == nil {
			continue
		}
		w.P.mu.Lock()
		done, err := w.P.replicatedLocked(w.NextOffset, w.Epoch)
		w.P.mu.Unlock()
		if done {
			w.Err, w.P = err, nil
			continue
		}
		pending = append(pending, w.P)
	}
	return pending
}

// WaitReplicated waits until every write is replicated to the ISR (Kafka's DelayedProduce),
// at most timeout: writes not done by then get REQUEST_TIMED_OUT. A write is done when its
// partition's high watermark reaches it (NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR is
// then below min.insync.replicas), or when this broker lost the leadership of the epoch it was
// written in (NOT_LEADER_OR_FOLLOWER). When everything is done already, as on a single node,
// it returns without registering anything.
func WaitReplicated(ctx context.Context, writes []*PendingWrite, timeout time.Duration) {
	var waiter *Waiter
	var timer *time.Timer
	defer func() {
		if waiter != nil {
			waiter.Close()
			timer.Stop()
		}
	}()
	for {
		pending := settleReplicated(writes)
		if len(pending) == 0 {
			return
		}
		if waiter == nil {
			// Register, then check again: a move in between would otherwise be missed.
			waiter = NewWaiter(pending)
			timer = time.NewTimer(timeout)
			continue
		}
		select {
		case <-waiter.C():
			continue
		case <-timer.C:
		case <-ctx.Done():
		}
		for _, w := range writes {
			if w.P != nil && w.Err == nil {
				w.Err, w.P = kerr.RequestTimedOut, nil
			}
		}
		return
	}
}

// errStaleFetch means a fetched response arrived for a leader or epoch this broker no longer
// follows: it is dropped.
var errStaleFetch = errors.New("replica: fetch response for an old leader epoch")

// appendFromLeader appends the batches a fetch from the leader of epoch returned, as they are
// (Kafka's appendRecordsToFollowerOrFutureReplica): offsets kept, a batch carrying a newer
// partition leader epoch recorded in the epoch cache, the producer and transaction state
// updated as the replay on open does. A partial last batch (cut by the size limit) is left for
// the next fetch. The high watermark becomes the leader's, capped by the log end offset.
//
// The leader's log start offset, when above this log's, becomes its too (up to the high
// watermark), so that records deleted on the leader (DeleteRecords, retention) go here too.
func (p *Partition) appendFromLeader(epoch int32, data []byte, leaderHW, leaderLogStart int64) error {
	moved, err := p.appendFetched(epoch, data, leaderHW, leaderLogStart)
	if moved {
		p.logStartMoved() // takes the Manager's locks: after appendMu, not under it
	}
	if err == nil {
		// flush.messages holds on followers too (Kafka applies it to every append), and
		// outside appendMu as on the leader.
		_, err = p.log.FlushIfDue(p.log.LogEndOffset())
	}
	return err
}

func (p *Partition) appendFetched(epoch int32, data []byte, leaderHW, leaderLogStart int64) (logStartMoved bool, err error) {
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	p.mu.Lock()
	current := p.leader != p.nodeID && p.leaderEpoch == epoch
	p.mu.Unlock()
	if !current {
		return false, errStaleFetch
	}
	appended := false
	for len(data) >= records.HeaderSize {
		h, err := records.ParseHeader(data)
		if err != nil {
			return false, fmt.Errorf("replica: batch from leader: %w", err)
		}
		if h.Size() > int64(len(data)) {
			break
		}
		batch := data[:h.Size()]
		data = data[h.Size():]
		if h.Magic != records.Magic || records.ComputeCRC(batch) != h.CRC {
			return false, fmt.Errorf("replica: corrupt batch from leader at offset %d", h.BaseOffset)
		}
		if h.PartitionLeaderEpoch > p.epochs.LatestEpoch() {
			if err := p.epochs.Assign(h.PartitionLeaderEpoch, h.BaseOffset); err != nil {
				p.logger.Error("writing the leader epoch checkpoint failed", "err", err)
			}
		}
		if err := p.log.AppendAsFollower(batch, h); err != nil {
			return false, err
		}
		appended = true
		if !h.Control() {
			p.producers.update(h)
		} else if err := replayMarker(p.log, p.producers, h, p.log.LastAbortedOffset()); err != nil {
			p.logger.Warn("follower: unreadable control batch", "offset", h.BaseOffset, "err", err)
		}
	}
	leo := p.log.LogEndOffset()
	fu := p.producers.firstUnstableOffset()
	p.mu.Lock()
	if hw := min(leaderHW, leo); hw > p.highWatermark {
		p.highWatermark = hw
		appended = true
	}
	p.firstUnstableOffset = fu
	if appended {
		p.wakeWaitersLocked()
	}
	hw := p.highWatermark
	p.mu.Unlock()
	if start := min(leaderLogStart, hw); start > p.log.LogStartOffset() {
		if err := p.log.DeleteRecordsBefore(start); err != nil {
			p.logger.Warn("following the leader's log start offset failed", "offset", start, "err", err)
		} else {
			logStartMoved = true
		}
	}
	return logStartMoved, nil
}

// truncateTo removes the log's batches at and above offset (whole batches), with their epoch
// cache entries, and rebuilds the producer state from the snapshots and log that remain.
func (p *Partition) truncateTo(offset int64) error {
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	if offset >= p.log.LogEndOffset() {
		return nil
	}
	leo, err := p.log.TruncateTo(offset)
	if err != nil {
		return err
	}
	// An epoch starting at the new log end has no batch left here.
	if err := p.epochs.TruncateFromEnd(leo); err != nil {
		p.logger.Error("truncating the leader epoch checkpoint failed", "err", err)
	}
	state, err := loadProducerState(p.fs, p.log, p.logger)
	if err != nil {
		return err
	}
	p.producers = state
	p.mu.Lock()
	p.highWatermark = min(p.highWatermark, leo)
	p.firstUnstableOffset = state.firstUnstableOffset()
	p.mu.Unlock()
	p.logger.Info("truncated divergent log tail", "offset", offset, "log_end_offset", leo)
	return nil
}

// restartAt empties the log and starts it at offset, the leader's log start offset, when the
// leader no longer has what follows this log's end (Kafka's truncateFullyAndStartAt): the
// epoch cache, the producer state and its snapshots start over, and the high watermark and
// the log start offset (checkpointed) become offset.
func (p *Partition) restartAt(offset int64) error {
	p.appendMu.Lock()
	if err := p.log.TruncateFullyAndStartAt(offset); err != nil {
		p.appendMu.Unlock()
		return err
	}
	if err := p.epochs.TruncateFromEnd(0); err != nil {
		p.logger.Error("clearing the leader epoch checkpoint failed", "err", err)
	}
	if offsets, err := listSnapshots(p.fs, p.log.Dir()); err == nil {
		for _, off := range offsets {
			if err := removeSnapshot(p.fs, p.log.Dir(), off); err != nil {
				p.logger.Warn("removing a producer snapshot failed", "offset", off, "err", err)
			}
		}
	}
	p.producers = newProducerState()
	p.mu.Lock()
	p.highWatermark, p.firstUnstableOffset = offset, -1
	p.mu.Unlock()
	p.appendMu.Unlock()
	p.logStartMoved() // takes the Manager's locks: after appendMu, not under it
	p.logger.Info("log restarted at the leader's log start offset", "offset", offset)
	return nil
}

// LeaderEpochEnd answers OffsetForLeaderEpoch for this partition (Kafka's
// lastOffsetForLeaderEpoch): the largest epoch not above epoch and the offset where it ended
// (the log end offset for the current epoch). currentEpoch, when not -1, must be the
// partition's (FENCED_LEADER_EPOCH when older, UNKNOWN_LEADER_EPOCH when newer); only the
// leader answers (NOT_LEADER_OR_FOLLOWER).
func (p *Partition) LeaderEpochEnd(currentEpoch, epoch int32) (int32, int64, error) {
	p.mu.Lock()
	leader, ours := p.leader, p.leaderEpoch
	p.mu.Unlock()
	switch {
	case currentEpoch >= 0 && currentEpoch < ours:
		return -1, -1, kerr.FencedLeaderEpoch
	case currentEpoch > ours:
		return -1, -1, kerr.UnknownLeaderEpoch
	case leader != p.nodeID:
		return -1, -1, kerr.NotLeaderForPartition
	}
	e, end := p.epochs.EndOffsetFor(epoch, p.log.LogEndOffset())
	return e, end, nil
}

// LeaderEpochs returns the partition's leader epoch cache entries, oldest first.
func (p *Partition) LeaderEpochs() []storage.EpochEntry { return p.epochs.Entries() }

// SetReplicationConfigs fills c's replication settings from the broker config b: the
// replica.* keys and num.replica.fetchers. InterBrokerListener and AlterPartition are the
// caller's to set.
func (c *Config) SetReplicationConfigs(b *config.Broker) {
	c.NumReplicaFetchers = int(b.NumReplicaFetchers)
	c.ReplicaFetchMaxBytes = b.ReplicaFetchMaxBytes
	c.ReplicaFetchMinBytes = b.ReplicaFetchMinBytes
	c.ReplicaFetchWaitMax = time.Duration(b.ReplicaFetchWaitMaxMs) * time.Millisecond
	c.ReplicaFetchResponseMaxBytes = b.ReplicaFetchResponseMaxBytes
	c.ReplicaFetchBackoff = time.Duration(b.ReplicaFetchBackoffMs) * time.Millisecond
	c.ReplicaLagTimeMax = time.Duration(b.ReplicaLagTimeMaxMs) * time.Millisecond
}

// highWatermarkCheckpointFile is Kafka's name for the per-log-dir file of high watermarks,
// written every half of replica.lag.time.max.ms and at Close; on open a partition's high
// watermark starts there (capped by its log end), not at its log end.
const highWatermarkCheckpointFile = "replication-offset-checkpoint"

func readHighWatermarks(cfg Config) map[storage.TopicPartition]int64 {
	hws, err := storage.ReadCheckpoint(cfg.FS, filepath.Join(cfg.LogDir, highWatermarkCheckpointFile))
	if err != nil {
		cfg.Logger.Warn("unreadable high watermark checkpoint; high watermarks start at the log ends", "err", err)
		return map[storage.TopicPartition]int64{}
	}
	return hws
}

// writeHighWatermarks checkpoints every hosted partition's high watermark. Only the ISR loop
// and Close (after stopping it) call it, so writes do not race.
func (m *Manager) writeHighWatermarks() {
	m.mu.RLock()
	hws := maps.Clone(m.highWatermarks) // before the first image: keep what was read
	if hws == nil {
		hws = map[storage.TopicPartition]int64{}
	}
	parts := make([]*Partition, 0, len(m.partitions))
	for _, p := range m.partitions {
		parts = append(parts, p)
	}
	m.mu.RUnlock()
	for _, p := range parts {
		hws[p.TP] = p.HighWatermark()
	}
	if err := storage.WriteCheckpoint(m.cfg.FS, filepath.Join(m.cfg.LogDir, highWatermarkCheckpointFile), hws); err != nil {
		m.log.Warn("writing the high watermark checkpoint failed", "err", err)
	}
}
