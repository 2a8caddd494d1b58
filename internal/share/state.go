package share

import (
	"encoding/binary"
	"errors"
)

// Records of __share_group_state. The shape is Kafka's share coordinator's (a key naming
// group, topic id and partition; ShareSnapshot values holding the whole state, ShareUpdate
// values holding the batches one write changed), in a fixed-width encoding of Gregor's own.
// Gregor writes ShareSnapshot records only (see the package comment: compaction keeps one
// record per key, and only a snapshot is whole); ShareUpdate is still decoded, for state
// written by earlier versions:
//
//	key    int16 type (0 ShareSnapshot, 1 ShareUpdate)
//	       int16 len, group id bytes
//	       [16]byte topic id
//	       int32 partition
//	value  int16 version (0)
//	       int64 start offset
//	       int64 end offset (next offset never acquired)
//	       int32 batch count, then per batch:
//	           int64 first offset, int64 last offset, int8 state, int16 delivery count
//
// A null value is a tombstone: the share-partition's state is deleted.

// Record types of __share_group_state keys.
const (
	TypeSnapshot int16 = 0
	TypeUpdate   int16 = 1
)

// StateKey names the share-partition a state record belongs to.
type StateKey struct {
	Group     string
	TopicID   [16]byte
	Partition int32
}

// StateValue is a ShareSnapshot or ShareUpdate value.
type StateValue struct {
	StartOffset, EndOffset int64
	Batches                []StateBatch
}

const batchWireSize = 8 + 8 + 1 + 2

var errShortRecord = errors.New("share: state record cut short")

// EncodeStateKey encodes a key of the given type.
func EncodeStateKey(typ int16, k StateKey) []byte {
	b := make([]byte, 0, 2+2+len(k.Group)+16+4)
	b = binary.BigEndian.AppendUint16(b, uint16(typ))
	b = binary.BigEndian.AppendUint16(b, uint16(len(k.Group)))
	b = append(b, k.Group...)
	b = append(b, k.TopicID[:]...)
	return binary.BigEndian.AppendUint32(b, uint32(k.Partition))
}

// EncodeStateValue encodes a value.
func EncodeStateValue(v StateValue) []byte {
	b := make([]byte, 0, 2+8+8+4+len(v.Batches)*batchWireSize)
	b = binary.BigEndian.AppendUint16(b, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(v.StartOffset))
	b = binary.BigEndian.AppendUint64(b, uint64(v.EndOffset))
	b = binary.BigEndian.AppendUint32(b, uint32(len(v.Batches)))
	for _, sb := range v.Batches {
		b = binary.BigEndian.AppendUint64(b, uint64(sb.First))
		b = binary.BigEndian.AppendUint64(b, uint64(sb.Last))
		b = append(b, byte(sb.State))
		b = binary.BigEndian.AppendUint16(b, uint16(sb.DeliveryCount))
	}
	return b
}

// DecodeState decodes a record of __share_group_state. The bytes come from disk and are not
// trusted: every length is checked against what remains. value is nil for a tombstone.
func DecodeState(key, val []byte) (typ int16, k StateKey, v *StateValue, err error) {
	if len(key) < 4 {
		return 0, k, nil, errShortRecord
	}
	typ = int16(binary.BigEndian.Uint16(key))
	if typ != TypeSnapshot && typ != TypeUpdate {
		return 0, k, nil, errors.New("share: unknown state record type")
	}
	n := int(binary.BigEndian.Uint16(key[2:]))
	key = key[4:]
	if len(key) != n+16+4 {
		return 0, k, nil, errShortRecord
	}
	k.Group = string(key[:n])
	copy(k.TopicID[:], key[n:n+16])
	k.Partition = int32(binary.BigEndian.Uint32(key[n+16:]))
	if val == nil {
		return typ, k, nil, nil
	}
	if len(val) < 2+8+8+4 {
		return 0, k, nil, errShortRecord
	}
	if binary.BigEndian.Uint16(val) != 0 {
		return 0, k, nil, errors.New("share: unknown state value version")
	}
	v = &StateValue{
		StartOffset: int64(binary.BigEndian.Uint64(val[2:])),
		EndOffset:   int64(binary.BigEndian.Uint64(val[10:])),
	}
	count := binary.BigEndian.Uint32(val[18:])
	val = val[22:]
	if uint64(count)*batchWireSize != uint64(len(val)) {
		return 0, k, nil, errShortRecord
	}
	v.Batches = make([]StateBatch, count)
	for i := range v.Batches {
		v.Batches[i] = StateBatch{
			First:         int64(binary.BigEndian.Uint64(val)),
			Last:          int64(binary.BigEndian.Uint64(val[8:])),
			State:         RecordState(val[16]),
			DeliveryCount: int16(binary.BigEndian.Uint16(val[17:])),
		}
		val = val[batchWireSize:]
	}
	return typ, k, v, nil
}
