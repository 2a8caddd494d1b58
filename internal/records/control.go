package records

import (
	"encoding/binary"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Control batches (transaction markers) hold one control record, Kafka's EndTransactionMarker:
//
//	key:   version int16 (0) | type int16 (0 ABORT, 1 COMMIT)
//	value: version int16 (0) | coordinator epoch int32
//
// The batch carries the producer id and epoch of the transaction it ends, base sequence -1,
// and both the transactional and the control attribute bits.

// Control record types (Kafka's ControlRecordType).
const (
	ControlAbort  int16 = 0
	ControlCommit int16 = 1
)

// ControlRecord is the decoded control record of a transaction marker.
type ControlRecord struct {
	Type             int16 // ControlAbort or ControlCommit
	CoordinatorEpoch int32
}

// Commit reports whether the marker commits its transaction.
func (c ControlRecord) Commit() bool { return c.Type == ControlCommit }

// BuildControlBatch builds a transaction marker batch at baseOffset with timestamp ts.
func BuildControlBatch(baseOffset, ts, producerID int64, producerEpoch int16, commit bool, coordinatorEpoch int32) []byte {
	typ := ControlAbort
	if commit {
		typ = ControlCommit
	}
	key := binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, 0), uint16(typ))
	value := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint16(nil, 0), uint32(coordinatorEpoch))
	b := NewBuilder(BatchHeader{
		BaseOffset:    baseOffset,
		Attributes:    attrTransactional | attrControl,
		BaseTimestamp: ts,
		ProducerID:    producerID,
		ProducerEpoch: producerEpoch,
		BaseSequence:  -1,
	})
	b.Add(Record{Key: key, Value: value})
	return b.Build()
}

// ParseControlRecord decodes the control record of the control batch at the start of batch.
// A batch that is not a control batch, or whose first record is not a version 0 marker, is
// an error wrapping kerr.CorruptMessage; a marker value shorter than its fields is read with
// coordinator epoch -1, as Kafka reads an unknown one.
func ParseControlRecord(batch []byte) (ControlRecord, error) {
	h, err := ParseHeader(batch)
	if err != nil {
		return ControlRecord{}, fmt.Errorf("%w: %w", kerr.CorruptMessage, err)
	}
	if !h.Control() {
		return ControlRecord{}, fmt.Errorf("%w: not a control batch", kerr.CorruptMessage)
	}
	var (
		cr    ControlRecord
		found bool
	)
	err = ForEachRecord(batch, func(r Record) bool {
		if len(r.Key) < 4 {
			return false
		}
		found = true
		cr.Type = int16(binary.BigEndian.Uint16(r.Key[2:]))
		cr.CoordinatorEpoch = -1
		if len(r.Value) >= 6 {
			cr.CoordinatorEpoch = int32(binary.BigEndian.Uint32(r.Value[2:]))
		}
		return false
	})
	if err != nil {
		return ControlRecord{}, err
	}
	if !found {
		return ControlRecord{}, fmt.Errorf("%w: control batch without a marker record", kerr.CorruptMessage)
	}
	return cr, nil
}
