package group

import "github.com/gregorhq/gregor/internal/metadata"

// OffsetsTopic is the internal topic that holds committed offsets and group metadata.
const OffsetsTopic = "__consumer_offsets"

// PartitionFor is the __consumer_offsets partition that holds groupID, exactly as Kafka
// computes it (Utils.abs(groupId.hashCode) % numPartitions, where Kafka's abs masks the sign
// bit), so a group lives in the same partition as on a Kafka cluster with the same
// offsets.topic.num.partitions.
func PartitionFor(groupID string, numPartitions int32) int32 {
	if numPartitions <= 0 {
		return 0
	}
	return (javaStringHashCode(groupID) & 0x7fffffff) % numPartitions
}

// OffsetsPartition is the __consumer_offsets partition that holds groupID as the group
// coordinator finds it: by the topic's partition count in img, which is what the topic was
// created with and may differ from offsets.topic.num.partitions today; configured (the
// setting) only while the topic does not exist yet.
func OffsetsPartition(img *metadata.Image, groupID string, configured int32) int32 {
	if img != nil {
		if t := img.Topics[OffsetsTopic]; t != nil && len(t.Partitions) > 0 {
			return PartitionFor(groupID, int32(len(t.Partitions)))
		}
	}
	return PartitionFor(groupID, configured)
}

// javaStringHashCode is Java's String.hashCode: s[0]*31^(n-1) + ... + s[n-1] over the UTF-16
// code units of s, in int32 arithmetic.
func javaStringHashCode(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			// A supplementary character is two UTF-16 code units: a surrogate pair.
			r -= 0x10000
			h = 31*h + int32(0xD800+(r>>10))
			h = 31*h + int32(0xDC00+(r&0x3FF))
			continue
		}
		h = 31*h + int32(r)
	}
	return h
}
