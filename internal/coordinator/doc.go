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
//
// # Shards
//
// Runtime keeps one shard per partition of the topic this broker leads, following the
// metadata image (Apply). A shard's lifecycle, which never goes back (when this broker leads
// the partition again, a new shard loads):
//
//	leader here --> Loading --replay done (Shard.Activate)--> Active
//	                  |  ^                                      |
//	                  +--+ load failed: tried again after       |
//	                  |    LoadRetryBackoff                     |
//	                  |                                         |
//	                  +--leadership moved, or Close--> Unloaded <-+
//
// What a client is answered for a key whose shard is not Active (Runtime.ShardFor):
//
//	COORDINATOR_LOAD_IN_PROGRESS  this broker leads the partition and is still replaying
//	                              it; retry here
//	NOT_COORDINATOR               another broker leads the partition, or leadership has just
//	                              moved away; find the coordinator again
//	COORDINATOR_NOT_AVAILABLE     the coordinator is shut down, or (for groups) the topic
//	                              does not exist yet
//
// The coordinator supplies its shard type (a struct that embeds Shard, with its own state
// under the shard's lock), the load (replay, then Shard.Activate to install the state) and
// the unload (drop the state, tell waiters NOT_COORDINATOR). A load that ends after its shard
// unloaded installs nothing, so a broker that lost leadership mid-load never serves what it
// replayed. The goroutines run for a coordinator (Runtime.Go, Runtime.AfterFunc) are waited
// for by Close.
package coordinator
