// Package replica manages the partitions this broker hosts: their logs on disk, the leader's
// high watermark, appends from producers, reads for consumers, and the waiting of fetches
// that cannot be answered yet.
//
// The Manager follows the metadata Image: when an image names this broker as a replica of a
// partition, the partition's log is opened (or created); when a topic disappears, its logs are
// deleted. A single node is a cluster of one: it leads every partition and its in-sync replica
// set is itself, so the high watermark follows the log end offset as soon as an append returns.
//
// Retention runs on one goroutine of the Manager, every log.retention.check.interval.ms; the
// log start offsets it and DeleteRecords move are kept in log-start-offset-checkpoint.
// Compacted partitions are cleaned by another background goroutine (cleaner.go).
//
// Lock order: cleaner.passMu before Manager.checkpointMu before Manager.mu before
// Partition.appendMu before Partition.mu; cleaner.mu after Manager.mu; the storage.Log's own
// locks come after all of them.
package replica
