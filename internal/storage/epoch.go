package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// LeaderEpochCheckpointFile is Kafka's name for a partition directory's leader epoch file:
//
//	0                version
//	2                number of entries
//	3 0              <leader epoch> <start offset>: the first offset written in that epoch
//	5 1200
//
// Entries are increasing in both fields. The file is always replaced whole (tmp file, fsync,
// rename, directory fsync), so it is always one complete version of the entries.
//
// When it is written (Kafka's since KAFKA-15046): a truncation (TruncateFromEnd) writes it at
// once, since an entry above the log end would be wrong after a crash; an Assign only changes
// the entries in memory, and the file follows at the next flush of the log (the log calls
// Flush before moving its recovery point, see Log.SetLeaderEpochCache) and at Close. What a
// crash loses is rebuilt: every entry it can lose starts at or above the recovery point (an
// Assign's start offset is the log end at that moment, and the flush that moved the
// recovery point past it wrote it first), and recovery rescans the log from the segment
// holding the recovery point, noting where each epoch's batches begin (Log.RecoveredEpochs),
// which Recover puts back. A restart with thousands of partitions, each given a new leader
// epoch, thus writes no file until the logs are flushed.
const LeaderEpochCheckpointFile = "leader-epoch-checkpoint"

// UndefinedEpoch and UndefinedEpochOffset are Kafka's answers for an epoch the cache cannot
// place (OffsetForLeaderEpoch's -1, -1).
const (
	UndefinedEpoch       = -1
	UndefinedEpochOffset = -1
)

// EpochEntry is one leader epoch and the first offset written in it.
type EpochEntry struct {
	Epoch       int32
	StartOffset int64
}

// LeaderEpochCache is a partition's leader epochs and where each began (Kafka's
// LeaderEpochFileCache), kept in the partition directory's leader-epoch-checkpoint. It is
// safe for concurrent use.
type LeaderEpochCache struct {
	fs   FS
	path string

	mu sync.Mutex
	// Guarded by mu. Invariant: entries are increasing in Epoch and in StartOffset.
	entries []EpochEntry
	// onDisk is what the file holds (nil: no file, or an empty one): a write that would
	// not change it is skipped. It differs from entries after Assign, Recover or
	// DropFromEnd, until Flush.
	onDisk []EpochEntry
}

// OpenLeaderEpochCache reads dir's leader-epoch-checkpoint (none: an empty cache). An
// unreadable file is an error; the caller may remove it and start empty.
func OpenLeaderEpochCache(fs FS, dir string) (*LeaderEpochCache, error) {
	c := &LeaderEpochCache{fs: fs, path: filepath.Join(dir, LeaderEpochCheckpointFile)}
	f, err := fs.OpenFile(c.path, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<24))
	if err != nil {
		return nil, err
	}
	c.entries, err = parseEpochCheckpoint(string(data))
	if err != nil {
		return nil, fmt.Errorf("storage: %s: %w", c.path, err)
	}
	c.onDisk = slices.Clone(c.entries)
	return c, nil
}

func parseEpochCheckpoint(data string) ([]EpochEntry, error) {
	lines := strings.Split(strings.TrimSuffix(data, "\n"), "\n")
	if len(lines) < 2 || strings.TrimSpace(lines[0]) != "0" {
		return nil, errors.New("missing or unsupported version line")
	}
	n, err := strconv.Atoi(strings.TrimSpace(lines[1]))
	if err != nil || n < 0 || n != len(lines)-2 {
		return nil, fmt.Errorf("count %q does not match %d entries", lines[1], len(lines)-2)
	}
	out := make([]EpochEntry, 0, n)
	for _, line := range lines[2:] {
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("bad entry %q", line)
		}
		e, err1 := strconv.ParseInt(f[0], 10, 32)
		o, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil || e < 0 || o < 0 {
			return nil, fmt.Errorf("bad entry %q", line)
		}
		if k := len(out); k > 0 && (int32(e) <= out[k-1].Epoch || o < out[k-1].StartOffset) {
			return nil, fmt.Errorf("entry %q out of order", line)
		}
		out = append(out, EpochEntry{Epoch: int32(e), StartOffset: o})
	}
	return out, nil
}

// Entries returns a copy of the entries, oldest first.
func (c *LeaderEpochCache) Entries() []EpochEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]EpochEntry(nil), c.entries...)
}

// LatestEpoch is the newest epoch, UndefinedEpoch when there is none.
func (c *LeaderEpochCache) LatestEpoch() int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) == 0 {
		return UndefinedEpoch
	}
	return c.entries[len(c.entries)-1].Epoch
}

// StartOffsetOf is the start offset of epoch, and whether the cache has it.
func (c *LeaderEpochCache) StartOffsetOf(epoch int32) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries {
		if e.Epoch == epoch {
			return e.StartOffset, true
		}
	}
	return 0, false
}

// Assign records that epoch began at startOffset (Kafka's assign): an epoch not newer than
// the latest is ignored; entries at or above startOffset of older epochs are dropped, since
// the log was truncated below them. startOffset must be the log end offset (the first batch
// of the epoch is appended there), which is what makes writing the file later safe (see
// LeaderEpochCheckpointFile): the change is in memory, and the file follows at the next
// Flush. The error is always nil; it stays for callers that check it.
func (c *LeaderEpochCache) Assign(epoch int32, startOffset int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.assignLocked(epoch, startOffset)
	return nil
}

func (c *LeaderEpochCache) assignLocked(epoch int32, startOffset int64) {
	if epoch < 0 || startOffset < 0 {
		return
	}
	if k := len(c.entries); k > 0 && epoch <= c.entries[k-1].Epoch {
		return
	}
	for len(c.entries) > 0 && c.entries[len(c.entries)-1].StartOffset >= startOffset {
		c.entries = c.entries[:len(c.entries)-1]
	}
	c.entries = append(c.entries, EpochEntry{Epoch: epoch, StartOffset: startOffset})
}

// EpochRun is a run of consecutive batches of one leader epoch that recovery read: the base
// offsets of its first and last batch.
type EpochRun struct {
	Epoch                   int32
	FirstOffset, LastOffset int64
}

// Recover puts back what recovery read in the log (Log.RecoveredEpochs). The batches are the
// truth: an entry they contradict (a batch before its start offset has its epoch or a newer
// one, or a batch at or after it has an older one) was dropped from memory before a crash
// kept the file from following, so it goes, with every later entry; then each run's epoch
// newer than the latest entry is assigned at the run's first batch, as Kafka's
// LogSegment.recover does. Entries the batches do not contradict stay (an epoch whose batches
// the cleaner removed keeps its entry). Call it once, right after opening the log and the
// cache; the file follows at the next Flush.
func (c *LeaderEpochCache) Recover(runs []EpochRun) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range c.entries {
		if !consistent(e, runs) {
			c.entries = c.entries[:i]
			break
		}
	}
	for _, r := range runs {
		c.assignLocked(r.Epoch, r.FirstOffset)
	}
}

// consistent reports whether entry e agrees with the batches of runs.
func consistent(e EpochEntry, runs []EpochRun) bool {
	for _, r := range runs {
		if r.Epoch < e.Epoch && r.LastOffset >= e.StartOffset || r.Epoch >= e.Epoch && r.FirstOffset < e.StartOffset {
			return false
		}
	}
	return true
}

// Dirty reports whether the entries differ from what the file holds.
func (c *LeaderEpochCache) Dirty() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !slices.Equal(c.entries, c.onDisk)
}

// EndOffsetFor answers OffsetForLeaderEpoch for epoch on a log ending at logEndOffset (Kafka's
// LeaderEpochFileCache.endOffsetFor): the largest epoch not above the requested one, and the
// start offset of the first epoch after it (the log end offset when epoch is the latest). A
// requested epoch newer than every known one, or an empty cache, is (UndefinedEpoch,
// UndefinedEpochOffset); one older than every known epoch is (epoch, first start offset).
func (c *LeaderEpochCache) EndOffsetFor(epoch int32, logEndOffset int64) (int32, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := len(c.entries)
	if epoch == UndefinedEpoch || k == 0 {
		return UndefinedEpoch, UndefinedEpochOffset
	}
	if c.entries[k-1].Epoch == epoch {
		return epoch, logEndOffset
	}
	higher := -1 // the first entry with a larger epoch
	for i, e := range c.entries {
		if e.Epoch > epoch {
			higher = i
			break
		}
	}
	if higher < 0 {
		return UndefinedEpoch, UndefinedEpochOffset
	}
	if higher == 0 {
		return epoch, c.entries[0].StartOffset
	}
	return c.entries[higher-1].Epoch, c.entries[higher].StartOffset
}

// TruncateFromEnd drops the entries that start at or above endOffset (the log was truncated
// there) and rewrites the file if any went.
func (c *LeaderEpochCache) TruncateFromEnd(endOffset int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropFromEndLocked(endOffset)
	return c.writeLocked()
}

// DropFromEnd is TruncateFromEnd in memory only: the file keeps the dropped entries until
// the next write or Flush. A partition being opened uses it (after Recover) on the log end:
// the dropped entries are above every batch, and a crash before the next Flush finds them
// again above the recovered log end (or below batches recovery puts back, which replace
// them) and drops them again.
func (c *LeaderEpochCache) DropFromEnd(endOffset int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropFromEndLocked(endOffset)
}

// Flush writes (and fsyncs) the file if it differs from the entries.
func (c *LeaderEpochCache) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writeLocked()
}

// flushBelow is the log's flush up to end (its log end offset): the file must agree with the
// entries that start below end, which the recovery point may now pass; entries at or above
// end have no batch yet, and a restart drops them (DropFromEnd) or recovery corrects them
// (Recover), so they alone are no reason to write. A restarted idle partition given a new
// leader epoch at its log end thus writes nothing at shutdown.
func (c *LeaderEpochCache) flushBelow(end int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	below := func(es []EpochEntry) []EpochEntry {
		i := len(es)
		for i > 0 && es[i-1].StartOffset >= end {
			i--
		}
		return es[:i]
	}
	if slices.Equal(below(c.entries), below(c.onDisk)) {
		return nil
	}
	return c.writeLocked()
}

func (c *LeaderEpochCache) dropFromEndLocked(endOffset int64) {
	n := len(c.entries)
	for n > 0 && c.entries[n-1].StartOffset >= endOffset {
		n--
	}
	c.entries = c.entries[:n]
}

// writeLocked rewrites the file with the entries, unless it holds them already. The caller
// holds mu.
func (c *LeaderEpochCache) writeLocked() error {
	if slices.Equal(c.entries, c.onDisk) {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "0\n%d\n", len(c.entries))
	for _, e := range c.entries {
		fmt.Fprintf(&b, "%d %d\n", e.Epoch, e.StartOffset)
	}
	if err := writeFileAtomic(c.fs, c.path, []byte(b.String())); err != nil {
		return fmt.Errorf("storage: %s: %w", c.path, err)
	}
	c.onDisk = slices.Clone(c.entries)
	return nil
}
