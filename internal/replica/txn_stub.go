// Temporary: replaced by the partition-side transaction code.

package replica

import "github.com/gregorhq/gregor/internal/records"

// TxnMarker is a transaction marker for one partition: the control batch a coordinator writes
// to end a producer's transaction there (WriteTxnMarkers).
type TxnMarker struct {
	ProducerID       int64
	ProducerEpoch    int16
	Commit           bool // COMMIT (control type 1) or ABORT (control type 0)
	CoordinatorEpoch int32
}

// WriteTxnMarker stands in for the partition side: it writes nothing and reports the log end
// offset.
func (p *Partition) WriteTxnMarker(m TxnMarker) (offset int64, err error) {
	return p.LogEndOffset(), nil
}

// AppendFromCoordinator stands in for the partition side: a plain append.
func (p *Partition) AppendFromCoordinator(batch []byte, h records.Header) (AppendResult, error) {
	return p.Append(batch, h)
}

// TxnMarkerListener is told about every marker written to a partition of the topic it was
// registered for, after it is in the log (offset is the marker's offset).
type TxnMarkerListener func(partition int32, m TxnMarker, offset int64)

// OnTxnMarker stands in for the partition side: listeners are never called.
func (m *Manager) OnTxnMarker(topic string, fn TxnMarkerListener) {}
