package coordinator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gregorhq/gregor/internal/records"
	"github.com/gregorhq/gregor/internal/replica"
)

// CommitTimeout bounds how long a coordinator's write waits for the high watermark (Kafka's
// offsets.commit.timeout.ms default).
const CommitTimeout = 5 * time.Second

// Committer is what WaitCommitted needs of a partition log.
type Committer interface {
	// WaitCommitted returns once the high watermark is at least offset, or ctx ends.
	WaitCommitted(ctx context.Context, offset int64) error
}

// WaitCommitted waits, at most CommitTimeout, for a write that ended at offset next to be
// committed (in the high watermark: every in-sync replica has it). A zero next means nothing
// was written, and a nil l nothing to wait on.
func WaitCommitted(ctx context.Context, l Committer, next int64) error {
	if l == nil || next == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, CommitTimeout)
	defer cancel()
	return l.WaitCommitted(ctx, next)
}

// ReplicaLog is a partition of an internal topic on this broker's replica manager, as a
// coordinator writes and replays it. Now is the batches' timestamp source, in milliseconds.
type ReplicaLog struct {
	P   *replica.Partition
	Now func() int64
}

// attrTransactional is the transactional bit of a RecordBatch's attributes.
const attrTransactional = 0x10

// LeaderEpoch is the partition's leader epoch (the transaction coordinator's epoch).
func (l ReplicaLog) LeaderEpoch() int32 { return l.P.LeaderEpoch() }

// Append writes recs as one batch and returns the offset after it; record i is at
// next-len(recs)+i.
func (l ReplicaLog) Append(recs []records.Record) (int64, error) {
	batch := records.BuildSimple(0, l.Now(), recs...)
	h, err := records.ParseHeader(batch)
	if err != nil {
		return 0, err
	}
	res, err := l.P.Append(batch, h)
	if err != nil {
		return 0, err
	}
	return res.BaseOffset + int64(len(recs)), nil
}

// AppendTransactional writes recs as one transactional batch of the producer, with its epoch
// checked as the partition checks a producer's, and returns the offset after it.
func (l ReplicaLog) AppendTransactional(producerID int64, producerEpoch int16, recs []records.Record) (int64, error) {
	// Kafka's shape for a coordinator's transactional write: the producer's id and epoch,
	// the transactional bit, and no sequence (it is not checked for coordinator appends).
	b := records.NewBuilder(records.BatchHeader{
		Attributes: attrTransactional, BaseTimestamp: l.Now(),
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
	res, err := l.P.AppendFromCoordinator(batch, h)
	if err != nil {
		return 0, err
	}
	return res.BaseOffset + int64(len(recs)), nil
}

// WaitCommitted returns once the high watermark is at least offset, or ctx ends.
func (l ReplicaLog) WaitCommitted(ctx context.Context, offset int64) error {
	return l.P.WaitHighWatermark(ctx, offset)
}

// CatchUpTimeout bounds how long a load waits for the high watermark to reach the log end
// offset (WaitCaughtUp); after it, the load fails and is tried again.
const CatchUpTimeout = 5 * time.Second

// WaitCaughtUp waits, at most CatchUpTimeout, until p's high watermark reaches its log end
// offset as of the call, before a load replays the log. A broker that has just become the
// partition's leader knows the high watermark only as its last fetch from the old leader told
// it, which can be behind records the old leader had already acknowledged (acks=all: every
// in-sync replica, this one included, has them). Replaying only up to that high watermark
// would lose them (offsets a consumer committed, a transaction's last state); they are
// committed once the followers fetch from this new leader, which moves its high watermark
// past them.
func WaitCaughtUp(p *replica.Partition) error {
	ctx, cancel := context.WithTimeout(context.Background(), CatchUpTimeout)
	defer cancel()
	if err := p.WaitHighWatermark(ctx, p.LogEndOffset()); err != nil {
		return fmt.Errorf("the high watermark did not reach the log end offset in %v: %w", CatchUpTimeout, err)
	}
	return nil
}

// replayReadBytes is how much of the log a replay reads at a time (Kafka's
// offsets.load.buffer.size and transaction.state.log.load.buffer.size default).
const replayReadBytes = 5 << 20

// Replay calls fn with every batch (its header and its bytes) from the log start to the high
// watermark, in order, and returns the offset after the last one. It first waits for the
// high watermark to catch up (WaitCaughtUp). An error of fn ends the replay.
func (l ReplicaLog) Replay(fn func(h records.Header, batch []byte) error) (next int64, err error) {
	if err := WaitCaughtUp(l.P); err != nil {
		return l.P.LogStartOffset(), err
	}
	return ReadBatches(l.P.LogStartOffset(), func(off int64) ([]byte, error) {
		res, err := l.P.Read(off, replayReadBytes, true)
		if err != nil {
			return nil, err
		}
		return res.Region.ReadBytes()
	}, fn)
}

// ReadBatches calls fn with every whole batch read returns, from offset from on, in order,
// and returns the offset after the last one. read returns the log's bytes from an offset (at
// most one read's worth, empty at the end); a batch it cuts short is read again from its
// start. An error of read or fn ends it.
func ReadBatches(from int64, read func(offset int64) ([]byte, error), fn func(h records.Header, batch []byte) error) (next int64, err error) {
	off := from
	for {
		data, err := read(off)
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
			if err := fn(h, batch); err != nil {
				return off, err
			}
		}
		if !progressed {
			return off, errors.New("coordinator: replay made no progress")
		}
	}
}
