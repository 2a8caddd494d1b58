// Package storage is the partition log on disk: segments of record batches with sparse
// offset and time indexes, recovery after a crash, and offset checkpoint files. Every file
// operation goes through FS, so tests can crash the disk (MemFS) or fail I/O (ErrorFS).
//
// # On-disk format (Kafka's, byte for byte)
//
// A log dir holds one directory per partition, named "<topic>-<partition>" (DirName), and
// the checkpoint files (ReadCheckpoint, WriteCheckpoint). A partition directory holds
// segments; each is three files named by its base offset, zero-padded to 20 digits:
//
//	orders-0/
//	  00000000000000000000.log        batches with offsets [0, 1200)
//	  00000000000000000000.index
//	  00000000000000000000.timeindex
//	  00000000000000001200.log        the active segment: appends go here
//	  00000000000000001200.index
//	  00000000000000001200.timeindex
//
// The .log file is RecordBatch v2 batches back to back, exactly as producers sent them
// except for the base offset the log assigned (see package records for the header):
//
//	+--------------------+---------------------+-----------------+----------------
//	| batch 1200..1204   | batch 1205..1205    | batch 1206..1299| ...
//	| baseOffset  int64  |                     |                 |
//	| batchLength int32  |                     |                 |
//	| ... 61-byte header |                     |                 |
//	| records            |                     |                 |
//	+--------------------+---------------------+-----------------+----------------
//	position 0           4210                  4800              (int32 positions)
//
// The .index file maps offsets to positions, sparsely: after each index.interval.bytes
// of appended data the next batch gets an entry (its last offset, its position). Entries
// are 8 bytes, big-endian, sorted; offsets are relative to the segment's base offset:
//
//	+------------------------+------------------------+----
//	| relativeOffset int32   | position int32         | ...
//	| 1299-1200 = 99         | 4800                   |
//	+------------------------+------------------------+----
//
// A lookup takes the last entry at or below the wanted offset and scans batch headers
// forward from its position (or from 0 when there is none).
//
// The .timeindex file maps timestamps to offsets: each entry is the largest batch max
// timestamp seen so far in the segment and the last offset of the batch that had it,
// appended with the offset index entry when that timestamp grew, and once more when the
// segment stops being active. Entries are 12 bytes, big-endian, increasing in both fields:
//
//	+-----------------------------+------------------------+----
//	| timestamp int64 (ms)        | relativeOffset int32   | ...
//	+-----------------------------+------------------------+----
//
// A segment in which a transaction was aborted also has a "<base>.txnindex", the aborted
// transaction index (Kafka's format, 34-byte entries; drawn in txnindex.go): read_committed
// fetches return its entries so consumers skip aborted records.
//
// A replicated partition's directory also holds "leader-epoch-checkpoint" (Kafka's text
// format, drawn in epoch.go): the first offset of each leader epoch, which followers use to
// find where their log diverges from a new leader's (LeaderEpochCache). A follower writes the
// leader's batches as they are (Log.AppendAsFollower, offsets kept) and cuts a divergent tail
// by whole batches (Log.TruncateTo, which rebuilds the cut segment's indexes with the
// recovery scan).
//
// Index files hold exactly their entries (Kafka preallocates and trims them on close; we
// never preallocate). The active segment keeps its indexes in memory and writes them out
// on roll, Flush and Close. Inactive segments keep only their .log open: their indexes are
// read into memory when first looked up and kept in a bounded cache while they are used
// (indexcache.go, Kafka's LazyIndex).
//
// # Recovery
//
// Whatever was fsynced below the recovery point is trusted. Open scans every segment from
// the one holding the recovery point (and from any segment with a missing or insane index
// file), checks each batch (length, magic 2, CRC-32C, offsets), truncates at the first bad
// one, deletes later segments and rebuilds the scanned segments' indexes. After a clean
// shutdown the recovery point is the log end: the active segment's batch headers are read
// from its last offset index entry on, and if they end exactly there nothing is scanned.
// The scan notes the leader epochs of the batches it reads (Log.RecoveredEpochs), from which
// the partition's LeaderEpochCache rebuilds entries that a crash kept from its file.
//
// # Rolling, retention and deleted segments
//
// The active segment rolls when the next batch would pass segment.bytes, when an index is
// full, or when the batch's timestamp is more than segment.ms (less a per-segment jitter)
// after the segment's first batch's (Append); LogConfig.OnRoll tells the owner of the log, which
// snapshots its producer state then (ScanHeaders replays batch headers after a snapshot).
// DeleteOldSegments deletes whole inactive
// segments by retention.ms, retention.bytes and the log start offset, which DeleteRecordsBefore
// moves; the caller checkpoints it (log-start-offset-checkpoint) and gives it back to Open.
//
// A deleted segment leaves the log at once, but its files only change name:
//
//	00000000000000000000.log.deleted        closed and removed file.delete.delay.ms later,
//	00000000000000000000.index.deleted      so that reads holding a Region of them finish
//	00000000000000000000.timeindex.deleted
//
// Open removes any *.deleted file it finds (a crash came before the delay ran out).
//
// # Concurrency
//
// A Log has one appender and many readers. Appends write outside the reader lock, then
// publish the segment's new committed size; readers only read below committed sizes, which
// never change, so a reader never sees part of a batch being written. The lock order and
// what each lock guards are written on Log.
package storage
