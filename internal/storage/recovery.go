package storage

import (
	"bufio"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gregorhq/gregor/internal/records"
)

// crcCoveredFrom is where the bytes covered by a batch's CRC start (the attributes field,
// see package records).
const crcCoveredFrom = 21

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Open opens (creating if need be) the partition log in dir and recovers it.
//
// Segments from the one holding recoveryPoint onwards, and every segment from the first
// one whose index files are missing or fail a sanity check, are scanned batch by batch
// (length bounds, magic 2, CRC-32C, offsets increasing and within the segment). At the
// first torn or corrupt batch the segment's .log is truncated there and all later segments
// are deleted, as they are when a scanned segment ends short of the next one's base offset
// (its unsynced tail was lost); the scanned segments' indexes are rebuilt. A cleaner swap
// that a crash interrupted is completed (cleaner_swap.go); other .deleted, .cleaned and .swap
// files are removed. A nil logger discards.
//
// logStartOffset is the checkpointed log start offset (log-start-offset-checkpoint; 0 when
// none): the log starts at it or at its first segment's base offset, whichever is larger.
// Segments wholly below it stay until the next DeleteOldSegments. If recovery left the log
// ending below it, the log is emptied and starts again at it, as Kafka does.
func Open(fs FS, dir string, cfg LogConfig, recoveryPoint, logStartOffset int64, logger *slog.Logger) (*Log, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &Log{fs: fs, dir: dir, cfg: cfg, logger: logger.With("dir", dir),
		maxTimestamp: -1, maxTimestampOffset: -1, flushMessages: cfg.FlushMessages}
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", dir, err)
	}
	if err := l.load(recoveryPoint, max(logStartOffset, 0)); err != nil {
		for _, s := range l.segments {
			s.close()
		}
		return nil, fmt.Errorf("storage: open %s: %w", dir, err)
	}
	return l, nil
}

// load fills l from the directory. It runs before l is shared, so it takes no locks.
func (l *Log) load(recoveryPoint, logStartOffset int64) error {
	bases, err := l.listSegments()
	if err != nil {
		return err
	}
	if len(bases) == 0 {
		if recoveryPoint > logStartOffset {
			l.logger.Warn("no segments but recovery point is above the log start offset; starting an empty log",
				"recovery_point", recoveryPoint, "log_start_offset", logStartOffset)
		}
		return l.startEmptyAt(logStartOffset)
	}

	// Open every segment. Scanning starts at the last segment at or below the recovery
	// point, or at the first one with a bad index if that is earlier.
	scanFrom, firstInsane := 0, len(bases)
	for i, base := range bases {
		s, sane, err := l.openSegment(base)
		if err != nil {
			return err
		}
		l.segments = append(l.segments, s)
		if base <= recoveryPoint {
			scanFrom = i
		}
		if !sane {
			firstInsane = min(firstInsane, i)
		}
	}
	scanFrom = min(scanFrom, firstInsane)

	for i := 0; i < scanFrom; i++ {
		s := l.segments[i]
		s.nextOffset = l.segments[i+1].baseOffset
		if last := s.timeIdx.last; last != nil {
			s.maxTimestamp, s.maxTimestampOffset = parseTimeEntry(s.baseOffset, last)
		}
	}
	for i := scanFrom; i < len(l.segments); i++ {
		s := l.segments[i]
		if i == len(l.segments)-1 && i < firstInsane {
			if l.loadCleanActive(s, recoveryPoint) {
				break
			}
		}
		upper := int64(math.MaxInt64)
		if i+1 < len(l.segments) {
			upper = l.segments[i+1].baseOffset
		}
		truncated, err := l.recoverSegment(s, upper, &l.recoveredEpochs)
		if err != nil {
			return err
		}
		if i+1 == len(l.segments) {
			break
		}
		if !truncated && s.nextOffset != upper {
			// Our appender rolls exactly at the log end offset, so a gap means the tail of
			// this segment was lost (unsynced) while a later segment's file survived.
			l.logger.Warn("segment ends before the next one starts; dropping later segments",
				"segment", s.path(LogFileSuffix), "next_offset", s.nextOffset, "next_segment", upper)
			truncated = true
		}
		if truncated {
			l.dropSegmentsAfter(i)
			break
		}
	}
	for _, s := range l.segments {
		if err := l.trimTxnIndex(s); err != nil {
			return err
		}
	}
	// Only the active segment keeps its indexes in memory and may keep their files open;
	// closed segments' are loaded when looked up (indexcache.go).
	for _, s := range l.segments[:len(l.segments)-1] {
		if err := errors.Join(s.offsetIdx.deactivateLocked(), s.timeIdx.deactivateLocked()); err != nil {
			return err
		}
	}
	active := l.activeLocked()
	if active.offsetIdx.mem == nil { // became active by dropping later segments
		return fmt.Errorf("internal error: active segment %d has no in-memory index", active.baseOffset)
	}
	// An idle partition's empty indexes hold no descriptor until written (see index).
	for _, ix := range []*index{active.offsetIdx, active.timeIdx} {
		if err := ix.closeIfEmpty(); err != nil {
			return err
		}
	}

	if active.size > 0 {
		var buf [records.HeaderSize]byte
		h, err := readHeader(active.log, 0, active.size, &buf)
		if err != nil {
			return fmt.Errorf("reading the first batch of the active segment: %w", err)
		}
		active.firstBatchTimestamp = h.MaxTimestamp
	}
	if active.nextOffset < logStartOffset {
		l.logger.Warn("log ends below the checkpointed log start offset; emptying it",
			"log_end_offset", active.nextOffset, "log_start_offset", logStartOffset)
		for _, s := range l.segments {
			s.close()
			if err := s.removeFiles(l.fs); err != nil {
				return err
			}
		}
		l.segments = nil
		l.recoveredEpochs = nil
		return l.startEmptyAt(logStartOffset)
	}

	l.logStartOffset = max(l.segments[0].baseOffset, logStartOffset)
	l.logEndOffset = active.nextOffset
	l.recoveryPoint = min(max(recoveryPoint, l.logStartOffset), l.logEndOffset)
	for _, s := range l.segments {
		if s.maxTimestamp > l.maxTimestamp {
			l.maxTimestamp, l.maxTimestampOffset = s.maxTimestamp, s.maxTimestampOffset
		}
	}
	l.logger.Info("loaded log", "segments", len(l.segments), "scanned_from", l.segments[min(scanFrom, len(l.segments)-1)].baseOffset,
		"log_start_offset", l.logStartOffset, "log_end_offset", l.logEndOffset)
	return nil
}

// RecoveredEpochs hands over the leader epochs of the batches that Open's recovery read
// (from the segment holding the recovery point to the log end), for the partition's
// LeaderEpochCache.Recover; later calls return nil.
func (l *Log) RecoveredEpochs() []EpochRun {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	runs := l.recoveredEpochs
	l.recoveredEpochs = nil
	return runs
}

// startEmptyAt makes the log one empty segment at offset. It runs from load, unlocked.
func (l *Log) startEmptyAt(offset int64) error {
	s, err := createSegment(l.fs, l.dir, offset, l.cfg)
	if err != nil {
		return err
	}
	l.segments = []*segment{s}
	l.logStartOffset, l.logEndOffset, l.recoveryPoint = offset, offset, offset
	l.dirSyncNeeded = true
	return nil
}

// listSegments removes stray files and returns the base offsets of the .log files, sorted.
// Index files without a .log are removed too.
func (l *Log) listSegments() ([]int64, error) {
	if err := l.completeSwaps(); err != nil {
		return nil, err
	}
	entries, err := l.fs.ReadDir(l.dir)
	if err != nil {
		return nil, err
	}
	logs := map[int64]bool{}
	var indexes []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() {
			continue
		}
		if strings.HasSuffix(name, deletedFileSuffix) || strings.HasSuffix(name, cleanedFileSuffix) ||
			strings.HasSuffix(name, swapFileSuffix) {
			l.logger.Warn("removing stray file", "file", name)
			if err := l.fs.Remove(filepath.Join(l.dir, name)); err != nil {
				return nil, err
			}
			l.dirSyncNeeded = true
			continue
		}
		base, suffix, ok := parseSegmentFileName(name)
		if !ok {
			continue
		}
		switch suffix {
		case TxnIndexFileSuffix + ".tmp", TxnIndexFileSuffix + swapFileSuffix + ".tmp":
			// An interrupted rewrite (writeTxnIndexFile), or the cleaner's step 2.
			if err := l.fs.Remove(filepath.Join(l.dir, name)); err != nil {
				return nil, err
			}
			continue
		case LogFileSuffix:
			logs[base] = true
		case IndexFileSuffix, TimeIndexFileSuffix, TxnIndexFileSuffix:
			indexes = append(indexes, name)
		}
	}
	for _, name := range indexes {
		if base, _, _ := parseSegmentFileName(name); !logs[base] {
			l.logger.Warn("removing index file without a log file", "file", name)
			if err := l.fs.Remove(filepath.Join(l.dir, name)); err != nil {
				return nil, err
			}
			l.dirSyncNeeded = true
		}
	}
	bases := make([]int64, 0, len(logs))
	for b := range logs {
		bases = append(bases, b)
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	return bases, nil
}

// openSegment opens an existing segment's files, creating missing index files. sane is
// false when an index file was missing or failed its sanity check.
func (l *Log) openSegment(base int64) (s *segment, sane bool, err error) {
	s = &segment{dir: l.dir, baseOffset: base, nextOffset: base, maxTimestamp: -1, maxTimestampOffset: -1,
		createdMs: l.cfg.Now().UnixMilli(), firstBatchTimestamp: -1, rollJitterMs: randomJitter(l.cfg)}
	if s.log, err = l.fs.OpenFile(s.path(LogFileSuffix), segmentFileFlags, 0o644); err != nil {
		return nil, false, err
	}
	fi, err := s.log.Stat()
	if err != nil {
		s.close()
		return nil, false, err
	}
	s.size = fi.Size()
	s.lastModifiedMs = fi.ModTime().UnixMilli()
	if err := l.loadTxnIndex(s); err != nil {
		s.close()
		return nil, false, err
	}
	sane = true
	for _, kind := range []indexKind{offsetIndexKind, timeIndexKind} {
		suffix := IndexFileSuffix
		if kind.entrySize == timeIndexKind.entrySize {
			suffix = TimeIndexFileSuffix
		}
		fi, err := l.fs.Stat(s.path(suffix))
		if errors.Is(err, os.ErrNotExist) {
			l.logger.Warn("index file missing; will rebuild", "file", s.path(suffix))
			sane = false
		}
		if err == nil && fi.Size() == 0 {
			// Nothing to check or read (an idle partition's): no file is opened until entries
			// are written (see index).
			ix := &index{kind: kind, maxEntries: l.cfg.SegmentIndexBytes / kind.entrySize, fs: l.fs, cache: l.cfg.IndexCache,
				path: s.path(suffix)}
			if kind.entrySize == offsetIndexKind.entrySize {
				s.offsetIdx = ix
			} else {
				s.timeIdx = ix
			}
			continue
		}
		f, err := l.fs.OpenFile(s.path(suffix), segmentFileFlags, 0o644)
		if err != nil {
			s.close()
			return nil, false, err
		}
		ix, err := loadIndex(kind, f, base, s.size, l.cfg.SegmentIndexBytes/kind.entrySize)
		if ix == nil {
			f.Close()
			s.close()
			return nil, false, err
		}
		ix.fs, ix.cache, ix.path = l.fs, l.cfg.IndexCache, s.path(suffix)
		if err != nil {
			l.logger.Warn("index file corrupt; will rebuild", "file", s.path(suffix), "err", err)
			sane = false
		}
		if kind.entrySize == offsetIndexKind.entrySize {
			s.offsetIdx = ix
		} else {
			s.timeIdx = ix
		}
	}
	return s, sane, nil
}

// errTorn and errCorrupt classify where a scan stopped.
var (
	errTorn    = errors.New("torn batch at end of file")
	errCorrupt = errors.New("corrupt batch")
)

// recoverSegment scans s batch by batch, truncates it at the first torn or corrupt batch and
// rebuilds its indexes (kept in memory; load drops them unless s ends up active). Batches
// must have offsets increasing, at or above the segment's base and below upper (the next
// segment's base). truncated reports whether bytes were cut. I/O errors other than a short
// file abort. When runs is not nil, the leader epochs of the valid batches are added to it
// (see LeaderEpochCache.Recover).
func (l *Log) recoverSegment(s *segment, upper int64, runs *[]EpochRun) (truncated bool, err error) {
	fileSize := s.size
	s.offsetIdx, s.timeIdx = s.offsetIdx.reset(), s.timeIdx.reset()
	s.size, s.nextOffset, s.maxTimestamp, s.maxTimestampOffset = 0, s.baseOffset, -1, -1
	s.bytesSinceLastIndexEntry = 0

	// The buffer is no larger than the file: a restart scans every partition's active
	// segment, most of them small or empty, and 1 MiB each was 10 GiB allocated at the start
	// of a broker with 10,000 partitions.
	br := bufio.NewReaderSize(io.NewSectionReader(s.log, 0, fileSize), int(min(fileSize, 1<<20)))
	var hdr [records.HeaderSize]byte
	crc := crc32.New(castagnoli)
	var stop error
	for s.size < fileSize {
		pos := s.size
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				stop = fmt.Errorf("%w: %d bytes left at position %d", errTorn, fileSize-pos, pos)
				break
			}
			return false, err
		}
		h, _ := records.ParseHeader(hdr[:])
		if stop = checkRecoveredHeader(h, pos, fileSize, s, upper); stop != nil {
			break
		}
		crc.Reset()
		crc.Write(hdr[crcCoveredFrom:])
		if _, err := io.CopyN(crc, br, h.Size()-records.HeaderSize); err != nil {
			if err == io.EOF {
				stop = fmt.Errorf("%w at position %d", errTorn, pos)
				break
			}
			return false, err
		}
		if got := crc.Sum32(); got != h.CRC {
			stop = fmt.Errorf("%w at position %d: CRC %08x, header says %08x", errCorrupt, pos, got, h.CRC)
			break
		}
		if runs != nil && h.PartitionLeaderEpoch >= 0 {
			if k := len(*runs); k > 0 && (*runs)[k-1].Epoch == h.PartitionLeaderEpoch {
				(*runs)[k-1].LastOffset = h.BaseOffset
			} else {
				*runs = append(*runs, EpochRun{Epoch: h.PartitionLeaderEpoch, FirstOffset: h.BaseOffset, LastOffset: h.BaseOffset})
			}
		}
		// Index as Append does.
		if h.MaxTimestamp > s.maxTimestamp {
			s.maxTimestamp, s.maxTimestampOffset = h.MaxTimestamp, h.LastOffset()
		}
		if s.bytesSinceLastIndexEntry > l.cfg.IndexIntervalBytes {
			s.offsetIdx.appendLocked(offsetEntry(s.baseOffset, h.LastOffset(), pos))
			s.maybeAppendTimeEntryLocked(s.maxTimestamp, s.maxTimestampOffset)
			s.bytesSinceLastIndexEntry = 0
		}
		s.size += h.Size()
		s.bytesSinceLastIndexEntry += h.Size()
		s.nextOffset = h.NextOffset()
	}
	// The scanned bytes and the rebuilt indexes may be in the page cache only (the crash was
	// the process's, not the machine's): the next Flush fsyncs them before the recovery point
	// passes this segment. An empty one has nothing to make durable (an idle partition's).
	if fileSize > 0 {
		s.dirty = true
		s.logDirty = true
	}
	if stop != nil {
		l.logger.Warn("truncating log segment at first invalid batch",
			"segment", s.path(LogFileSuffix), "position", s.size, "bytes_truncated", fileSize-s.size,
			"valid_end_offset", s.nextOffset, "reason", stop)
		if err := s.log.Truncate(s.size); err != nil {
			return false, err
		}
	}
	// As Kafka's recover does: a closed segment's time index ends with its largest timestamp.
	s.maybeAppendTimeEntryLocked(s.maxTimestamp, s.maxTimestampOffset)
	if err := s.offsetIdx.rewrite(s.offsetIdx.mem, true); err != nil {
		return false, err
	}
	if err := s.timeIdx.rewrite(s.timeIdx.mem, true); err != nil {
		return false, err
	}
	return stop != nil, nil
}

// loadCleanActive loads the active segment without scanning it when it lies wholly below the
// recovery point, as after a clean shutdown (Kafka trusts its clean-shutdown marker the same
// way): the batch headers from the offset index's last entry to the end of the file (no
// CRCs, no records) must end at exactly recoveryPoint; everything below it was fsynced with
// its indexes (Close and Flush write and fsync the active segment's index files first), so
// the indexes are taken as they are. The largest timestamp is the time index's last entry
// (which covers every batch up to the last offset index entry) or a later batch's. When the
// headers disagree (a torn tail, bytes past the recovery point, an index entry that does not
// start a batch, an index file that reads short) it returns false and changes nothing, and
// the caller scans the segment.
func (l *Log) loadCleanActive(s *segment, recoveryPoint int64) bool {
	if recoveryPoint < s.baseOffset {
		return false
	}
	pos, want := int64(0), int64(-1) // want: the last offset of the batch at pos, if indexed
	if s.offsetIdx.last != nil {
		want, pos = parseOffsetEntry(s.baseOffset, s.offsetIdx.last)
	}
	next, maxTs, maxTsOffset := s.baseOffset, int64(-1), int64(-1)
	if s.timeIdx.last != nil {
		maxTs, maxTsOffset = parseTimeEntry(s.baseOffset, s.timeIdx.last)
	}
	start := pos
	var buf [records.HeaderSize]byte
	for pos < s.size {
		h, err := readHeader(s.log, pos, s.size, &buf)
		if err != nil || h.Magic != records.Magic || h.LastOffsetDelta < 0 || h.BaseOffset < next ||
			(pos == start && want >= 0 && h.LastOffset() != want) || !s.canHoldOffset(h.LastOffset()) {
			return false
		}
		if h.MaxTimestamp > maxTs {
			maxTs, maxTsOffset = h.MaxTimestamp, h.LastOffset()
		}
		next = h.NextOffset()
		pos += h.Size()
	}
	if next != recoveryPoint || (start > 0 && want < 0) {
		return false
	}
	mems := make([][]byte, 2)
	for i, ix := range []*index{s.offsetIdx, s.timeIdx} {
		mems[i] = make([]byte, ix.n*ix.kind.entrySize, ix.n*ix.kind.entrySize+1024)
		if ix.n == 0 {
			continue
		}
		if ix.file == nil {
			return false
		}
		if k, _ := ix.file.ReadAt(mems[i], 0); k < len(mems[i]) {
			return false // the scan rebuilds it
		}
	}
	s.offsetIdx.mem, s.timeIdx.mem = mems[0], mems[1]
	s.nextOffset = next
	s.maxTimestamp, s.maxTimestampOffset = maxTs, maxTsOffset
	s.bytesSinceLastIndexEntry = s.size
	if want >= 0 {
		s.bytesSinceLastIndexEntry = s.size - start
	}
	l.logger.Debug("active segment below the recovery point: not scanned", "segment", s.baseOffset, "next_offset", next)
	return true
}

// checkRecoveredHeader checks a header met by recovery at pos.
func checkRecoveredHeader(h records.Header, pos, fileSize int64, s *segment, upper int64) error {
	switch {
	case h.Length < records.HeaderSize-records.LogOverhead:
		return fmt.Errorf("%w at position %d: batch length %d", errCorrupt, pos, h.Length)
	case h.Size() > fileSize-pos:
		return fmt.Errorf("%w: batch of %d bytes at position %d, file has %d", errTorn, h.Size(), pos, fileSize)
	case h.Magic != records.Magic:
		return fmt.Errorf("%w at position %d: magic %d", errCorrupt, pos, h.Magic)
	case h.LastOffsetDelta < 0 || h.BaseOffset < s.nextOffset || !s.canHoldOffset(h.LastOffset()) ||
		h.LastOffset() >= upper:
		return fmt.Errorf("%w at position %d: offsets [%d, %d] out of order or outside segment %d (next %d, upper %d)",
			errCorrupt, pos, h.BaseOffset, h.LastOffset(), s.baseOffset, s.nextOffset, upper)
	}
	return nil
}

// dropSegmentsAfter deletes segments i+1... after recovery truncated segment i.
func (l *Log) dropSegmentsAfter(i int) {
	for _, s := range l.segments[i+1:] {
		l.logger.Warn("deleting later segment", "segment", s.path(LogFileSuffix), "size", s.size)
		s.close()
		if err := s.removeFiles(l.fs); err != nil {
			l.logger.Error("deleting segment files", "segment", s.baseOffset, "err", err)
		}
	}
	l.segments = l.segments[:i+1]
	l.dirSyncNeeded = true
}
