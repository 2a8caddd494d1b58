// Package coordinator is the machinery shared by the coordinators that keep their state in
// the partitions of an internal topic: the group coordinator (package group, on
// __consumer_offsets) and the transaction coordinator (package txn, on __transaction_state).
// It plays the part of Kafka's coordinator-common runtime; the coordinators keep only their
// own state machines and record formats.
//
// # The internal topic
//
// InternalTopic creates the topic on first use (FindCoordinator, or a Metadata request that
// auto-creates topics), compacted, with the coordinator's partition count, replication
// factor (capped at the live brokers) and segment size, and hands the new image to the
// coordinator at once so it loads the partitions it leads.
//
// # The partition log
//
// ReplicaLog writes a coordinator's records to its partition on this broker's replica
// manager and replays them. A write is acknowledged to the client only once it is committed
// (WaitCommitted: the high watermark is past it). A replay first waits for the high
// watermark to reach the log end offset (WaitCaughtUp): a new leader must not lose what the
// old one acknowledged.
package coordinator
