// Package replica manages the partitions this broker hosts: their logs on disk, the leader's
// high watermark, appends from producers, reads for consumers, and the waiting of fetches
// that cannot be answered yet.
//
// The Manager follows the metadata Image: when an image names this broker as a replica of a
// partition, the partition's log is opened (or created); when a topic disappears, its logs are
// deleted. A single node is a cluster of one: it leads every partition and its in-sync replica
// set is itself, so the high watermark follows the log end offset as soon as an append returns.
//
// # Replication
//
// The image is the truth for roles: this broker leads a partition iff its Leader is this
// broker; the ISR and the leader epoch come from the image too (applyRole, Kafka's makeLeader
// and makeFollower). A leader takes appends and consumer fetches; a follower refuses both
// (NOT_LEADER_OR_FOLLOWER) and fetches from the leader (fetcher.go): one fetcher goroutine
// per leader broker and num.replica.fetchers slot, sending ordinary Fetch requests with this
// broker's replica id, appending the leader's batches byte for byte
// (storage.Log.AppendAsFollower) and taking the high watermark from the answers.
//
// The leader (leader.go) keeps each follower's log end offset (its fetch offset) and the last
// time it had caught up. The high watermark is the smallest log end offset of the ISR (the
// leader's own included) and only moves forward; produces parked for acks=all
// (WaitReplicated) and waiting fetches wake when it moves. A follower that has not caught up
// for replica.lag.time.max.ms is shrunk out of the ISR, one that reaches the high watermark
// and the current epoch's start is expanded back in, both through Config.AlterPartition (the
// controller commits the change; one request in flight per partition; the high watermark
// counts a replica being added at once, Kafka's maximal ISR).
//
// Leader epochs: every partition directory holds a leader-epoch-checkpoint
// (storage.LeaderEpochCache): the first offset of each leader epoch, assigned when this
// broker becomes leader of a new epoch and when a follower appends a batch of a newer
// epoch. A broker that becomes a follower of a new epoch first asks the leader
// (OffsetForLeaderEpoch) where its own latest epoch ends there and truncates a divergent
// tail (storage.Log.TruncateTo; the producer state is rebuilt from snapshots and the log); a
// Fetch answered with a diverging epoch truncates the same way.
//
// Reassignment: a broker added to a partition's replicas opens the log and fetches like any
// follower; one dropped from them deletes its log (Apply). Replication throttles
// (throttle.go) hold back the traffic of out-of-sync replicas while they catch up.
//
// Retention runs on one goroutine of the Manager, every log.retention.check.interval.ms; the
// log start offsets it and DeleteRecords move are kept in log-start-offset-checkpoint.
// Compacted partitions are cleaned by another background goroutine (cleaner.go).
//
// # Idempotent producers
//
// Each partition keeps the state of the idempotent producers that wrote to it (producer_state.go,
// Kafka's ProducerStateManager): per producer id its epoch and its last five batches' sequence
// and offset ranges. Append checks every batch that carries a producer id against it, under the
// partition's append lock: a retried batch is answered with its first offsets and not written
// again; a stale epoch or a sequence gap is refused. Producers idle for producer.id.expiration.ms
// are forgotten (Manager.ExpireProducers).
//
// The state is snapshotted into the partition directory at every segment roll and at a clean
// shutdown, and rebuilt on open from the newest readable snapshot at or below the log end
// offset, replaying the headers of the batches after it (with none, the whole log). The newest
// two snapshots are kept, and none below the log start offset but the newest:
//
//	orders-0/
//	  00000000000000001200.log
//	  00000000000000001200.snapshot   the producers as of every batch below offset 1200
//
// A snapshot file, big-endian (our format, not Kafka's):
//
//	+-------------+-------------+-----------------+---------------------------------------+
//	| version u16 | crc32c u32  | producers u32   | producer entries ...                  |
//	| (2)         | of what     |                 |                                       |
//	|             | follows it  |                 |                                       |
//	+-------------+-------------+-----------------+---------------------------------------+
//
//	entry: producer id i64 | epoch i16 | last timestamp i64 | current txn first offset i64
//	       (-1: none) | coordinator epoch i32 | batches u8 (<= 5) | batches ...
//	batch: first seq i32 | last seq i32 | first offset i64 | last offset i64 | max timestamp i64
//
// A file that fails its checks (version, CRC, counts against its length) is removed and an
// older one, or the log, is used instead; so is a version 1 file, written before
// transactions. Files are written as "<name>.tmp", fsynced and
// renamed; a leftover .tmp is removed.
//
// # Transactions
//
// A transactional batch opens its producer's transaction in the partition (the producer
// entry's CurrentTxnFirstOffset); the partition keeps its open transactions ordered by first
// offset, and the last stable offset (LSO) is the first offset of the oldest one, or the high
// watermark if lower. A transaction marker (WriteTxnMarker, a control batch the coordinator
// has written through WriteTxnMarkers) ends it: a commit makes its records visible to
// read_committed consumers, an abort adds an entry to the segment's aborted transaction index
// (storage's .txnindex), which read_committed fetches return so consumers skip those records.
// Markers fence: an older producer epoch, or an older coordinator epoch, is refused. The
// Manager's marker listeners (OnTxnMarker) hear of every marker once it is in the log.
//
// Lock order: cleaner.passMu before Manager.checkpointMu before Manager.mu before
// fetchers.mu before fetcher.mu, and Manager.mu before Partition.appendMu (which also guards
// the producer state) before Partition.mu; cleaner.mu after Manager.mu; Manager.listenersMu
// is taken alone; the storage.Log's and the storage.LeaderEpochCache's own locks come after
// all of them. Config.AlterPartition is called with no lock held. Marker listeners are called with no lock held.
// fetcher.mu comes before Partition.mu (the fetcher checks a partition's throttle flag while it
// picks the partitions to fetch); a throttle's mu is taken last, alone. The log's OnRoll
// callback runs under the log's append lock, inside Partition.Append: it takes no lock.
package replica
