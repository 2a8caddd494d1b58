package replica

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/records"
	"github.com/gregorhq/gregor/internal/storage"
)

// TxnMarker is a transaction marker for one partition: the control batch a coordinator writes
// to end a producer's transaction there (WriteTxnMarkers).
type TxnMarker struct {
	ProducerID       int64
	ProducerEpoch    int16
	Commit           bool // COMMIT (control type 1) or ABORT (control type 0)
	CoordinatorEpoch int32
}

// TxnMarkerListener is told about every marker written to a partition of the topic it was
// registered for, after it is in the log (offset is the marker's offset).
type TxnMarkerListener func(partition int32, m TxnMarker, offset int64)

// OnTxnMarker registers fn for markers written to partitions of topic. The group coordinator
// registers for __consumer_offsets to make a transaction's offsets visible on commit and drop
// them on abort. Register before serving; listeners are not removed.
func (m *Manager) OnTxnMarker(topic string, fn TxnMarkerListener) {
	m.listenersMu.Lock()
	defer m.listenersMu.Unlock()
	if m.markerListeners == nil {
		m.markerListeners = map[string][]TxnMarkerListener{}
	}
	m.markerListeners[topic] = append(m.markerListeners[topic], fn)
}

// txnMarkerListeners returns the listeners registered for topic.
func (m *Manager) txnMarkerListeners(topic string) []TxnMarkerListener {
	m.listenersMu.RLock()
	defer m.listenersMu.RUnlock()
	return m.markerListeners[topic]
}

// abortedTxn is the aborted transaction index entry of producerID's transaction, begun at
// first (-1: unknown, then the marker alone) and aborted by the marker at offset, once state
// no longer holds it open. Its last stable offset is the partition's after the abort (the
// high watermark is not counted: it reaches the marker as soon as the ISR has it).
func abortedTxn(state *producerState, producerID, first, offset int64) storage.AbortedTxn {
	if first < 0 {
		first = offset
	}
	lso := offset + 1
	if fu := state.firstUnstableOffset(); fu >= 0 {
		lso = fu
	}
	return storage.AbortedTxn{ProducerID: producerID, FirstOffset: first, LastOffset: offset, LastStableOffset: lso}
}

// WriteTxnMarker appends the marker as a control batch (Kafka's EndTransactionMarker: key
// version 0 + type; value version 0 + coordinator epoch), ends the producer's ongoing
// transaction in this partition (an abort is recorded in the aborted-transaction index), moves
// the last stable offset, and returns the marker's offset. A marker whose epoch is older than
// the producer's current epoch is INVALID_PRODUCER_EPOCH, one from an older coordinator
// epoch than the producer's last marker TRANSACTION_COORDINATOR_FENCED. A marker for a
// producer with no ongoing transaction is still written (Kafka does), harmless.
// After the append the Manager's marker listeners for the topic are called.
func (p *Partition) WriteTxnMarker(m TxnMarker) (offset int64, err error) {
	if m.ProducerID < 0 {
		return -1, fmt.Errorf("marker without a producer id: %w", kerr.InvalidProducerIDMapping)
	}
	p.mu.Lock()
	epoch, leader := p.leaderEpoch, p.leader
	p.mu.Unlock()
	if leader != p.nodeID {
		return -1, kerr.NotLeaderForPartition
	}

	p.appendMu.Lock()
	if err := p.producers.checkMarker(m); err != nil {
		p.appendMu.Unlock()
		return -1, err
	}
	ts := p.now().UnixMilli()
	batch := records.BuildControlBatch(0, ts, m.ProducerID, m.ProducerEpoch, m.Commit, m.CoordinatorEpoch)
	records.SetPartitionLeaderEpoch(batch, epoch)
	h, _ := records.ParseHeader(batch) // cannot fail: a whole batch was built
	offset, err = p.log.Append(batch, h)
	if err != nil {
		p.appendMu.Unlock()
		return -1, kerr.KafkaStorageError
	}
	first := p.producers.completeTxn(m, offset, ts)
	if !m.Commit {
		if err := p.log.AppendAbortedTxn(abortedTxn(p.producers, m.ProducerID, first, offset)); err != nil {
			// The log has failed (it takes no more writes). The transaction stays open, so
			// the last stable offset stays below its records and read_committed consumers
			// never see them; the coordinator retries the marker, and a restart replays it
			// from a producer state older than it (a failed log is not snapshotted) and
			// writes the entry then.
			p.producers.reopenTxn(m.ProducerID, first)
			p.appendedLocked()
			p.appendMu.Unlock()
			p.logger.Error("writing the aborted transaction index failed", "offset", offset, "err", err)
			return -1, kerr.KafkaStorageError
		}
	}
	delete(p.verifying, m.ProducerID) // a verification under way was for the ended transaction
	p.appendedLocked()
	p.appendMu.Unlock()
	if err := p.flushIfDue(offset + 1); err != nil {
		return -1, err
	}

	if p.markerListeners != nil {
		for _, fn := range p.markerListeners(p.TP.Topic) {
			fn(p.TP.Partition, m, offset)
		}
	}
	return offset, nil
}

// AppendFromCoordinator appends a batch written by a coordinator on behalf of a producer
// (transactional offset commits in __consumer_offsets: producer id/epoch set, transactional
// bit set, base sequence -1): the epoch is checked and the transaction tracked, but no
// sequence number is checked (Kafka's AppendOrigin.COORDINATOR).
func (p *Partition) AppendFromCoordinator(batch []byte, h records.Header) (AppendResult, error) {
	if h.Control() {
		return AppendResult{}, fmt.Errorf("coordinators do not write control batches: %w", kerr.InvalidRecord)
	}
	p.mu.Lock()
	epoch, leader := p.leaderEpoch, p.leader
	p.mu.Unlock()
	if leader != p.nodeID {
		return AppendResult{}, kerr.NotLeaderForPartition
	}

	p.appendMu.Lock()
	if isIdempotent(h) {
		if err := p.producers.checkEpoch(h.ProducerID, h.ProducerEpoch); err != nil {
			p.appendMu.Unlock()
			return AppendResult{}, err
		}
	}
	records.SetPartitionLeaderEpoch(batch, epoch)
	base, err := p.log.Append(batch, h)
	if err != nil {
		p.appendMu.Unlock()
		return AppendResult{}, kerr.KafkaStorageError
	}
	h.BaseOffset = base
	p.producers.update(h)
	res := AppendResult{BaseOffset: base, LogAppendTime: -1, LogStartOffset: p.log.LogStartOffset()}
	p.appendedLocked()
	p.appendMu.Unlock()
	if err := p.flushIfDue(base + int64(h.LastOffsetDelta) + 1); err != nil {
		return AppendResult{}, err
	}
	return res, nil
}

// appendedLocked publishes an append: the high watermark moves as far as the ISR has the log
// (at once to the log end when the ISR is the leader alone, as on a single node), the first
// unstable offset follows the producer state, and waiting fetches wake. The caller holds
// appendMu.
func (p *Partition) appendedLocked() {
	leo := p.log.LogEndOffset()
	fu := p.producers.firstUnstableOffset()
	p.mu.Lock()
	p.maybeAdvanceHighWatermarkLocked(leo)
	p.firstUnstableOffset = fu
	p.wakeWaitersLocked()
	p.mu.Unlock()
}

// flushIfDue applies flush.messages to a leader's append that ended at end, outside
// appendMu so that the appends queued behind one fsync share the next (storage/flush.go),
// and answers KAFKA_STORAGE_ERROR when it fails. A flush that was due may let the high
// watermark move (it is bounded by DurableEnd meanwhile): the fetches and acks=all produces
// waiting on it go on.
func (p *Partition) flushIfDue(end int64) error {
	due, err := p.log.FlushIfDue(end)
	if err != nil {
		return kerr.KafkaStorageError
	}
	if !due {
		return nil // nothing held the high watermark back
	}
	leo := p.log.LogEndOffset()
	p.mu.Lock()
	if p.maybeAdvanceHighWatermarkLocked(leo) {
		p.wakeWaitersLocked()
	}
	p.mu.Unlock()
	return nil
}

// LastStableOffset is the offset below which every transaction has ended and records are
// committed: the first offset of the oldest open transaction, or the high watermark if that
// is lower (read_committed consumers read below it).
func (p *Partition) LastStableOffset() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastStableOffsetLocked()
}

func (p *Partition) lastStableOffsetLocked() int64 {
	if p.firstUnstableOffset >= 0 && p.firstUnstableOffset < p.highWatermark {
		return p.firstUnstableOffset
	}
	return p.highWatermark
}

// AbortedTransactions returns the aborted transactions overlapping [from, upTo) (see
// storage.Log.AbortedTransactions).
func (p *Partition) AbortedTransactions(from, upTo int64) []storage.AbortedTxn {
	return p.log.AbortedTransactions(from, upTo)
}

// ProducerInfo is one active producer of a partition (DescribeProducers).
type ProducerInfo struct {
	ProducerID       int64
	ProducerEpoch    int16
	LastSequence     int32 // -1 when none
	LastTimestamp    int64
	CoordinatorEpoch int32 // -1 when no marker was written
	// CurrentTxnStartOffset is the first offset of its open transaction, -1 when none.
	CurrentTxnStartOffset int64
}

// ActiveProducers lists the producers the partition holds state for, in producer id order.
func (p *Partition) ActiveProducers() []ProducerInfo {
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	out := make([]ProducerInfo, 0, len(p.producers.producers))
	for id, e := range p.producers.producers {
		out = append(out, ProducerInfo{
			ProducerID: id, ProducerEpoch: e.Epoch, LastSequence: e.lastSeq(), LastTimestamp: e.LastTimestamp,
			CoordinatorEpoch: e.CoordinatorEpoch, CurrentTxnStartOffset: e.CurrentTxnFirstOffset,
		})
	}
	slices.SortFunc(out, func(a, b ProducerInfo) int { return cmp.Compare(a.ProducerID, b.ProducerID) })
	return out
}
