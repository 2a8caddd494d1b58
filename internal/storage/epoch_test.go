package storage

import (
	"slices"
	"testing"

	"github.com/gregorhq/gregor/internal/records"
)

// epochLog is a log with its leader epoch cache attached, as the replica manager opens them.
type epochLog struct {
	*Log
	epochs *LeaderEpochCache
}

func openEpochLog(t *testing.T, fs FS, rp int64) epochLog {
	t.Helper()
	l := mustOpen(t, fs, "/d/t-0", LogConfig{SegmentBytes: 700}, rp)
	c, err := OpenLeaderEpochCache(fs, "/d/t-0")
	if err != nil {
		t.Fatal(err)
	}
	c.Recover(l.RecoveredEpochs())
	c.DropFromEnd(l.LogEndOffset())
	l.SetLeaderEpochCache(c)
	return epochLog{l, c}
}

// lead assigns epoch at the log end and appends n batches of it, as a leader does.
func (l epochLog) lead(t *testing.T, epoch int32, n int) {
	t.Helper()
	if err := l.epochs.Assign(epoch, l.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
	for range n {
		b, h := makeBatch(2, 100, 1, 1)
		records.SetPartitionLeaderEpoch(b, epoch)
		h.PartitionLeaderEpoch = epoch
		if _, err := l.Append(b, h); err != nil {
			t.Fatal(err)
		}
	}
}

// syncLogFiles puts the .log files on disk without a flush: the operating system wrote the
// pages back, but neither the recovery point nor the epoch checkpoint moved.
func (l epochLog) syncLogFiles(t *testing.T) {
	t.Helper()
	l.mu.RLock()
	defer l.mu.RUnlock()
	for _, s := range l.segments {
		if err := s.log.Sync(); err != nil {
			t.Fatal(err)
		}
	}
}

// endOffsets answers OffsetForLeaderEpoch for epochs 0..9.
func endOffsets(c *LeaderEpochCache, leo int64) [][2]int64 {
	var out [][2]int64
	for e := int32(0); e < 10; e++ {
		ep, off := c.EndOffsetFor(e, leo)
		out = append(out, [2]int64{int64(ep), off})
	}
	return out
}

// Assign writes no file; a crash before the log's next flush loses the new entries from the
// file, and reopening rebuilds them from the batches recovery reads, so that
// OffsetForLeaderEpoch answers as a clean restart would, for every epoch whose batches
// survived.
func TestLeaderEpochsRebuiltAfterCrash(t *testing.T) {
	for _, bc := range []struct {
		name     string
		syncLogs bool // the log's bytes survive (else only what the flush fsynced)
	}{{"log survives", true}, {"log tail lost", false}} {
		t.Run(bc.name, func(t *testing.T) {
			fs := NewMemFS()
			l := openEpochLog(t, fs, 0)
			l.lead(t, 1, 5)
			if err := l.Flush(); err != nil { // the file gets epoch 1
				t.Fatal(err)
			}
			rp := l.RecoveryPoint()
			if got := readFile(t, fs, "/d/t-0/"+LeaderEpochCheckpointFile); string(got) != "0\n1\n1 0\n" {
				t.Fatalf("checkpoint after flush: %q", got)
			}
			l.lead(t, 3, 6) // rolls segments
			l.lead(t, 4, 1)
			l.lead(t, 6, 0) // an epoch with no batch yet
			if l.NumSegments() < 3 {
				t.Fatalf("%d segments, want several", l.NumSegments())
			}
			if got := readFile(t, fs, "/d/t-0/"+LeaderEpochCheckpointFile); string(got) != "0\n1\n1 0\n" {
				t.Fatalf("Assign wrote the checkpoint: %q", got)
			}
			before := l.epochs.Entries()
			if bc.syncLogs {
				l.syncLogFiles(t)
			}
			fs.Crash()

			r := openEpochLog(t, fs, rp)
			defer r.Close()
			leo := r.LogEndOffset()
			// What a clean restart at this log end would hold.
			want, err := OpenLeaderEpochCache(NewMemFS(), "/x")
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range before {
				want.Assign(e.Epoch, e.StartOffset)
			}
			want.DropFromEnd(leo)
			if bc.syncLogs && len(want.Entries()) != 3 {
				t.Fatalf("log end %d: the log lost batches it should keep", leo)
			}
			if got := r.epochs.Entries(); !slices.Equal(got, want.Entries()) {
				t.Fatalf("entries after the crash %v, want %v (before %v, log end %d)", got, want.Entries(), before, leo)
			}
			if got, w := endOffsets(r.epochs, leo), endOffsets(want, leo); !slices.Equal(got, w) {
				t.Fatalf("EndOffsetFor after the crash %v, want %v", got, w)
			}
			if bc.syncLogs && !r.epochs.Dirty() {
				t.Fatal("rebuilt entries not marked for the next flush")
			}
			if err := r.Flush(); err != nil || r.epochs.Dirty() {
				t.Fatalf("flush left the checkpoint unwritten: %v", err)
			}
		})
	}
}

// An entry the file holds but the batches contradict (a crash kept the file from following a
// change made in memory) is replaced by what the batches say, whether recovery reads the
// whole log or only its last segment.
func TestLeaderEpochStaleEntryReplacedByRecovery(t *testing.T) {
	for _, rp := range []int64{0, 10} { // the whole log; its last segment only
		fs := NewMemFS()
		l := openEpochLog(t, fs, 0)
		l.lead(t, 1, 4) // offsets [0, 8): the first segment
		l.lead(t, 5, 2) // [8, 12): the active one
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		writeFile(t, fs, "/d/t-0/"+LeaderEpochCheckpointFile, []byte("0\n2\n1 0\n5 100\n"))
		r := openEpochLog(t, fs, rp)
		want := []EpochEntry{{1, 0}, {5, 8}}
		if got := r.epochs.Entries(); !slices.Equal(got, want) {
			t.Fatalf("recovery point %d: entries %v, want %v", rp, got, want)
		}
		r.Close()
	}
}

func TestLeaderEpochRecoverKeepsConsistentEntries(t *testing.T) {
	c, err := OpenLeaderEpochCache(NewMemFS(), "/x")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []EpochEntry{{1, 0}, {2, 10}, {4, 20}, {7, 40}} {
		c.Assign(e.Epoch, e.StartOffset)
	}
	// Epoch 2's batches were cleaned away: its entry stays. Epoch 7's entry at 40
	// contradicts batches of epoch 7 from 35: it goes, and epoch 7 is assigned at 35.
	c.Recover([]EpochRun{{1, 0, 8}, {4, 20, 30}, {7, 35, 50}, {8, 51, 51}})
	want := []EpochEntry{{1, 0}, {2, 10}, {4, 20}, {7, 35}, {8, 51}}
	if got := c.Entries(); !slices.Equal(got, want) {
		t.Fatalf("entries %v, want %v", got, want)
	}
}

// The log's flush writes the checkpoint only when an entry below the log end changed: an
// epoch that began at the log end and has no batch yet waits for its first one.
func TestLogFlushWritesEpochsBelowLogEnd(t *testing.T) {
	fs := NewMemFS()
	l := openEpochLog(t, fs, 0)
	defer l.Close()
	name := "/d/t-0/" + LeaderEpochCheckpointFile
	l.lead(t, 2, 0)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if exists(fs, name) {
		t.Fatalf("an epoch without batches was written: %q", readFile(t, fs, name))
	}
	l.lead(t, 3, 1)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, fs, name); string(got) != "0\n1\n3 0\n" {
		t.Fatalf("checkpoint %q", got)
	}
}
