package group

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gregorhq/gregor/internal/records"
	"github.com/gregorhq/gregor/internal/replica"
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

// attrTransactional is the transactional bit of a RecordBatch's attributes.
const attrTransactional = 0x10

// replicaLog is a PartitionLog on a partition of the replica manager.
type replicaLog struct {
	p   *replica.Partition
	now func() int64 // milliseconds
}

func (l replicaLog) Append(recs []records.Record) (int64, error) {
	batch := records.BuildSimple(0, l.now(), recs...)
	h, err := records.ParseHeader(batch)
	if err != nil {
		return 0, err
	}
	res, err := l.p.Append(batch, h)
	if err != nil {
		return 0, err
	}
	return res.BaseOffset + int64(len(recs)), nil
}

func (l replicaLog) AppendTransactional(producerID int64, producerEpoch int16, recs []records.Record) (int64, error) {
	// Kafka's shape for a coordinator's transactional write: the producer's id and epoch,
	// the transactional bit, and no sequence (it is not checked for coordinator appends).
	b := records.NewBuilder(records.BatchHeader{
		Attributes: attrTransactional, BaseTimestamp: l.now(),
		ProducerID: producerID, ProducerEpoch: producerEpoch, BaseSequence: -1,
	})
	for i, r := range recs {
		r.OffsetDelta, r.TimestampDelta = int32(i), 0
		b.Add(r)
	}
	batch := b.Build()
	h, err := records.ParseHeader(batch)
	if err != nil {
		return 0, err
	}
	res, err := l.p.AppendFromCoordinator(batch, h)
	if err != nil {
		return 0, err
	}
	return res.BaseOffset + int64(len(recs)), nil
}

func (l replicaLog) WaitCommitted(ctx context.Context, offset int64) error {
	return l.p.WaitHighWatermark(ctx, offset)
}

// catchUpTimeout bounds how long a load waits for the high watermark to reach the log end
// offset (waitCaughtUp); after it, the load fails and is tried again.
const catchUpTimeout = 5 * time.Second

// waitCaughtUp waits until the high watermark reaches the log end offset as of the call,
// before a load replays the log. A broker that has just become the partition's leader knows
// the high watermark only as its last fetch from the old leader told it, which can be
// behind records the old leader had already acknowledged (acks=all: every in-sync replica,
// this one included, has them). Replaying only up to that high watermark would lose them
// (offsets a consumer committed, a transaction's last state); they are committed once the
// followers fetch from this new leader, which moves its high watermark past them.
func (l replicaLog) waitCaughtUp() error {
	ctx, cancel := context.WithTimeout(context.Background(), catchUpTimeout)
	defer cancel()
	if err := l.WaitCommitted(ctx, l.p.LogEndOffset()); err != nil {
		return fmt.Errorf("the high watermark did not reach the log end offset in %v: %w", catchUpTimeout, err)
	}
	return nil
}

// replayReadBytes is how much of the log Replay reads at a time (Kafka's
// offsets.load.buffer.size default).
const replayReadBytes = 5 << 20

func (l replicaLog) Replay(fn func(LogBatch)) (int64, error) {
	if err := l.waitCaughtUp(); err != nil {
		return l.p.LogStartOffset(), err
	}
	off := l.p.LogStartOffset()
	for {
		res, err := l.p.Read(off, replayReadBytes, true)
		if err != nil {
			return off, err
		}
		data, err := res.Region.ReadBytes()
		if err != nil {
			return off, err
		}
		if len(data) == 0 {
			return off, nil
		}
		progressed := false
		for len(data) > 0 {
			h, err := records.ParseHeader(data)
			if err != nil || h.Size() > int64(len(data)) {
				break // a batch cut short by the read size: read it again from its start
			}
			batch := data[:h.Size()]
			data = data[h.Size():]
			off = h.NextOffset()
			progressed = true
			lb := LogBatch{ProducerID: h.ProducerID, Transactional: h.Transactional(), Control: h.Control()}
			err = records.ForEachRecord(batch, func(r records.Record) bool {
				lb.Records = append(lb.Records, LogRecord{Offset: h.BaseOffset + int64(r.OffsetDelta), Key: r.Key, Value: r.Value})
				return true
			})
			if err != nil {
				return off, err
			}
			fn(lb)
		}
		if !progressed {
			return off, errors.New("group: replay made no progress")
		}
	}
}
