// Temporary: replaced by the partition-side transaction code.

package replica

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/records"
)

// TxnMarker is a transaction marker for one partition: the control batch a coordinator writes
// to end a producer's transaction there (WriteTxnMarkers).
type TxnMarker struct {
	ProducerID       int64
	ProducerEpoch    int16
	Commit           bool // COMMIT (control type 1) or ABORT (control type 0)
	CoordinatorEpoch int32
}

// WriteTxnMarker is not implemented by this stub.
func (p *Partition) WriteTxnMarker(m TxnMarker) (offset int64, err error) {
	return 0, errors.New("replica: transaction markers are not implemented")
}

// AppendFromCoordinator appends a batch written by a coordinator on behalf of a producer. This
// stub appends without any producer state.
func (p *Partition) AppendFromCoordinator(batch []byte, h records.Header) (AppendResult, error) {
	p.mu.Lock()
	epoch := p.leaderEpoch
	p.mu.Unlock()
	p.appendMu.Lock()
	records.SetPartitionLeaderEpoch(batch, epoch)
	base, err := p.log.Append(batch, h)
	if err != nil {
		p.appendMu.Unlock()
		return AppendResult{}, kerr.KafkaStorageError
	}
	res := AppendResult{BaseOffset: base, LogAppendTime: -1, LogStartOffset: p.log.LogStartOffset()}
	leo := p.log.LogEndOffset()
	p.appendMu.Unlock()
	p.mu.Lock()
	if leo > p.highWatermark {
		p.highWatermark = leo
	}
	p.wakeWaitersLocked()
	p.mu.Unlock()
	return res, nil
}

// TxnMarkerListener is told about every marker written to a partition of the topic it was
// registered for, after it is in the log (offset is the marker's offset).
type TxnMarkerListener func(partition int32, m TxnMarker, offset int64)

// OnTxnMarker registers fn for markers written to partitions of topic. This stub writes no
// markers, so it keeps no listeners.
func (m *Manager) OnTxnMarker(topic string, fn TxnMarkerListener) {}
