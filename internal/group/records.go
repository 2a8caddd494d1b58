package group

import (
	"encoding/binary"
	"errors"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/records"
)

// Record key versions, as Kafka writes them (see the package comment).
const (
	offsetCommitKeyVersion   = 1
	groupMetadataKeyVersion  = 2
	offsetCommitValueVersion = 3
	// offsetCommitValueExpireVersion is the value version that carries an expire timestamp.
	offsetCommitValueExpireVersion = 1
	groupMetadataValueVersion      = 3
)

// offsetCommitRecord is the record of one committed offset; a nil value is a tombstone.
func offsetCommitRecord(group, topic string, partition int32, v *kmsg.OffsetCommitValue) records.Record {
	k := kmsg.NewOffsetCommitKey()
	k.Version = offsetCommitKeyVersion
	k.Group, k.Topic, k.Partition = group, topic, partition
	rec := records.Record{Key: k.AppendTo(nil)}
	if v != nil {
		rec.Value = v.AppendTo(nil)
	}
	return rec
}

// offsetValue builds the value of a commit, in the version Kafka would write.
func offsetValue(o offset) *kmsg.OffsetCommitValue {
	v := kmsg.NewOffsetCommitValue()
	v.Version = offsetCommitValueVersion
	if o.expireTimestamp >= 0 {
		v.Version = offsetCommitValueExpireVersion
		v.ExpireTimestamp = o.expireTimestamp
	}
	v.Offset, v.LeaderEpoch, v.Metadata, v.CommitTimestamp = o.offset, o.leaderEpoch, o.metadata, o.commitTimestamp
	return &v
}

// groupMetadataRecord is the record of a group's metadata; a nil value is a tombstone.
func groupMetadataRecord(group string, v *kmsg.GroupMetadataValue) records.Record {
	k := kmsg.NewGroupMetadataKey()
	k.Version = groupMetadataKeyVersion
	k.Group = group
	rec := records.Record{Key: k.AppendTo(nil)}
	if v != nil {
		rec.Value = v.AppendTo(nil)
	}
	return rec
}

// shareGroupMetadataKeyVersion is the key version (record type) of Kafka's
// ShareGroupMetadataKey.
const shareGroupMetadataKeyVersion = 11

// shareGroupMetadataRecord is the record of a share group's existence and epoch, in Kafka's
// ShareGroupMetadata layout (kmsg has no type for it):
//
//	key    int16 version 11, int16 length + group id bytes
//	value  int16 version 0, int32 epoch, int64 metadata hash (0: not computed), then an
//	       empty tagged-field section (one byte 0): the value is a flexible version
//
// A nil value (tombstone) when epoch < 0: the share group is deleted.
func shareGroupMetadataRecord(group string, epoch int32) records.Record {
	key := binary.BigEndian.AppendUint16(nil, shareGroupMetadataKeyVersion)
	key = binary.BigEndian.AppendUint16(key, uint16(len(group)))
	rec := records.Record{Key: append(key, group...)}
	if epoch >= 0 {
		v := binary.BigEndian.AppendUint16(nil, 0)
		v = binary.BigEndian.AppendUint32(v, uint32(epoch))
		v = binary.BigEndian.AppendUint64(v, 0)
		rec.Value = append(v, 0)
	}
	return rec
}

// decodeShareGroupMetadata decodes a ShareGroupMetadata key and value (the bytes come from
// disk: every length is checked); epoch is -1 for a tombstone.
func decodeShareGroupMetadata(key, value []byte) (group string, epoch int32, err error) {
	if len(key) < 4 || len(key) != 4+int(binary.BigEndian.Uint16(key[2:])) {
		return "", 0, errors.New("group: share group metadata key cut short")
	}
	group = string(key[4:])
	if value == nil {
		return group, -1, nil
	}
	if len(value) < 6 {
		return "", 0, errors.New("group: share group metadata value cut short")
	}
	if binary.BigEndian.Uint16(value) != 0 {
		return "", 0, errSkipRecord // a newer version: not understood
	}
	return group, max(int32(binary.BigEndian.Uint32(value[2:])), 0), nil
}

// errSkipRecord marks a record of a type this coordinator does not keep (KIP-848 records).
var errSkipRecord = errors.New("group: record type not handled")

// decodedRecord is one __consumer_offsets record, decoded. Exactly one of offsetKey,
// groupKey and shareGroup is set; the matching value is nil (shareEpoch -1) for a tombstone.
type decodedRecord struct {
	offsetKey   *kmsg.OffsetCommitKey
	offsetValue *kmsg.OffsetCommitValue
	groupKey    *kmsg.GroupMetadataKey
	groupValue  *kmsg.GroupMetadataValue
	shareGroup  *string
	shareEpoch  int32
}

// decodeRecord decodes a record's key and value. It returns errSkipRecord for key versions
// this coordinator does not handle, and another error for bytes that do not decode.
func decodeRecord(key, value []byte) (decodedRecord, error) {
	var d decodedRecord
	if len(key) < 2 {
		return d, errors.New("group: record key shorter than its version")
	}
	switch version := int16(binary.BigEndian.Uint16(key)); version {
	case 0, 1:
		k := kmsg.NewOffsetCommitKey()
		if err := k.ReadFrom(key); err != nil {
			return d, err
		}
		d.offsetKey = &k
		if value != nil {
			v := kmsg.NewOffsetCommitValue()
			if err := v.ReadFrom(value); err != nil {
				return d, err
			}
			d.offsetValue = &v
		}
	case 2:
		k := kmsg.NewGroupMetadataKey()
		if err := k.ReadFrom(key); err != nil {
			return d, err
		}
		d.groupKey = &k
		if value != nil {
			v := kmsg.NewGroupMetadataValue()
			if err := v.ReadFrom(value); err != nil {
				return d, err
			}
			d.groupValue = &v
		}
	case shareGroupMetadataKeyVersion:
		g, epoch, err := decodeShareGroupMetadata(key, value)
		if err != nil {
			return d, err
		}
		d.shareGroup, d.shareEpoch = &g, epoch
	default:
		return d, errSkipRecord
	}
	return d, nil
}
