package replica

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/records"
	"github.com/gregorhq/gregor/internal/storage"
)

// Producer state snapshots: "<20-digit offset>.snapshot" in the partition directory holds the
// state of the producers as of every batch below offset. The format (ours; Kafka's differs) is
// described in the package comment.
const (
	snapshotSuffix     = ".snapshot"
	snapshotVersion    = 2
	snapshotHeaderSize = 2 + 4 + 4 // version, crc, producer count
	// producer id, epoch, last timestamp, current txn first offset, coordinator epoch,
	// batch count
	snapshotEntrySize   = 8 + 2 + 8 + 8 + 4 + 1
	snapshotBatchSize   = 4 + 4 + 8 + 8 + 8 // first seq, last seq, first offset, last offset, timestamp
	snapshotsToKeep     = 2                 // the newest ones; older ones are removed
	maxSnapshotFileSize = 1 << 30           // a bigger file is corrupt
)

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// errCorruptSnapshot means a snapshot file failed its checks; recovery then uses an older
// snapshot or rebuilds the state from the log.
var errCorruptSnapshot = errors.New("replica: corrupt producer state snapshot")

func snapshotName(offset int64) string { return fmt.Sprintf("%020d%s", offset, snapshotSuffix) }

// encodeSnapshot serializes the state, producers in id order so equal states give equal bytes.
func encodeSnapshot(s *producerState) []byte {
	ids := make([]int64, 0, len(s.producers))
	n := snapshotHeaderSize
	for id, e := range s.producers {
		ids = append(ids, id)
		n += snapshotEntrySize + len(e.Batches)*snapshotBatchSize
	}
	slices.Sort(ids)
	b := make([]byte, snapshotHeaderSize, n)
	be := binary.BigEndian
	be.PutUint16(b[0:], snapshotVersion)
	be.PutUint32(b[6:], uint32(len(ids)))
	for _, id := range ids {
		e := s.producers[id]
		b = be.AppendUint64(b, uint64(id))
		b = be.AppendUint16(b, uint16(e.Epoch))
		b = be.AppendUint64(b, uint64(e.LastTimestamp))
		b = be.AppendUint64(b, uint64(e.CurrentTxnFirstOffset))
		b = be.AppendUint32(b, uint32(e.CoordinatorEpoch))
		b = append(b, byte(len(e.Batches)))
		for _, bt := range e.Batches {
			b = be.AppendUint32(b, uint32(bt.FirstSeq))
			b = be.AppendUint32(b, uint32(bt.LastSeq))
			b = be.AppendUint64(b, uint64(bt.FirstOffset))
			b = be.AppendUint64(b, uint64(bt.LastOffset))
			b = be.AppendUint64(b, uint64(bt.Timestamp))
		}
	}
	be.PutUint32(b[2:], crc32.Checksum(b[6:], crc32c))
	return b
}

// decodeSnapshot parses a snapshot, trusting no count it holds.
func decodeSnapshot(b []byte) (*producerState, error) {
	be := binary.BigEndian
	if len(b) < snapshotHeaderSize {
		return nil, fmt.Errorf("%w: %d bytes", errCorruptSnapshot, len(b))
	}
	if v := be.Uint16(b); v != snapshotVersion {
		return nil, fmt.Errorf("%w: version %d", errCorruptSnapshot, v)
	}
	if crc := crc32.Checksum(b[6:], crc32c); crc != be.Uint32(b[2:]) {
		return nil, fmt.Errorf("%w: crc mismatch", errCorruptSnapshot)
	}
	count := int64(be.Uint32(b[6:]))
	rest := b[snapshotHeaderSize:]
	if count*snapshotEntrySize > int64(len(rest)) {
		return nil, fmt.Errorf("%w: %d producers in %d bytes", errCorruptSnapshot, count, len(rest))
	}
	s := newProducerState()
	for range count {
		if len(rest) < snapshotEntrySize {
			return nil, fmt.Errorf("%w: truncated producer entry", errCorruptSnapshot)
		}
		id := int64(be.Uint64(rest))
		e := &producerEntry{
			Epoch:                 int16(be.Uint16(rest[8:])),
			LastTimestamp:         int64(be.Uint64(rest[10:])),
			CurrentTxnFirstOffset: int64(be.Uint64(rest[18:])),
			CoordinatorEpoch:      int32(be.Uint32(rest[26:])),
		}
		nb := int(rest[30])
		rest = rest[snapshotEntrySize:]
		if nb > maxCachedBatches || len(rest) < nb*snapshotBatchSize || id < 0 || e.CurrentTxnFirstOffset < -1 {
			return nil, fmt.Errorf("%w: producer %d with %d batches", errCorruptSnapshot, id, nb)
		}
		if _, ok := s.producers[id]; ok {
			return nil, fmt.Errorf("%w: producer %d twice", errCorruptSnapshot, id)
		}
		for range nb {
			e.Batches = append(e.Batches, producerBatch{
				FirstSeq:    int32(be.Uint32(rest)),
				LastSeq:     int32(be.Uint32(rest[4:])),
				FirstOffset: int64(be.Uint64(rest[8:])),
				LastOffset:  int64(be.Uint64(rest[16:])),
				Timestamp:   int64(be.Uint64(rest[24:])),
			})
			rest = rest[snapshotBatchSize:]
		}
		s.producers[id] = e
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errCorruptSnapshot, len(rest))
	}
	s.rebuildOngoing()
	return s, nil
}

// writeSnapshot writes the state as of offset to dir: a temporary file, fsynced, then renamed,
// so that a crash leaves either the whole snapshot or none.
func writeSnapshot(fs storage.FS, dir string, offset int64, s *producerState) error {
	name := filepath.Join(dir, snapshotName(offset))
	f, err := fs.OpenFile(name+".tmp", os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(encodeSnapshot(s))
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
		return fmt.Errorf("replica: writing producer snapshot %s: %w", name, err)
	}
	return nil
}

// readSnapshot reads and decodes the snapshot at offset.
func readSnapshot(fs storage.FS, dir string, offset int64) (*producerState, error) {
	f, err := fs.OpenFile(filepath.Join(dir, snapshotName(offset)), os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > maxSnapshotFileSize {
		return nil, fmt.Errorf("%w: %d bytes", errCorruptSnapshot, fi.Size())
	}
	b := make([]byte, fi.Size())
	if n, err := f.ReadAt(b, 0); n < len(b) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return decodeSnapshot(b)
}

// listSnapshots returns the offsets of the snapshots in dir, sorted. It removes leftover
// temporary files of interrupted writes.
func listSnapshots(fs storage.FS, dir string) ([]int64, error) {
	entries, err := fs.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var offsets []int64
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, snapshotSuffix+".tmp") {
			_ = fs.Remove(filepath.Join(dir, name))
			continue
		}
		digits, ok := strings.CutSuffix(name, snapshotSuffix)
		if !ok || len(digits) != 20 {
			continue
		}
		off, err := strconv.ParseInt(digits, 10, 64)
		if err != nil {
			continue
		}
		offsets = append(offsets, off)
	}
	slices.Sort(offsets)
	return offsets, nil
}

// removeSnapshot removes one snapshot file; a missing one is not an error.
func removeSnapshot(fs storage.FS, dir string, offset int64) error {
	err := fs.Remove(filepath.Join(dir, snapshotName(offset)))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// pruneSnapshots keeps the newest snapshotsToKeep snapshots and removes the others, and any
// below logStartOffset but the newest (its batches are gone, but the state it holds is still
// the best start for a rebuild).
func pruneSnapshots(fs storage.FS, dir string, logStartOffset int64) error {
	offsets, err := listSnapshots(fs, dir)
	if err != nil {
		return err
	}
	var errs []error
	for i, off := range offsets {
		newest := len(offsets) - 1 - i
		if newest >= snapshotsToKeep || (newest > 0 && off < logStartOffset) {
			errs = append(errs, removeSnapshot(fs, dir, off))
		}
	}
	return errors.Join(errs...)
}

// loadProducerState rebuilds a partition's producer state after its log was opened (Kafka's
// UnifiedLog.loadProducerState): from the newest readable snapshot at or below the log end
// offset, then replaying the headers of the batches after it (and the control record of
// each transaction marker). An abort marker replayed above the log's newest aborted
// transaction entry gets its entry again (a crash came between the two writes). Snapshots above the log end
// offset (recovery truncated the log below them) and unreadable ones are removed; with none
// left the whole log is replayed.
func loadProducerState(fs storage.FS, l *storage.Log, logger interface {
	Warn(msg string, args ...any)
}) (*producerState, error) {
	dir := l.Dir()
	offsets, err := listSnapshots(fs, dir)
	if err != nil {
		return nil, err
	}
	leo, lso := l.LogEndOffset(), l.LogStartOffset()
	state, from := newProducerState(), lso
	for i := len(offsets) - 1; i >= 0; i-- {
		off := offsets[i]
		if off > leo {
			logger.Warn("removing producer snapshot above the log end offset", "offset", off, "log_end_offset", leo)
			if err := removeSnapshot(fs, dir, off); err != nil {
				return nil, err
			}
			continue
		}
		s, err := readSnapshot(fs, dir, off)
		if err != nil {
			logger.Warn("removing unreadable producer snapshot", "offset", off, "err", err)
			if err := removeSnapshot(fs, dir, off); err != nil {
				return nil, err
			}
			continue
		}
		state, from = s, max(off, lso)
		break
	}
	lastAborted := l.LastAbortedOffset()
	var replayErr error
	err = l.ScanHeaders(from, func(h records.Header) bool {
		if !h.Control() {
			state.update(h)
			return true
		}
		replayErr = replayMarker(l, state, h, lastAborted)
		if errors.Is(replayErr, kerr.CorruptMessage) {
			// CRC-valid but not a marker we can read: skip it rather than refuse the log.
			logger.Warn("skipping unreadable control batch", "offset", h.BaseOffset, "err", replayErr)
			replayErr = nil
		}
		return replayErr == nil
	})
	if err == nil {
		err = replayErr
	}
	if err != nil {
		return nil, fmt.Errorf("replica: rebuilding producer state of %s: %w", dir, err)
	}
	return state, nil
}

// replayMarker applies the transaction marker whose header is h to state while it is
// rebuilt, re-adding its aborted transaction entry if the index lacks it.
func replayMarker(l *storage.Log, state *producerState, h records.Header, lastAborted int64) error {
	if h.ProducerID < 0 {
		return nil // not a transaction marker (no other control batch is written)
	}
	region, err := l.Read(h.BaseOffset, h.Size(), h.NextOffset(), true)
	if err != nil {
		return err
	}
	batch, err := region.ReadBytes()
	if err != nil {
		return err
	}
	cr, err := records.ParseControlRecord(batch)
	if err != nil {
		return fmt.Errorf("marker at offset %d: %w", h.BaseOffset, err)
	}
	m := TxnMarker{ProducerID: h.ProducerID, ProducerEpoch: h.ProducerEpoch, Commit: cr.Commit(), CoordinatorEpoch: cr.CoordinatorEpoch}
	first := state.completeTxn(m, h.BaseOffset, h.MaxTimestamp)
	if m.Commit || h.BaseOffset <= lastAborted {
		return nil
	}
	return l.AppendAbortedTxn(abortedTxn(state, m.ProducerID, first, h.BaseOffset))
}
