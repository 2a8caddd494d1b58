package txn

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gregorhq/gregor/internal/records"
	"github.com/gregorhq/gregor/internal/replica"
)

// PartitionLog is one __transaction_state partition as the coordinator uses it.
type PartitionLog interface {
	// Append writes recs as one batch and returns the offset after it.
	Append(recs []records.Record) (next int64, err error)
	// WaitCommitted returns once the high watermark is at least offset, or ctx ends.
	WaitCommitted(ctx context.Context, offset int64) error
	// Replay calls fn with every record from the log start to the high watermark, in order,
	// once the high watermark has reached the log end offset (a new leader's lags what the
	// old leader acknowledged).
	Replay(fn func(key, value []byte)) error
	// LeaderEpoch is the partition's leader epoch: the coordinator epoch markers carry.
	LeaderEpoch() int32
}

// replicaLog is a PartitionLog on a partition of the replica manager.
type replicaLog struct {
	p   *replica.Partition
	now func() int64 // milliseconds
}

func (l replicaLog) LeaderEpoch() int32 { return l.p.LeaderEpoch() }

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
// transaction.state.log.load.buffer.size default).
const replayReadBytes = 5 << 20

func (l replicaLog) Replay(fn func(key, value []byte)) error {
	if err := l.waitCaughtUp(); err != nil {
		return err
	}
	off := l.p.LogStartOffset()
	for {
		res, err := l.p.Read(off, replayReadBytes, true)
		if err != nil {
			return err
		}
		data, err := res.Region.ReadBytes()
		if err != nil {
			return err
		}
		if len(data) == 0 {
			return nil
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
			if h.Control() {
				continue
			}
			err = records.ForEachRecord(batch, func(r records.Record) bool {
				fn(r.Key, r.Value)
				return true
			})
			if err != nil {
				return err
			}
		}
		if !progressed {
			return errors.New("txn: replay made no progress")
		}
	}
}
