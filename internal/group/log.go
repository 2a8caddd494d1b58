package group

import (
	"context"

	"github.com/gregorhq/gregor/internal/coordinator"
	"github.com/gregorhq/gregor/internal/records"
)

// PartitionLog is one __consumer_offsets partition as the coordinator uses it.
type PartitionLog interface {
	// Append writes recs as one batch and returns the offset after it; record i is at
	// next-len(recs)+i.
	Append(recs []records.Record) (next int64, err error)
	// AppendTransactional writes recs as one transactional batch of the producer (the offsets
	// of a TxnOffsetCommit), with its epoch checked as the partition checks a producer's, and
	// returns the offset after it; record i is at next-len(recs)+i.
	AppendTransactional(producerID int64, producerEpoch int16, recs []records.Record) (next int64, err error)
	// WaitCommitted returns once the high watermark is at least offset, or ctx ends.
	WaitCommitted(ctx context.Context, offset int64) error
	// Replay calls fn with every batch from the log start to the high watermark, in order,
	// and returns the offset after the last one. It first waits for the high watermark to
	// reach the log end offset (a new leader's lags what the old leader acknowledged).
	Replay(fn func(LogBatch)) (next int64, err error)
}

// LogBatch is one batch of a __consumer_offsets partition, as replay needs it.
type LogBatch struct {
	ProducerID int64 // -1 when none
	// Transactional marks the offsets of a TxnOffsetCommit: pending until a marker of the
	// same producer ends the transaction.
	Transactional bool
	// Control marks a transaction marker: its one record's key is Kafka's
	// EndTransactionMarker key (version, type), see markerType.
	Control bool
	Records []LogRecord
}

// LogRecord is one record of a LogBatch, with its offset in the partition.
type LogRecord struct {
	Offset     int64
	Key, Value []byte
}

// replicaLog is a PartitionLog on a partition of the replica manager.
type replicaLog struct {
	coordinator.ReplicaLog
}

func (l replicaLog) Replay(fn func(LogBatch)) (int64, error) {
	return l.ReplicaLog.Replay(func(h records.Header, batch []byte) error {
		lb := LogBatch{ProducerID: h.ProducerID, Transactional: h.Transactional(), Control: h.Control()}
		err := records.ForEachRecord(batch, func(r records.Record) bool {
			lb.Records = append(lb.Records, LogRecord{Offset: h.BaseOffset + int64(r.OffsetDelta), Key: r.Key, Value: r.Value})
			return true
		})
		if err != nil {
			return err
		}
		fn(lb)
		return nil
	})
}
