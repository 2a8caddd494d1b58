// Package txn is the broker's side of producer ids and transactions: it hands out producer ids
// from blocks the controller allocates (ProducerIDManager), and it is the transaction
// coordinator (Coordinator), which keeps every transactional id's state in the internal topic
// __transaction_state in Kafka's own record formats, so that a coordinator's state moves with
// its partition's leader and tools that read the topic work.
//
// # Sharding
//
// A transactional id lives in partition PartitionFor(id, transaction.state.log.num.partitions)
// of __transaction_state (Kafka's abs(hashCode) % partitions, the same function as for groups),
// and is served by that partition's leader. The Coordinator keeps one shard per partition it
// leads, in a coordinator.Runtime; a shard is loaded by replaying its partition's log
// (COORDINATOR_LOAD_IN_PROGRESS until then) and unloaded when leadership moves away
// (NOT_COORDINATOR after that). The partition's leader epoch at load is the coordinator epoch
// that markers carry.
//
// # Records
//
//	key    int16 version 0, transactional_id (string)              kmsg.TxnMetadataKey
//	value  int16 version 0 or 1 (flexible, KIP-915), then           kmsg.TxnMetadataValue
//	       producer_id int64, producer_epoch int16, timeout_ms int32, state int8,
//	       partitions [topic, [partition int32]], last_update_ms int64, start_ms int64,
//	       v1 tagged: previous_producer_id, next_producer_id, client_transaction_version,
//	       next_producer_epoch
//	null value: the transactional id expired (a tombstone)
//
// Gregor writes value version 0, as Kafka does for clients of transaction version 1.
//
// # State machine
//
// A transactional id moves through Kafka's states:
//
//	Empty --AddPartitions--> Ongoing --EndTxn--> PrepareCommit / PrepareAbort
//	  ^                         |                        | markers written (MarkerWriter)
//	  |                         | timeout or fencing     v
//	  +---- InitProducerId ---- +------------> CompleteCommit / CompleteAbort
//
// A fenced or timed-out Ongoing transaction goes straight to PrepareAbort with the epoch
// bumped, so its abort markers fence the old producer in every partition it touched (Kafka
// passes through PrepareEpochFence in memory; the record it ends with is the same).
//
// A request validates against the in-memory state, writes the record of the new state and
// swaps it into memory in the same critical section (so memory and log agree on the order of
// changes to one id); the reply waits, without locks, until the high watermark passes the
// record. Completing a transaction (markers, then the Complete record) runs in its own
// goroutine per transaction, retrying retriable marker failures with a backoff until they
// succeed or the shard unloads; a shard loaded with a transaction in a Prepare state resumes it.
//
// # Locks
//
// Lock order: the runtime's (package coordinator): applyMu, mu, the shard's lock
// (coordinator.Shard), goMu. No lock is held while waiting for the high watermark, for the
// controller (a new producer id) or for markers.
package txn
