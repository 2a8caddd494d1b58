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

// errSkipRecord marks a record of a type this coordinator does not keep (KIP-848 records).
var errSkipRecord = errors.New("group: record type not handled")

// decodedRecord is one __consumer_offsets record, decoded. Exactly one of offsetKey and
// groupKey is set; the matching value is nil for a tombstone.
type decodedRecord struct {
	offsetKey   *kmsg.OffsetCommitKey
	offsetValue *kmsg.OffsetCommitValue
	groupKey    *kmsg.GroupMetadataKey
	groupValue  *kmsg.GroupMetadataValue
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
	default:
		return d, errSkipRecord
	}
	return d, nil
}
