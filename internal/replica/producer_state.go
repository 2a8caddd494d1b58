package replica

import (
	"fmt"
	"math"

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
// Transactions will add the first offset of the producer's open transaction here.
type producerEntry struct {
	Epoch int16
	// Batches are the producer's latest batches of the current epoch, oldest first.
	//
	// Invariant: len(Batches) <= maxCachedBatches, and each batch's FirstSeq follows the
	// previous one's LastSeq (with wrap-around).
	Batches []producerBatch
	// LastTimestamp is the max timestamp of the producer's latest batch; expiry counts from it.
	LastTimestamp int64
}

// lastSeq is the sequence of the producer's latest record, -1 (Kafka's NO_SEQUENCE) when
// its epoch has no batch yet.
func (e *producerEntry) lastSeq() int32 {
	if len(e.Batches) == 0 {
		return -1
	}
	return e.Batches[len(e.Batches)-1].LastSeq
}

// producerState is the idempotent producers' state of one partition (Kafka's
// ProducerStateManager, without transactions yet). It is guarded by Partition.appendMu.
type producerState struct {
	producers map[int64]*producerEntry
}

func newProducerState() *producerState {
	return &producerState{producers: map[int64]*producerEntry{}}
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
func (s *producerState) update(h records.Header) {
	if !isIdempotent(h) || h.Control() {
		return // transaction markers come with transactions
	}
	e := s.producers[h.ProducerID]
	if e == nil {
		e = &producerEntry{Epoch: h.ProducerEpoch}
		s.producers[h.ProducerID] = e
	}
	if h.ProducerEpoch != e.Epoch {
		e.Epoch = h.ProducerEpoch
		e.Batches = nil
	}
	if len(e.Batches) == maxCachedBatches {
		e.Batches = append(e.Batches[:0], e.Batches[1:]...)
	}
	e.Batches = append(e.Batches, producerBatch{
		FirstSeq: h.BaseSequence, LastSeq: batchLastSeq(h),
		FirstOffset: h.BaseOffset, LastOffset: h.LastOffset(),
		Timestamp: h.MaxTimestamp,
	})
	e.LastTimestamp = h.MaxTimestamp
}

// expire removes producers whose latest batch is at least expirationMs older than nowMs
// (producer.id.expiration.ms; Kafka's ProducerStateManager.removeExpiredProducers) and
// returns how many went.
func (s *producerState) expire(nowMs, expirationMs int64) int {
	n := 0
	for id, e := range s.producers {
		if nowMs-e.LastTimestamp >= expirationMs {
			delete(s.producers, id)
			n++
		}
	}
	return n
}
