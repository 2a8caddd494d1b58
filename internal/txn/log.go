package txn

import (
	"context"

	"github.com/gregorhq/gregor/internal/coordinator"
	"github.com/gregorhq/gregor/internal/records"
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
	coordinator.ReplicaLog
}

func (l replicaLog) Replay(fn func(key, value []byte)) error {
	_, err := l.ReplicaLog.Replay(func(h records.Header, batch []byte) error {
		if h.Control() {
			return nil
		}
		return records.ForEachRecord(batch, func(r records.Record) bool {
			fn(r.Key, r.Value)
			return true
		})
	})
	return err
}
