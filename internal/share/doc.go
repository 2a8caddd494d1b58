// Package share is the broker side of KIP-932 share groups' record delivery: the
// share-partitions (Kafka's SharePartition), the share sessions of the members fetching
// from this broker, ShareFetch and ShareAcknowledge, the durable state in
// __share_group_state, and the dead-letter topic. Membership and assignment are the group
// coordinator's (package group/sharegroup); this package asks it only whether a member
// exists.
//
// # A share-partition
//
// For each (share group, topic-partition) the broker keeps a window of offsets:
//
//	      start offset (SPSO)                          end offset
//	            |                                           |
//	... done    | ACKED  ACQUIRED  AVAILABLE  ARCHIVED  ... | never acquired ...
//
// Below the start offset everything is done. A ShareFetch acquires AVAILABLE records in the
// window, then records past the end, for the fetching member: each acquisition bumps the
// record's delivery count and takes an acquisition lock for
// group.share.record.lock.duration.ms. The member acknowledges each record: ACCEPT
// (-> ACKNOWLEDGED), RELEASE (-> AVAILABLE), REJECT (-> ARCHIVED), or GAP for offsets that
// hold no record. A lock that expires, a release, or a member closing its session makes the
// record AVAILABLE again, unless it has been delivered group.share.delivery.count.limit times,
// in which case it is ARCHIVED. The start offset moves past ACKNOWLEDGED and ARCHIVED
// records; the window never holds more than group.share.partition.max.record.locks offsets.
// A new share-partition starts at the high watermark, or at the log start when
// group.share.auto.offset.reset is earliest.
//
// ShareFetch answers with whole record batches read from the log (replica.Partition.Read)
// and the acquired offset ranges with their delivery counts; the client keeps the acquired
// records of those batches. A fetch that acquires nothing waits up to max_wait_ms for an
// append (replica.NewWaiter) or a release.
//
// # Share sessions
//
// A member's ShareFetch with share_session_epoch 0 opens a session; later requests carry the
// next epoch (INVALID_SHARE_SESSION_EPOCH otherwise) and add partitions (topics) or forget
// them (forgotten_topics_data); epoch -1 acknowledges, closes the session and releases what
// the member still holds. A ShareFetch fetches from every partition in the session.
//
// # Durable state
//
// Changes made by acknowledgements, releases and expired locks are written to the internal
// topic __share_group_state (one partition, created on first use, compacted) as records keyed
// by group, topic id and partition. Every write is a ShareSnapshot of the whole window: the
// start and end offsets and every tracked record's state and delivery count, in runs of
// equal state (see state.go for the bytes). A share-partition has one key, so the newest
// record alone is its state. On first use the manager replays the topic: a snapshot
// replaces a share-partition's state. An acknowledgement (ShareAcknowledge, or one
// piggy-backed on a ShareFetch) is answered only once its record is committed on
// __share_group_state (the high watermark past it, waitDurable), and a load first waits for
// the high watermark to reach the log end and then reads only below it, so a leader change
// of the state topic loses no acknowledgement a client was told succeeded. The topic has
// share.coordinator.state.topic.replication.factor replicas (at most the live brokers).
// ACQUIRED is written as AVAILABLE: after a restart,
// acknowledged records are not delivered again and unacknowledged ones are delivered again.
//
// Why snapshots only: the topic is compacted, and compaction keeps only the newest record
// of each key. A delta (a ShareUpdate holding just the batches one write changed) is only
// safe to replay when every delta since the snapshot under it survives, which compaction
// does not promise: an update naming offsets that no later record names would be dropped,
// and replay would take those offsets as done (lost), or bring back as AVAILABLE records
// whose acknowledgement it held. A full snapshot is self-sufficient, so whatever the
// cleaner drops, the record it keeps is the whole state. Its size is bounded by the window
// (group.share.partition.max.record.locks offsets, in runs), which is what one write costs.
// ShareUpdate records written by earlier versions are still merged on replay; the first
// snapshot written after them replaces what they said.
//
// # On a cluster
//
// The leader of a data partition serves its share-partitions. __share_group_state may be led
// by another broker: the state is then written there with a Produce (acks=all) and read with
// Fetch (up to its high watermark), over the inter-broker listener (Config.Request). A
// share-partition is taken from a fresh replay of the state when it is first used in a
// leader epoch of its data partition (entry.leaderEpoch): a broker that lost the partition
// writes nothing more for it (leads, in persistLocked) and drops the entry when it sees it
// again, and the new leader finds every acknowledgement that was answered, with what the old
// leader's members held AVAILABLE again.
//
// # Offsets, lag and deletion
//
// The group coordinator's share-group offset APIs (api/describe_share_group_offsets.go,
// alter_..., delete_...) ask the Manager (offsets.go): GroupOffsets gives each
// share-partition's start offset and its lag (SharePartition.Lag: the records below the
// high watermark not yet acknowledged or archived, KIP-1226's definition); AlterOffset
// replaces a share-partition's state by an empty window at the new offset; DeleteOffsets
// and DeleteGroup drop the state and write its tombstone. Config.OnStartOffset is told of
// every start offset when a share-partition is first used and whenever it moves: the node
// feeds it to the lag evaluator as a consumer group's commit, so a share group's lag there
// (and in /metrics, the Burrow API and the console) is the high watermark minus the start
// offset.
//
// # Not done
//
// Acquisitions alone are not written (a delivery count bumped by a delivery that was never
// acknowledged may be lost in a restart); __share_group_state has one partition
// rather than Kafka's fifty; a member's assignment is not enforced on ShareFetch (Kafka's
// broker does not check it either: acquisition is per record). The offset APIs see the
// share-partitions of the partitions this broker leads, and the state topic's stored state:
// on a cluster where the coordinator and a partition's leader differ, AlterOffset answers
// NOT_LEADER_OR_FOLLOWER for that partition.
//
// # Locks
//
// Lock order: Manager.storeMu, then Manager.mu, then entry.mu, then Manager.availMu.
// Manager.storeMu is held across the first use of a share-partition (replaying the state,
// taking the stored state and inserting the entry), so that it is created once; the replay
// may wait for the state topic's high watermark or for its leader's answer.
// No lock is held while a fetch waits.
package share
