// Package group is the group coordinator: groups of the classic JoinGroup/SyncGroup protocol,
// of the KIP-848 consumer protocol (ConsumerGroupHeartbeat, served by package
// consumergroup; see consumer.go for how the two share one map of groups) and KIP-932 share
// groups (ShareGroupHeartbeat, served by package sharegroup; see share.go), and their
// committed offsets, kept in the internal topic __consumer_offsets in Kafka's own
// record formats, so that a coordinator's state moves with its partition's leader and tools
// that read the topic work.
//
// # Sharding
//
// A group lives in partition PartitionFor(groupID, offsets.topic.num.partitions) of
// __consumer_offsets, and is served by that partition's leader. The Coordinator keeps one shard
// per partition this broker leads, in a coordinator.Runtime; a shard is loaded by replaying its
// partition's log from the start (COORDINATOR_LOAD_IN_PROGRESS until then), and unloaded when
// leadership moves away (NOT_COORDINATOR after that).
//
// # Records
//
// Every record's key and value start with an int16 version that says what they are; kmsg
// encodes the rest.
//
//	key version 0, 1   OffsetCommitKey    group, topic, partition   (Gregor writes version 1)
//	key version 2      GroupMetadataKey   group                     (Gregor writes version 2)
//	key version 11     ShareGroupMetadataKey  group: a share group's existence and epoch
//	                   (written by Gregor, see share.go; kmsg has no type for it)
//	other versions >= 3  KIP-848 and other share-group records; skipped on replay: a group's
//	                   membership is kept in memory only, and its members rejoin after a
//	                   coordinator restart or move (its offsets are ordinary OffsetCommit records)
//
//	OffsetCommitValue   version 3 (offset, leader epoch, metadata, commit timestamp), or
//	                    version 1 when the commit carries an expire timestamp (OffsetCommit v2-v4
//	                    with a retention time), as Kafka writes them
//	GroupMetadataValue  version 3: protocol type, generation, protocol, leader, state
//	                    timestamp, members (ids, instance id, client, timeouts, subscription
//	                    metadata, assignment)
//	ShareGroupMetadataValue  version 0 (flexible): epoch, metadata hash (written 0)
//	null value          a tombstone: the offset, or the whole group, is deleted
//
//	transactional batch  the OffsetCommit records of a TxnOffsetCommit, written as one batch
//	                     with the producer's id and epoch and the transactional bit: pending
//	                     offsets of that producer until a transaction marker (a control batch
//	                     of the same producer; key type 1 COMMIT, 0 ABORT) completes them
//	                     (see txn.go). A tombstone deletes a partition's pending offsets too.
//
// State changes only by replaying records: a request validates against the in-memory state,
// appends its records, and applies them to memory in the same critical section (so memory and
// log agree on the order of changes to one key); the reply waits, without locks, until the
// high watermark passes the records (acks=all semantics).
//
// # Locks
//
// Lock order: the runtime's locks (package coordinator: applyMu, mu), then the shard's lock
// (coordinator.Shard), then Group.mu, then a consumer group's own
// consumergroup.Group.mu or a share group's sharegroup.Group.mu (taken inside those packages'
// methods); shard.txns.mu is a leaf. Timer callbacks take only Group.mu. A TxnOffsetCommit
// appends to the partition with Group.mu held, so the partition calls its marker listener
// (onTxnMarker, which takes the shard's lock and Group.mu) without its own locks held. No lock
// is held while waiting for the high watermark or for another member's request.
package group
