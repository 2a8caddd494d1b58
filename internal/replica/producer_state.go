package replica

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/records"
)

// maxCachedBatches is how many of a producer's latest batches a partition remembers to
// recognise retries (Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN; the producer keeps at
// most max.in.flight.requests.per.connection = 5 batches in flight with idempotence).
const maxCachedBatches = 5

// producerBatch is what a partition remembers of one appended batch of an idempotent
// producer (Kafka's BatchMetadata).
type producerBatch struct {
	FirstSeq, LastSeq       int32
	FirstOffset, LastOffset int64
	Timestamp               int64 // the batch's max timestamp
}

// producerEntry is one producer's state in one partition (Kafka's ProducerStateEntry).
type producerEntry struct {
	Epoch int16
	// Batches are the producer's latest batches of the current epoch, oldest first.
	//
	// Invariant: len(Batches) <= maxCachedBatches, and each batch's FirstSeq follows the
	// previous one's LastSeq (with wrap-around).
	Batches []producerBatch
	// LastTimestamp is the max timestamp of the producer's latest batch; expiry counts from it.
	LastTimestamp int64
	// CurrentTxnFirstOffset is the offset of the first batch of the producer's open
	// transaction in this partition, -1 when none is open.
	CurrentTxnFirstOffset int64
	// CoordinatorEpoch is that of the coordinator that wrote the producer's latest marker
	// (-1 before any): a marker from an older coordinator is fenced.
	CoordinatorEpoch int32
}

func newProducerEntry(epoch int16) *producerEntry {
	return &producerEntry{Epoch: epoch, CurrentTxnFirstOffset: -1, CoordinatorEpoch: -1}
}

// lastSeq is the sequence of the producer's latest record, -1 (Kafka's NO_SEQUENCE) when
// its epoch has no batch yet.
func (e *producerEntry) lastSeq() int32 {
	if len(e.Batches) == 0 {
		return -1
	}
	return e.Batches[len(e.Batches)-1].LastSeq
}

// producerState is the idempotent and transactional producers' state of one partition
// (Kafka's ProducerStateManager). It is guarded by Partition.appendMu.
type producerState struct {
	producers map[int64]*producerEntry
	// ongoing are the open transactions, ordered by first offset (appends assign offsets in
	// order, so a new one goes last).
	//
	// Invariant: ongoing holds exactly the producers whose CurrentTxnFirstOffset >= 0, each
	// once, with that offset.
	ongoing []ongoingTxn
}

// ongoingTxn is one open transaction of the partition.
type ongoingTxn struct {
	FirstOffset int64
	ProducerID  int64
}

func newProducerState() *producerState {
	return &producerState{producers: map[int64]*producerEntry{}}
}

// empty reports whether the state knows no producer.
func (s *producerState) empty() bool { return len(s.producers) == 0 && len(s.ongoing) == 0 }

// firstUnstableOffset is the first offset of the oldest open transaction, -1 when none is
// open: the last stable offset cannot pass it.
func (s *producerState) firstUnstableOffset() int64 {
	if len(s.ongoing) == 0 {
		return -1
	}
	return s.ongoing[0].FirstOffset
}

// rebuildOngoing recomputes ongoing from the entries (after a snapshot is decoded).
func (s *producerState) rebuildOngoing() {
	s.ongoing = s.ongoing[:0]
	for id, e := range s.producers {
		if e.CurrentTxnFirstOffset >= 0 {
			s.ongoing = append(s.ongoing, ongoingTxn{FirstOffset: e.CurrentTxnFirstOffset, ProducerID: id})
		}
	}
	slices.SortFunc(s.ongoing, func(a, b ongoingTxn) int { return cmp.Compare(a.FirstOffset, b.FirstOffset) })
}

func (s *producerState) removeOngoing(producerID int64) {
	s.ongoing = slices.DeleteFunc(s.ongoing, func(t ongoingTxn) bool { return t.ProducerID == producerID })
}

// isIdempotent reports whether a batch carries a producer id (Kafka's hasProducerId).
func isIdempotent(h records.Header) bool { return h.ProducerID >= 0 }

// batchLastSeq is the sequence of a batch's last record: the base sequence plus the last
// offset delta, wrapping past math.MaxInt32 to 0 as producers do.
func batchLastSeq(h records.Header) int32 {
	return incrementSequence(h.BaseSequence, h.LastOffsetDelta)
}

func incrementSequence(seq, by int32) int32 {
	if seq > math.MaxInt32-by {
		return by - (math.MaxInt32 - seq) - 1
	}
	return seq + by
}

// inSequence reports whether next follows last (Kafka's ProducerAppendInfo.inSequence).
func inSequence(last, next int32) bool {
	return int64(next) == int64(last)+1 || (next == 0 && last == math.MaxInt32)
}

// check decides what to do with an idempotent producer's batch before it is appended, as
// Kafka's UnifiedLog.analyzeAndValidateProducerState and ProducerAppendInfo do:
//
//   - a retry of one of the producer's cached batches (same epoch, same first and last
//     sequence) is a duplicate: it returns that batch, and the caller answers with its
//     offsets without appending;
//   - an epoch older than the producer's is INVALID_PRODUCER_EPOCH;
//   - a newer epoch must start at sequence 0, else OUT_OF_ORDER_SEQUENCE_NUMBER;
//   - within an epoch the first sequence must follow the last one, else
//     OUT_OF_ORDER_SEQUENCE_NUMBER (so must a retry of a batch older than the cached ones);
//   - a producer the partition does not know (new, or expired) may start at any sequence:
//     since KIP-360 the broker no longer answers UNKNOWN_PRODUCER_ID.
func (s *producerState) check(h records.Header) (dup producerBatch, isDup bool, err error) {
	e := s.producers[h.ProducerID]
	if e == nil {
		return producerBatch{}, false, nil
	}
	if e.CurrentTxnFirstOffset >= 0 && !h.Transactional() && h.ProducerEpoch == e.Epoch {
		// As Kafka's ProducerAppendInfo.checkProducerEpoch/appendDataBatch: a plain
		// idempotent write in the middle of the producer's own transaction.
		return producerBatch{}, false, fmt.Errorf("producer %d has a transaction open at offset %d but wrote a non-transactional batch: %w",
			h.ProducerID, e.CurrentTxnFirstOffset, kerr.InvalidTxnState)
	}
	first, last := h.BaseSequence, batchLastSeq(h)
	if h.ProducerEpoch == e.Epoch {
		for _, b := range e.Batches {
			if b.FirstSeq == first && b.LastSeq == last {
				return b, true, nil
			}
		}
	}
	if h.ProducerEpoch < e.Epoch {
		return producerBatch{}, false, fmt.Errorf("epoch %d of producer %d is older than its current epoch %d: %w",
			h.ProducerEpoch, h.ProducerID, e.Epoch, kerr.InvalidProducerEpoch)
	}
	if h.ProducerEpoch != e.Epoch {
		if first != 0 {
			return producerBatch{}, false, fmt.Errorf("invalid sequence %d for new epoch %d of producer %d (current epoch %d): %w",
				first, h.ProducerEpoch, h.ProducerID, e.Epoch, kerr.OutOfOrderSequenceNumber)
		}
		return producerBatch{}, false, nil
	}
	if lastSeq := e.lastSeq(); !inSequence(lastSeq, first) {
		return producerBatch{}, false, fmt.Errorf("out of order sequence %d for producer %d epoch %d: expected %d: %w",
			first, h.ProducerID, h.ProducerEpoch, incrementSequence(lastSeq, 1), kerr.OutOfOrderSequenceNumber)
	}
	return producerBatch{}, false, nil
}

// update records an appended batch (h.BaseOffset is its offset in the log). It checks
// nothing: it runs after check on the produce path, and on batches already in the log when
// the state is rebuilt.
//
// A transactional batch opens the producer's transaction if none is open. Batches without a
// sequence (BaseSequence -1: a coordinator's writes on a producer's behalf) update the epoch
// and the transaction but are not remembered for retries. Control batches go through
// completeTxn instead.
func (s *producerState) update(h records.Header) {
	if !isIdempotent(h) || h.Control() {
		return
	}
	e := s.producers[h.ProducerID]
	if e == nil {
		e = newProducerEntry(h.ProducerEpoch)
		s.producers[h.ProducerID] = e
	}
	if h.ProducerEpoch != e.Epoch {
		e.Epoch = h.ProducerEpoch
		e.Batches = nil
	}
	if h.Transactional() && e.CurrentTxnFirstOffset < 0 {
		e.CurrentTxnFirstOffset = h.BaseOffset
		s.ongoing = append(s.ongoing, ongoingTxn{FirstOffset: h.BaseOffset, ProducerID: h.ProducerID})
	}
	e.LastTimestamp = h.MaxTimestamp
	if h.BaseSequence < 0 {
		return
	}
	if len(e.Batches) == maxCachedBatches {
		e.Batches = append(e.Batches[:0], e.Batches[1:]...)
	}
	e.Batches = append(e.Batches, producerBatch{
		FirstSeq: h.BaseSequence, LastSeq: batchLastSeq(h),
		FirstOffset: h.BaseOffset, LastOffset: h.LastOffset(),
		Timestamp: h.MaxTimestamp,
	})
}

// checkEpoch is the epoch check of a batch that carries no sequence to check (Kafka's
// AppendOrigin.COORDINATOR): an epoch older than the producer's is INVALID_PRODUCER_EPOCH.
func (s *producerState) checkEpoch(producerID int64, epoch int16) error {
	if e := s.producers[producerID]; e != nil && epoch < e.Epoch {
		return fmt.Errorf("epoch %d of producer %d is older than its current epoch %d: %w",
			epoch, producerID, e.Epoch, kerr.InvalidProducerEpoch)
	}
	return nil
}

// checkMarker checks a transaction marker before it is appended (Kafka's
// ProducerAppendInfo.appendEndTxnMarker): its epoch must not be older than the producer's,
// and its coordinator epoch not older than that of the producer's last marker.
func (s *producerState) checkMarker(m TxnMarker) error {
	if err := s.checkEpoch(m.ProducerID, m.ProducerEpoch); err != nil {
		return err
	}
	if e := s.producers[m.ProducerID]; e != nil && m.CoordinatorEpoch < e.CoordinatorEpoch {
		return fmt.Errorf("marker of coordinator epoch %d for producer %d, which had one of epoch %d: %w",
			m.CoordinatorEpoch, m.ProducerID, e.CoordinatorEpoch, kerr.TransactionCoordinatorFenced)
	}
	return nil
}

// completeTxn applies a marker at offset with max timestamp ts: the producer takes the
// marker's epoch (its cached batches go with an older one) and its transaction ends. It
// returns the first offset of the transaction it ended, -1 when none was open (a marker is
// written even then, as Kafka does).
func (s *producerState) completeTxn(m TxnMarker, offset, ts int64) (firstOffset int64) {
	e := s.producers[m.ProducerID]
	if e == nil {
		e = newProducerEntry(m.ProducerEpoch)
		s.producers[m.ProducerID] = e
	}
	if m.ProducerEpoch != e.Epoch {
		e.Epoch = m.ProducerEpoch
		e.Batches = nil
	}
	e.CoordinatorEpoch = m.CoordinatorEpoch
	e.LastTimestamp = ts
	firstOffset = e.CurrentTxnFirstOffset
	if firstOffset >= 0 {
		e.CurrentTxnFirstOffset = -1
		s.removeOngoing(m.ProducerID)
	}
	return firstOffset
}

// reopenTxn undoes completeTxn's end of producerID's transaction begun at firstOffset (-1:
// none was open), when its marker could not be recorded.
func (s *producerState) reopenTxn(producerID, firstOffset int64) {
	e := s.producers[producerID]
	if e == nil || firstOffset < 0 {
		return
	}
	e.CurrentTxnFirstOffset = firstOffset
	s.ongoing = append(s.ongoing, ongoingTxn{FirstOffset: firstOffset, ProducerID: producerID})
	slices.SortFunc(s.ongoing, func(a, b ongoingTxn) int { return cmp.Compare(a.FirstOffset, b.FirstOffset) })
}

// expire removes producers whose latest batch is at least expirationMs older than nowMs
// (producer.id.expiration.ms; Kafka's ProducerStateManager.removeExpiredProducers) and
// returns how many went.
func (s *producerState) expire(nowMs, expirationMs int64) int {
	n := 0
	for id, e := range s.producers {
		// A producer with an open transaction stays: the last stable offset depends on it
		// (Kafka expires it only once the transaction ends).
		if e.CurrentTxnFirstOffset < 0 && nowMs-e.LastTimestamp >= expirationMs {
			delete(s.producers, id)
			n++
		}
	}
	return n
}
