package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
)

// The aborted transaction index (Kafka's TransactionIndex): "<base>.txnindex" next to a
// segment's .log lists the transactions aborted by markers in that segment, in marker order.
// Entries are Kafka's AbortedTxn, 34 bytes, big-endian:
//
//	+-------------+----------------+-------------------+------------------+------------------------+
//	| version i16 | producerId i64 | firstOffset i64   | lastOffset i64   | lastStableOffset i64   |
//	| (0)         |                | (txn's first one) | (the marker's)   | (after the abort)      |
//	+-------------+----------------+-------------------+------------------+------------------------+
//
// The file exists only once a segment has an entry. An entry is written (and fsynced) after
// its marker is in the .log; Open drops the entries of recovered segments whose marker is no
// longer in the log, and a torn last entry. The owner of the log re-adds entries of markers
// it replays above LastAbortedOffset (a crash between the marker and its entry). The files
// are deleted, renamed and swapped with their segments.

// TxnIndexFileSuffix is the suffix of a segment's aborted transaction index.
const TxnIndexFileSuffix = ".txnindex"

// abortedTxnSize is the size of one AbortedTxn entry on disk.
const abortedTxnSize = 2 + 8 + 8 + 8 + 8

// maxTxnIndexFileSize bounds what is read of a .txnindex file: a larger one is corrupt.
const maxTxnIndexFileSize = 64 << 20

// errCorruptTxnIndex means a .txnindex file holds something other than whole version 0 entries.
var errCorruptTxnIndex = errors.New("storage: corrupt transaction index")

// AbortedTxn is one aborted transaction of a partition (Kafka's AbortedTxn).
type AbortedTxn struct {
	ProducerID  int64
	FirstOffset int64 // the transaction's first offset in the partition
	LastOffset  int64 // the offset of its abort marker
	// LastStableOffset is the partition's last stable offset once the abort was written.
	LastStableOffset int64
}

// appendAbortedTxn encodes a after dst.
func appendAbortedTxn(dst []byte, a AbortedTxn) []byte {
	be := binary.BigEndian
	dst = be.AppendUint16(dst, 0)
	dst = be.AppendUint64(dst, uint64(a.ProducerID))
	dst = be.AppendUint64(dst, uint64(a.FirstOffset))
	dst = be.AppendUint64(dst, uint64(a.LastOffset))
	return be.AppendUint64(dst, uint64(a.LastStableOffset))
}

// ReadTxnIndex decodes the bytes of a .txnindex file. It returns the entries up to the first
// one that is torn or not version 0, and then an error wrapping errCorruptTxnIndex.
func ReadTxnIndex(b []byte) ([]AbortedTxn, error) {
	be := binary.BigEndian
	out := make([]AbortedTxn, 0, len(b)/abortedTxnSize)
	for len(b) > 0 {
		if len(b) < abortedTxnSize {
			return out, fmt.Errorf("%w: %d bytes of a torn entry", errCorruptTxnIndex, len(b))
		}
		if v := int16(be.Uint16(b)); v != 0 {
			return out, fmt.Errorf("%w: entry version %d", errCorruptTxnIndex, v)
		}
		out = append(out, AbortedTxn{
			ProducerID:       int64(be.Uint64(b[2:])),
			FirstOffset:      int64(be.Uint64(b[10:])),
			LastOffset:       int64(be.Uint64(b[18:])),
			LastStableOffset: int64(be.Uint64(b[26:])),
		})
		b = b[abortedTxnSize:]
	}
	return out, nil
}

// loadTxnIndex reads a segment's .txnindex, if any. Entries past a corrupt one, and entries
// whose marker is at or after s.nextOffset (known only once the segment was recovered), are
// dropped by trimTxnIndex, which the caller runs after recovery.
func (l *Log) loadTxnIndex(s *segment) error {
	f, err := l.fs.OpenFile(s.path(TxnIndexFileSuffix), os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := min(fi.Size(), maxTxnIndexFileSize)
	b := make([]byte, size)
	if n, err := f.ReadAt(b, 0); int64(n) < size {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	entries, err := ReadTxnIndex(b)
	s.aborted = entries
	if err != nil || fi.Size() > size {
		l.logger.Warn("transaction index corrupt; keeping its whole entries", "file", s.path(TxnIndexFileSuffix), "err", err)
		s.txnIndexDirty = true
	}
	return nil
}

// trimTxnIndex drops the entries of s whose marker is not in the segment (at or after its
// next offset, after recovery truncated it) and rewrites the file if it changed. It runs
// from load, unlocked.
func (l *Log) trimTxnIndex(s *segment) error {
	keep := s.aborted[:0:0]
	for _, a := range s.aborted {
		if a.LastOffset >= s.baseOffset && a.LastOffset < s.nextOffset {
			keep = append(keep, a)
		}
	}
	if len(keep) == len(s.aborted) && !s.txnIndexDirty {
		return nil
	}
	l.logger.Warn("truncating transaction index to the recovered log", "file", s.path(TxnIndexFileSuffix),
		"entries", len(s.aborted), "kept", len(keep))
	s.aborted, s.txnIndexDirty = keep, false
	return writeTxnIndexFile(l.fs, s.path(TxnIndexFileSuffix), keep)
}

// writeTxnIndexFile replaces the file name by entries (removes it when there are none).
func writeTxnIndexFile(fs FS, name string, entries []AbortedTxn) error {
	if len(entries) == 0 {
		if err := fs.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	var b []byte
	for _, a := range entries {
		b = appendAbortedTxn(b, a)
	}
	f, err := fs.OpenFile(name+".tmp", os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fs.Rename(name+".tmp", name)
	}
	if err != nil {
		_ = fs.Remove(name + ".tmp")
	}
	return err
}

// AppendAbortedTxn records an aborted transaction in the index of the segment holding its
// marker (a.LastOffset, already appended). Entries must come in marker order. The entry is
// fsynced before it is visible to AbortedTransactions.
//
// An I/O error fails the log (Failed reports it): it refuses every write until reopened.
func (l *Log) AppendAbortedTxn(a AbortedTxn) error {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if l.failed != nil {
		return l.failed
	}
	segs := l.segments
	i := sort.Search(len(segs), func(i int) bool { return segs[i].baseOffset > a.LastOffset }) - 1
	if i < 0 || a.LastOffset >= segs[i].nextOffset {
		return fmt.Errorf("%w: marker offset %d is not in the log", ErrOffsetOutOfRange, a.LastOffset)
	}
	s := segs[i]
	f, err := l.fs.OpenFile(s.path(TxnIndexFileSuffix), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err == nil {
		_, err = f.Write(appendAbortedTxn(nil, a))
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		// The marker is in the log without its entry, and the file may end in a torn one:
		// read_committed fetches would show the aborted records. The log takes no more
		// writes until Open, which drops a torn entry, and the owner's replay of the marker
		// (from a producer state older than it: the owner does not snapshot a failed log) writes the entry again.
		l.failed = fmt.Errorf("storage: writing %s: %w", s.path(TxnIndexFileSuffix), err)
		l.logger.Error("log failed: aborted transaction index write", "err", l.failed)
		return l.failed
	}
	l.mu.Lock()
	s.aborted = append(s.aborted, a)
	l.mu.Unlock()
	return nil
}

// Failed returns the error that made the log refuse writes (a failed append, index write or
// cleaner swap whose files may disagree with memory), nil while it is healthy.
func (l *Log) Failed() error {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	return l.failed
}

// AbortedTransactions returns the aborted transactions whose offsets overlap [from, upTo):
// those whose marker is at or after from and whose first offset is below upTo, in marker
// order (Kafka's collectAbortedTransactions). A transaction's marker may be segments after
// its first offset, so the search goes on until an entry's last stable offset reaches upTo:
// every transaction that started below upTo had ended by then.
func (l *Log) AbortedTransactions(from, upTo int64) []AbortedTxn {
	l.mu.RLock()
	segs := l.segments
	l.mu.RUnlock()
	var out []AbortedTxn
	for _, s := range segs {
		l.mu.RLock()
		entries, next := s.aborted, s.nextOffset
		l.mu.RUnlock()
		if next <= from {
			continue // every marker of s is below from
		}
		for _, a := range entries {
			if a.LastOffset >= from && a.FirstOffset < upTo {
				out = append(out, a)
			}
			if a.LastStableOffset >= upTo {
				return out
			}
		}
	}
	return out
}

// LastAbortedOffset is the marker offset of the newest entry of the aborted transaction
// index, -1 when it is empty.
func (l *Log) LastAbortedOffset() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for i := len(l.segments) - 1; i >= 0; i-- {
		if a := l.segments[i].aborted; len(a) > 0 {
			return a[len(a)-1].LastOffset
		}
	}
	return -1
}
