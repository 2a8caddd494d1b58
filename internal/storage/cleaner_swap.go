package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gregorhq/gregor/internal/records"
)

// Swapping a cleaned segment in, crash-safely, as Kafka's replaceSegments does. The cleaned
// segment has the base offset of the first segment it replaces, so it ends up with that
// segment's file names:
//
//  1. write <base>.log.cleaned, .index.cleaned, .timeindex.cleaned and fsync them;
//  2. write the old segments' aborted transaction entries, together, as <base>.txnindex.swap
//     (fsynced; none when they have none), then rename the .cleaned files to *.swap, the
//     .log first;
//  3. take the old segments out of the list and retire them (renamed *.deleted at once,
//     removed after file.delete.delay.ms, so that reads holding their Regions finish);
//  4. rename the *.swap files to their final names, the indexes first and the .log last;
//  5. fsync the directory.
//
// Recovery (completeSwaps) reads the directory as follows. *.cleaned files are an
// unfinished step 1: removed, and the old segments stay. A <base>.log.swap means steps 2 to
// 4 were under way and the cleaned data is whole: every old segment file with a base offset
// in [base, the swap's next offset) is removed and the swap is renamed into place (its
// index .swap files too; an offset or time index that is missing is rebuilt by the normal
// recovery; the .txnindex.swap was in place before the .log.swap, so no aborted
// transaction entry is lost). An index .swap without a .log.swap is stray (the .log went
// last in step 4, and first in step 2) and is removed.

// errSwapFailed means a swap failed after its renames began: the files must stay as they are
// for recovery to finish the swap.
var errSwapFailed = errors.New("storage: swapping in a cleaned segment failed")

// swapIn replaces the segments old (contiguous, closed, still in the log) by the cleaned
// segment s, whose files are fsynced "*.cleaned" files. If the log changed meanwhile it
// returns errCleanAborted and changes nothing. An error once the renames have begun makes
// the log refuse writes: the files may disagree with memory until the next Open.
func (l *Log) swapIn(s *segment, old []cleanerSegment) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if l.failed != nil {
		return l.failed
	}
	i := -1
	for j, seg := range l.segments {
		if seg == old[0].seg {
			i = j
			break
		}
	}
	if i < 0 || i+len(old) >= len(l.segments) { // gone, or would include the active segment
		return errCleanAborted
	}
	for k, o := range old {
		if l.segments[i+k] != o.seg {
			return errCleanAborted
		}
	}

	fail := func(err error) error {
		l.failed = fmt.Errorf("%w: segment %d of %s: %w", errSwapFailed, s.baseOffset, l.dir, err)
		l.logger.Error("log failed: cleaner swap", "err", l.failed)
		return l.failed
	}
	// Step 2. The aborted transaction entries of the old segments move to the cleaned one;
	// they are written before the .log.swap exists, so that recovery always has them.
	var aborted []AbortedTxn
	for _, o := range old {
		aborted = append(aborted, o.seg.aborted...)
	}
	txnSwap := s.path(TxnIndexFileSuffix) + swapFileSuffix
	if err := writeTxnIndexFile(l.fs, txnSwap, aborted); err != nil {
		_ = l.fs.Remove(txnSwap)
		return err // nothing changed yet
	}
	for _, suffix := range cleanedSuffixes {
		if err := l.fs.Rename(s.path(suffix)+cleanedFileSuffix, s.path(suffix)+swapFileSuffix); err != nil {
			if suffix == LogFileSuffix {
				_ = l.fs.Remove(txnSwap)
				return err // nothing changed yet; the caller removes the .cleaned files
			}
			return fail(err)
		}
	}
	// Step 3.
	retired := make([]*segment, len(old))
	for k, o := range old {
		retired[k] = o.seg
		s.lastModifiedMs = max(s.lastModifiedMs, o.seg.lastModifiedMs)
	}
	l.mu.Lock()
	s.aborted = aborted                                     // readers see the entries as soon as they see the segment
	segs := make([]*segment, 0, len(l.segments)-len(old)+1) // a new slice: readers may hold the old one
	segs = append(segs, l.segments[:i]...)
	segs = append(segs, s)
	segs = append(segs, l.segments[i+len(old):]...)
	l.segments = segs
	l.retireLocked(retired)
	l.mu.Unlock()
	// Step 4: the open files follow their renames; the .txnindex (which has no open file)
	// takes the name the first old segment's had (retirement renamed that away in step 3).
	if len(aborted) > 0 {
		if err := l.fs.Rename(txnSwap, s.path(TxnIndexFileSuffix)); err != nil {
			return fail(err)
		}
	}
	for _, suffix := range []string{IndexFileSuffix, TimeIndexFileSuffix, LogFileSuffix} {
		if err := l.fs.Rename(s.path(suffix)+swapFileSuffix, s.path(suffix)); err != nil {
			return fail(err)
		}
	}
	// Step 5.
	if err := syncDir(l.fs, l.dir); err != nil {
		return fail(err)
	}
	return nil
}

// completeSwaps finishes the cleaner swaps a crash interrupted (see above). It runs from
// Open, before the segments are listed.
func (l *Log) completeSwaps() error {
	entries, err := l.fs.ReadDir(l.dir)
	if err != nil {
		return err
	}
	type file struct {
		base   int64
		suffix string
		name   string
	}
	var files []file
	var swaps []int64
	for _, e := range entries {
		base, suffix, ok := parseSegmentFileName(e.Name())
		if !ok || e.IsDir() {
			continue
		}
		files = append(files, file{base, suffix, e.Name()})
		if suffix == LogFileSuffix+swapFileSuffix {
			swaps = append(swaps, base)
		}
	}
	for _, base := range swaps {
		swapLog := filepath.Join(l.dir, segmentFileName(base, LogFileSuffix+swapFileSuffix))
		next, err := swapNextOffset(l.fs, swapLog)
		if err != nil {
			return err
		}
		if next <= base {
			continue // no whole batch: not ours to trust; listSegments removes it as stray
		}
		l.logger.Warn("completing an interrupted cleaner swap", "segment", swapLog, "replaces", fmt.Sprintf("[%d, %d)", base, next))
		for _, f := range files {
			// Not the .txnindex: at base it may be the cleaned one already (renamed
			// first in step 4), else the .txnindex.swap replaces it below; those of the
			// other old segments go with their .log files as strays.
			live := f.suffix == LogFileSuffix || f.suffix == IndexFileSuffix || f.suffix == TimeIndexFileSuffix
			if live && f.base >= base && f.base < next {
				if err := l.fs.Remove(filepath.Join(l.dir, f.name)); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
			}
		}
		for _, suffix := range []string{TxnIndexFileSuffix, IndexFileSuffix, TimeIndexFileSuffix, LogFileSuffix} {
			from := filepath.Join(l.dir, segmentFileName(base, suffix+swapFileSuffix))
			if err := l.fs.Rename(from, strings.TrimSuffix(from, swapFileSuffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		l.dirSyncNeeded = true
	}
	return nil
}

// swapNextOffset returns the offset after the last whole batch of a .log.swap file (whose
// contents were fsynced before it got that name).
func swapNextOffset(fs FS, name string) (int64, error) {
	f, err := fs.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	var buf [records.HeaderSize]byte
	next := int64(-1)
	for pos := int64(0); pos < fi.Size(); {
		h, err := readHeader(f, pos, fi.Size(), &buf)
		if err != nil {
			break
		}
		next = h.NextOffset()
		pos += h.Size()
	}
	return next, nil
}
