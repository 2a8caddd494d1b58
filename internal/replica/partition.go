package replica

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/records"
	"github.com/gregorhq/gregor/internal/storage"
)

// Partition is one partition hosted by this broker.
type Partition struct {
	TP      storage.TopicPartition
	TopicID metadata.UUID
	log     *storage.Log
	now     func() time.Time
	logger  *slog.Logger
	// logConfig maps the topic config to the log's; logStartMoved records a moved log start
	// offset (the Manager's checkpoint).
	logConfig     func(config.Topic) storage.LogConfig
	logStartMoved func()
	// markerListeners returns the Manager's listeners for a topic (OnTxnMarker).
	markerListeners func(topic string) []TxnMarkerListener

	// appendMu serializes appends, so offsets are assigned in the order appends arrive, and
	// guards the producer state, so that a batch is checked against the state of every batch
	// before it.
	appendMu sync.Mutex
	// Guarded by appendMu.
	//
	// Invariant: producers holds the state of exactly the batches below the log end offset
	// (and above the snapshot it was loaded from, less expired producers).
	producers *producerState
	// verifying holds each producer's pending transaction verification (verification.go);
	// a marker for the producer, or the append of its verified batch, removes it.
	verifying map[int64]*VerificationGuard
	fs        storage.FS // where producer snapshots are written

	// nodeID is this broker's id; mgr is the owning Manager (AlterPartition, the image's
	// brokers, the clock); epochs is the partition's leader epoch cache
	// (leader-epoch-checkpoint), safe on its own and written under appendMu.
	nodeID int32
	mgr    *Manager
	epochs *storage.LeaderEpochCache
	// throttles says whether the replication throttles apply (throttle.go); atomic.
	throttles partitionThrottles

	mu sync.Mutex
	// Fields guarded by mu.
	cfg         config.Topic
	leaderEpoch int32
	// The partition's role as the newest applied image (or this leader's committed
	// AlterPartition) says: leader is the leading broker (-1: none), replicas the replica
	// set, isr the committed in-sync replicas, partitionEpoch their version.
	leader         int32
	replicas       []int32
	isr            []int32
	partitionEpoch int32
	// Leader only (leader.go): followers are the other replicas' fetch state; pendingISR is
	// the ISR of an AlterPartition in flight (nil: none).
	followers  map[int32]*followerState
	pendingISR []int32
	// Invariant: log start offset <= highWatermark <= log end offset.
	highWatermark int64
	// firstUnstableOffset is the producer state's first offset of the oldest open
	// transaction (-1: none), copied here after each append so that readers need not take
	// appendMu. The last stable offset is min(it, highWatermark).
	firstUnstableOffset int64
	waiters             map[*Waiter]struct{}
}

// AppendResult describes a successful append.
type AppendResult struct {
	// BaseOffset is where the batch went; for a retried batch of an idempotent producer
	// (Duplicate), where it went the first time.
	BaseOffset     int64
	Duplicate      bool
	LogAppendTime  int64 // -1 unless the topic uses LogAppendTime
	LogStartOffset int64
	// LastOffset is the batch's last offset and LeaderEpoch the epoch it was appended in:
	// what an acks=all produce waits for (PendingWrite).
	LastOffset  int64
	LeaderEpoch int32
}

// Append writes one batch that records.ValidateProduce accepted against this partition's
// max.message.bytes (h is its header) and returns where it went. The batch bytes are modified
// in place (base offset, leader epoch, and the timestamp for
// LogAppendTime topics) and written as they are.
//
// A batch of an idempotent producer is first checked against the producer's state
// (producerState.check): a retry of one of its last batches is not appended again but
// answered with the offset it got the first time; a stale epoch or a sequence gap is refused
// with INVALID_PRODUCER_EPOCH or OUT_OF_ORDER_SEQUENCE_NUMBER.
func (p *Partition) Append(batch []byte, h records.Header) (AppendResult, error) {
	return p.append(batch, h, false, nil)
}

// append is Append, and AppendVerified when verify is set.
func (p *Partition) append(batch []byte, h records.Header, verify bool, g *VerificationGuard) (AppendResult, error) {
	p.mu.Lock()
	cfg, epoch, leader := p.cfg, p.leaderEpoch, p.leader
	p.mu.Unlock()
	if leader != p.nodeID {
		return AppendResult{}, kerr.NotLeaderForPartition
	}

	p.appendMu.Lock()
	res := AppendResult{LogAppendTime: -1, LeaderEpoch: epoch}
	if isIdempotent(h) {
		dup, isDup, err := p.producers.check(h)
		if err != nil {
			p.appendMu.Unlock()
			return AppendResult{}, err
		}
		if isDup {
			// As Kafka answers a duplicate: success, the original offset, no append time.
			res.BaseOffset, res.LastOffset, res.Duplicate = dup.FirstOffset, dup.LastOffset, true
			res.LogStartOffset = p.log.LogStartOffset()
			p.appendMu.Unlock()
			// The first answer waited for flush.messages; so does this one.
			if err := p.flushIfDue(dup.LastOffset + 1); err != nil {
				return AppendResult{}, err
			}
			return res, nil
		}
	}
	if verify {
		if err := p.checkVerifiedLocked(h, g); err != nil {
			p.appendMu.Unlock()
			return AppendResult{}, err
		}
	}
	records.SetPartitionLeaderEpoch(batch, epoch)
	if cfg.MessageTimestampType == "LogAppendTime" {
		res.LogAppendTime = p.now().UnixMilli()
		records.SetLogAppendTime(batch, res.LogAppendTime)
		h.MaxTimestamp = res.LogAppendTime
	}
	base, err := p.log.Append(batch, h)
	if err != nil {
		p.appendMu.Unlock()
		return AppendResult{}, kerr.KafkaStorageError
	}
	res.BaseOffset, res.LastOffset = base, base+int64(h.LastOffsetDelta)
	h.BaseOffset = base
	p.producers.update(h)
	if h.Transactional() {
		delete(p.verifying, h.ProducerID) // the producer state now holds the transaction
	}
	res.LogStartOffset = p.log.LogStartOffset()
	p.appendedLocked()
	p.appendMu.Unlock()
	if err := p.flushIfDue(res.LastOffset + 1); err != nil { // flush.messages: fsync before answering
		return AppendResult{}, err
	}
	return res, nil
}

// onRollLocked snapshots the producer state as of nextOffset, the base of the new active
// segment (storage.LogConfig.OnRoll). It runs inside Append with appendMu held, before the
// state holds the batch being appended, so the state is exactly that of the batches below
// nextOffset. A failed snapshot costs only a longer rebuild after a crash.
func (p *Partition) onRollLocked(nextOffset int64) {
	p.snapshotProducersLocked(nextOffset)
}

// snapshotProducersLocked writes the producer state as the snapshot at offset and prunes old
// snapshots. The caller holds appendMu.
func (p *Partition) snapshotProducersLocked(offset int64) {
	if err := writeSnapshot(p.fs, p.log.Dir(), offset, p.producers); err != nil {
		p.logger.Warn("producer state snapshot failed", "offset", offset, "err", err)
		return
	}
	if err := pruneSnapshots(p.fs, p.log.Dir(), p.log.LogStartOffset()); err != nil {
		p.logger.Warn("removing old producer state snapshots failed", "err", err)
	}
}

// snapshotProducersAtEndLocked is the clean shutdown's snapshot of the producer state at the
// log end, skipped when the next start replays nothing without it, as Kafka's takeSnapshot
// skips an offset it already has: the newest snapshot is at the log end already (nothing was
// appended since), or there is no snapshot, no producer and nothing in the log to replay (an
// idle partition). The caller holds appendMu.
func (p *Partition) snapshotProducersAtEndLocked() {
	leo := p.log.LogEndOffset()
	offsets, err := listSnapshots(p.fs, p.log.Dir())
	if err == nil {
		if len(offsets) > 0 && offsets[len(offsets)-1] == leo {
			return
		}
		if len(offsets) == 0 && leo == p.log.LogStartOffset() && p.producers.empty() {
			return
		}
	}
	p.snapshotProducersLocked(leo)
}

// expireProducers removes producers idle for expirationMs or more (producer.id.expiration.ms).
func (p *Partition) expireProducers(expirationMs int64) int {
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	return p.producers.expire(p.now().UnixMilli(), expirationMs)
}

// ReadResult is what a fetch gets from one partition.
type ReadResult struct {
	HighWatermark    int64
	LastStableOffset int64
	LogStartOffset   int64
	Region           storage.Region
	// AbortedTransactions are, for a read_committed read, the aborted transactions whose
	// records may be in Region (from the read offset up to the last stable offset); nil
	// otherwise.
	AbortedTransactions []storage.AbortedTxn
}

// Read returns up to maxBytes of whole batches starting at the batch that holds offset, never
// past the high watermark; minOneBatch returns the first batch even if it is larger than
// maxBytes, so a consumer can always make progress.
func (p *Partition) Read(offset, maxBytes int64, minOneBatch bool) (ReadResult, error) {
	return p.ReadIsolated(offset, maxBytes, minOneBatch, false)
}

// ReadIsolated is Read at an isolation level: readCommitted (Kafka's isolation_level 1)
// reads only below the last stable offset, not the high watermark, and returns the aborted
// transactions of what it read, which the consumer skips.
func (p *Partition) ReadIsolated(offset, maxBytes int64, minOneBatch, readCommitted bool) (ReadResult, error) {
	p.mu.Lock()
	hw, lso := p.highWatermark, p.lastStableOffsetLocked()
	p.mu.Unlock()
	res := ReadResult{HighWatermark: hw, LastStableOffset: lso, LogStartOffset: p.log.LogStartOffset()}
	upTo := hw
	if readCommitted {
		upTo = lso
	}
	region, err := p.log.Read(offset, maxBytes, upTo, minOneBatch)
	if errors.Is(err, storage.ErrOffsetOutOfRange) {
		return res, kerr.OffsetOutOfRange
	}
	if err != nil {
		return res, kerr.KafkaStorageError
	}
	res.Region = region
	if readCommitted && region.Size > 0 {
		res.AbortedTransactions = p.log.AbortedTransactions(offset, upTo)
	}
	return res, nil
}

// HighWatermark is the offset below which records are committed and visible to consumers.
func (p *Partition) HighWatermark() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.highWatermark
}

// LogStartOffset is the first offset still in the log.
func (p *Partition) LogStartOffset() int64 { return p.log.LogStartOffset() }

// LogEndOffset is the offset the next append gets.
func (p *Partition) LogEndOffset() int64 { return p.log.LogEndOffset() }

// Size is the bytes of the partition's log on disk (its segments' .log files).
func (p *Partition) Size() int64 { return p.log.SizeInBytes() }

// LeaderEpoch is the current leader epoch of the partition.
func (p *Partition) LeaderEpoch() int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.leaderEpoch
}

// OffsetForTimestamp finds the first batch whose max timestamp is at or after ts, among
// committed records.
func (p *Partition) OffsetForTimestamp(ts int64) (offset, timestamp int64, found bool) {
	off, t, ok := p.log.OffsetForTimestamp(ts)
	if !ok || off >= p.HighWatermark() {
		return -1, -1, false
	}
	return off, t, true
}

// MaxTimestamp returns the offset and timestamp of the record with the largest timestamp.
func (p *Partition) MaxTimestamp() (offset, timestamp int64) { return p.log.MaxTimestamp() }

// update applies what a new metadata image says about this partition: its config (a changed
// topic config reaches the log at once: the next append rolls, and the next retention pass
// deletes, by it) and its role (applyRole). It returns whether this broker must (re)start
// fetching it from its leader.
func (p *Partition) update(cfg config.Topic, part metadata.Partition) (fetch bool) {
	p.mu.Lock()
	changed := p.cfg != cfg
	p.cfg = cfg
	p.mu.Unlock()
	if changed {
		if err := p.log.SetConfig(p.logConfig(cfg)); err != nil {
			// The controller validated the config; keep the log's previous settings.
			p.logger.Error("applying topic config to the log failed", "err", err)
		}
	}
	return p.applyRole(part)
}

// DeleteRecords moves the log start offset up to offset (DeleteRecords API) and returns the
// new low watermark. Offset -1 means the high watermark; an offset above the high watermark,
// or negative otherwise, is OFFSET_OUT_OF_RANGE. An offset below the log start offset changes
// nothing. Segments wholly below the new start are deleted at once and the new start is
// checkpointed before the call returns, so it survives a restart.
func (p *Partition) DeleteRecords(offset int64) (lowWatermark int64, err error) {
	if !p.Config().DeleteEnabled() {
		// As Kafka: records of a compact-only topic are kept by key, not by offset.
		return -1, kerr.PolicyViolation
	}
	hw := p.HighWatermark()
	if offset == -1 {
		offset = hw
	}
	if offset < 0 || offset > hw {
		return -1, kerr.OffsetOutOfRange
	}
	before := p.log.LogStartOffset()
	if err := p.log.DeleteRecordsBefore(offset); err != nil {
		if errors.Is(err, storage.ErrClosed) {
			return -1, kerr.UnknownTopicOrPartition
		}
		if errors.Is(err, storage.ErrOffsetOutOfRange) {
			return -1, kerr.OffsetOutOfRange
		}
		p.logger.Error("delete records failed", "offset", offset, "err", err)
		return -1, kerr.KafkaStorageError
	}
	lso := p.log.LogStartOffset()
	if lso != before {
		p.logStartMoved()
	}
	return lso, nil
}

// Config is the partition's topic configuration.
func (p *Partition) Config() config.Topic {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg
}

// NumSegments is the number of segments of the partition's log.
func (p *Partition) NumSegments() int { return p.log.NumSegments() }

// BatchTimestampAt returns the base timestamp of the batch that holds offset (the timestamp
// of its first record), read from that batch's header alone; found is false when offset is
// at or past the high watermark, below the log start offset, or unreadable. Consumer-lag
// evaluation uses it for the age of the first record a group has not consumed.
func (p *Partition) BatchTimestampAt(offset int64) (timestamp int64, found bool) {
	if offset >= p.HighWatermark() || offset < p.log.LogStartOffset() {
		return -1, false
	}
	err := p.log.ScanHeaders(offset, func(h records.Header) bool {
		timestamp, found = h.BaseTimestamp, true
		return false
	})
	if err != nil {
		return -1, false
	}
	return timestamp, found
}
