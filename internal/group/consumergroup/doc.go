// Package consumergroup is the KIP-848 consumer group protocol ("group.protocol=consumer"):
// the per-group state machine behind ConsumerGroupHeartbeat and ConsumerGroupDescribe, the
// server-side assignors ("uniform" and "range"), and the rules OffsetCommit and OffsetFetch
// apply to members of such groups.
//
// # Model
//
// A Group has members, each with a subscription (topic names and/or one regular expression)
// and a member epoch. The group epoch is bumped whenever something that changes the target
// assignment changes: a member joins or leaves, a subscription changes, the chosen assignor
// changes, or the metadata of a subscribed topic changes (partition count, topic id). The
// target assignment is then recomputed by the assignor for the new group epoch (the
// assignment epoch). Each member is reconciled towards its target only in its own heartbeat,
// as Kafka's CurrentAssignmentBuilder does:
//
//   - partitions the member keeps stay assigned;
//   - partitions it must give up are put "pending revocation": the member stays at its epoch
//     in state UNREVOKED_PARTITIONS and is sent its shrunk assignment; it moves on only when a
//     heartbeat's owned partitions no longer include any of them (or it is fenced when its
//     rebalance timeout passes first);
//   - partitions newly assigned are given only once no other member owns them (assigned or
//     pending revocation); until then they are withheld and the member is in state
//     UNRELEASED_PARTITIONS at the target epoch.
//
// Invariant (checked by tests after every step): a partition is owned, as assigned or pending
// revocation, by at most one member of the group. Group.owner records that owner.
//
// # Shape of the API
//
// Heartbeat takes the decoded *kmsg.ConsumerGroupHeartbeatRequest and returns the response
// to encode, and Describe returns a kmsg.ConsumerGroupDescribeResponseGroup: the request and
// response carry a dozen optional fields whose "null means unchanged" rules are part of the
// protocol, so the state machine reads them directly rather than through a copy of every
// field. Everything else (topic metadata in, assignments inside, assignors) is plain Go.
// Time is passed in (now) so the caller's clock, real or fake, drives the session and
// rebalance timeouts: the coordinator keeps one timer per group at NextDeadline and calls
// Expire when it fires.
//
// The caller (the group coordinator) owns the map of groups, routes by group id, and answers
// a heartbeat with a non-zero member epoch for a group it does not know with UNKNOWN_MEMBER_ID,
// as Kafka does; it creates a Group only for a join (member epoch 0) that
// ValidateHeartbeatRequest accepts.
//
// # Persistence
//
// Kafka writes this state to __consumer_offsets as records keyed by group (and member):
// ConsumerGroupMetadata (group epoch), ConsumerGroupPartitionMetadata (subscribed topics'
// metadata, or its hash), ConsumerGroupMemberMetadata (a member's subscription, rack, client,
// timeouts, assignor), ConsumerGroupTargetAssignmentMetadata (assignment epoch) and
// ConsumerGroupTargetAssignmentMember (a member's target), ConsumerGroupCurrentMemberAssignment
// (a member's epoch, state, assigned and pending-revocation partitions) and
// ConsumerGroupRegularExpression (resolved regexes), with tombstones when members leave.
// Gregor keeps this state in memory only for now; committed offsets are written by the
// coordinator. After a coordinator restart or move, members get UNKNOWN_MEMBER_ID (or
// FENCED_MEMBER_EPOCH) and rejoin with member epoch 0, which costs one rebalance.
//
// # Not done
//
// Rack-aware assignment (the rack is recorded and described, not used), client-side
// assignors, and members using the classic protocol inside a consumer group.
//
// # Locking
//
// Each Group has one mutex, Group.mu; functions named ...Locked need it held. Nothing in this
// package takes any other lock, so the coordinator may hold its own map lock while calling in.
package consumergroup
