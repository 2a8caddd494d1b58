package storage

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gregorhq/gregor/internal/records"
)

// kv is one record to append: a nil key or value is null.
type kv struct{ key, value []byte }

func rec(key, value string) kv { return kv{[]byte(key), []byte(value)} }
func tombstone(key string) kv  { return kv{key: []byte(key)} }

// appendKVs appends one uncompressed batch of the records, timestamps ts, ts+1, ...; pid >= 0
// makes it an idempotent producer's batch.
func appendKVs(t testing.TB, l *Log, ts, pid int64, kvs ...kv) int64 {
	t.Helper()
	epoch, seq := int16(-1), int32(-1)
	if pid >= 0 {
		epoch, seq = 0, 0
	}
	b := records.NewBuilder(records.BatchHeader{BaseTimestamp: ts, ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq})
	for i, r := range kvs {
		b.Add(records.Record{OffsetDelta: int32(i), TimestampDelta: int64(i), Key: r.key, Value: r.value})
	}
	batch := b.Build()
	return appendBuilt(t, l, batch)
}

// appendCompressed appends one batch of the records compressed with codec, timestamps ts,
// ts+1, ...
func appendCompressed(t testing.TB, l *Log, ts int64, codec records.Codec, kvs ...kv) int64 {
	t.Helper()
	b := records.NewBuilder(records.BatchHeader{BaseTimestamp: ts, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1})
	for i, r := range kvs {
		b.Add(records.Record{OffsetDelta: int32(i), TimestampDelta: int64(i), Key: r.key, Value: r.value})
	}
	batch, err := b.BuildCompressed(codec, records.DefaultLevel(codec))
	if err != nil {
		t.Fatal(err)
	}
	return appendBuilt(t, l, batch)
}

func appendBuilt(t testing.TB, l *Log, batch []byte) int64 {
	t.Helper()
	h, _ := records.ParseHeader(batch)
	base, err := l.Append(batch, h)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return base
}

// logRecord is a record read back from the log.
type logRecord struct {
	offset, ts int64
	key, value string
	null       bool
}

func (r logRecord) String() string {
	if r.null {
		return fmt.Sprintf("%d:%s=null", r.offset, r.key)
	}
	return fmt.Sprintf("%d:%s=%s", r.offset, r.key, r.value)
}

// readRecords reads every record of the log, checking that offsets increase.
func readRecords(t testing.TB, l *Log) []logRecord {
	t.Helper()
	var out []logRecord
	prev := int64(-1)
	for _, b := range readAll(t, l) {
		h, _ := records.ParseHeader(b.bytes)
		if records.ComputeCRC(b.bytes) != h.CRC {
			t.Fatalf("batch %d: bad CRC", h.BaseOffset)
		}
		err := records.ForEachRecord(b.bytes, func(r records.Record) bool {
			off := h.BaseOffset + int64(r.OffsetDelta)
			if off <= prev || off > h.LastOffset() {
				t.Fatalf("record offset %d after %d (batch [%d, %d])", off, prev, h.BaseOffset, h.LastOffset())
			}
			prev = off
			out = append(out, logRecord{offset: off, ts: h.BaseTimestamp + r.TimestampDelta,
				key: string(r.Key), value: string(r.Value), null: r.Value == nil})
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func cleanOpts(now time.Time, l *Log) CleanOptions {
	return CleanOptions{Now: now, UpperBound: l.LogEndOffset(), DeleteRetentionMs: 1000,
		MaxCompactionLagMs: 1<<63 - 1, MinCleanableDirtyRatio: 0.5}
}

func mustClean(t testing.TB, l *Log, opts CleanOptions) CleanStats {
	t.Helper()
	st, err := l.Clean(context.Background(), opts)
	if err != nil {
		t.Fatalf("Clean: %v", err)
	}
	return st
}

var t0 = time.UnixMilli(1_700_000_000_000)

// fillKeys appends n single-record batches cycling over keys k0..k(keys-1), value "v<i>".
func fillKeys(t testing.TB, l *Log, n, keys int) {
	for i := range n {
		appendKVs(t, l, t0.UnixMilli()+int64(i), -1, rec(fmt.Sprintf("k%d", i%keys), fmt.Sprintf("v%d", i)))
	}
}

func TestCleanKeepsLatestValuePerKey(t *testing.T) {
	fs := NewMemFS()
	cfg := LogConfig{SegmentBytes: 400, IndexIntervalBytes: 1}
	l := mustOpen(t, fs, "/d/t-0", cfg, 0)
	fillKeys(t, l, 300, 10)
	before := readRecords(t, l)
	activeBase := l.segments[len(l.segments)-1].baseOffset
	activeBytes := readFile(t, fs, l.segments[len(l.segments)-1].path(LogFileSuffix))
	segsBefore := l.NumSegments()

	st := mustClean(t, l, cleanOpts(t0.Add(time.Hour), l))
	if !st.Cleaned || st.FirstDirtyOffset != activeBase {
		t.Fatalf("stats %+v, want cleaned up to the active segment %d", st, activeBase)
	}
	// Groups are sized by their sources (as in Kafka): the next pass merges the shrunk ones.
	opts := cleanOpts(t0.Add(time.Hour), l)
	opts.FirstDirtyOffset, opts.Force = st.FirstDirtyOffset, true
	mustClean(t, l, opts)
	if l.NumSegments() > segsBefore/3 {
		t.Fatalf("%d segments after two passes, %d before: groups should merge", l.NumSegments(), segsBefore)
	}
	after := readRecords(t, l)
	// Below the active segment: exactly the latest record of each key there.
	latest := map[string]logRecord{}
	for _, r := range before {
		if r.offset < activeBase {
			latest[r.key] = r
		}
	}
	seen := map[string]bool{}
	for _, r := range after {
		if r.offset >= activeBase {
			continue
		}
		if seen[r.key] || latest[r.key] != r {
			t.Fatalf("cleaned section holds %v; latest of %s is %v (seen before: %v)", r, r.key, latest[r.key], seen[r.key])
		}
		seen[r.key] = true
	}
	if len(seen) != len(latest) {
		t.Fatalf("cleaned section has %d keys, want %d", len(seen), len(latest))
	}
	// The active segment is untouched.
	if got := readFile(t, fs, l.segments[len(l.segments)-1].path(LogFileSuffix)); string(got) != string(activeBytes) {
		t.Fatal("the active segment changed")
	}
	if l.LogStartOffset() != 0 || l.LogEndOffset() != 300 {
		t.Fatalf("log [%d, %d), want [0, 300)", l.LogStartOffset(), l.LogEndOffset())
	}
	// The files agree with themselves, and a full recovery scan accepts them as they are.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	checkCompactedInvariants(t, fs, "/d/t-0", 0, 300)
	l = mustOpen(t, fs, "/d/t-0", cfg, 0)
	defer l.Close()
	if got := readRecords(t, l); fmt.Sprint(got) != fmt.Sprint(after) {
		t.Fatalf("after reopening:\n%v\nwant\n%v", got, after)
	}
	// Reads in the gaps land on the next record.
	for _, r := range after {
		if r.offset > 0 {
			reg, err := l.Read(r.offset-1, 1<<20, l.LogEndOffset(), true)
			if err != nil || reg.Size == 0 {
				t.Fatalf("read at %d: %v, %d bytes", r.offset-1, err, reg.Size)
			}
		}
	}
}

func TestCleanTombstonesAfterDeleteRetention(t *testing.T) {
	fs := NewMemFS()
	l := mustOpen(t, fs, "/d/t-0", LogConfig{SegmentBytes: 300}, 0)
	defer l.Close()
	appendKVs(t, l, 100, -1, rec("a", "1"), rec("b", "1"), rec("c", "1"))
	appendKVs(t, l, 200, -1, tombstone("a"), rec("b", "2"))
	for i := range 20 {
		appendKVs(t, l, 300+int64(i), -1, rec(fmt.Sprintf("f%d", i), "x"))
	}
	opts := cleanOpts(t0, l)
	opts.DeleteRetentionMs = 1000
	st := mustClean(t, l, opts)
	want := "[2:c=1 3:a=null 4:b=2]"
	if got := keysOf(readRecords(t, l), "a", "b", "c"); got != want {
		t.Fatalf("after the first pass: %s, want %s (the tombstone stays)", got, want)
	}
	if st.DeleteHorizon != t0.UnixMilli()+1000 {
		t.Fatalf("delete horizon %d, want now + delete.retention.ms = %d", st.DeleteHorizon, t0.UnixMilli()+1000)
	}
	// Record timestamps survive the delete horizon's taking baseTimestamp.
	for _, r := range readRecords(t, l) {
		if r.key == "a" && r.ts != 200 || r.key == "b" && r.ts != 201 {
			t.Fatalf("record %v has timestamp %d", r, r.ts)
		}
	}
	opts.Force = true
	opts.FirstDirtyOffset = st.FirstDirtyOffset
	opts.Now = t0.Add(999 * time.Millisecond)
	if st = mustClean(t, l, opts); keysOf(readRecords(t, l), "a", "b", "c") != want {
		t.Fatalf("before the horizon: %s, want %s", keysOf(readRecords(t, l), "a", "b", "c"), want)
	}
	opts.Now = t0.Add(1000 * time.Millisecond)
	st = mustClean(t, l, opts)
	if got := keysOf(readRecords(t, l), "a", "b", "c"); got != "[2:c=1 4:b=2]" {
		t.Fatalf("at the horizon: %s, want the tombstone gone", got)
	}
	if st.TombstonesDropped != 1 || st.DeleteHorizon != -1 {
		t.Fatalf("stats %+v", st)
	}
}

// keysOf lists the records of the given keys.
func keysOf(rs []logRecord, keys ...string) string {
	var out []logRecord
	for _, r := range rs {
		for _, k := range keys {
			if r.key == k {
				out = append(out, r)
			}
		}
	}
	return fmt.Sprint(out)
}

func TestCleanMinCompactionLagAndUpperBound(t *testing.T) {
	fs := NewMemFS()
	l := mustOpen(t, fs, "/d/t-0", LogConfig{SegmentBytes: 400}, 0)
	defer l.Close()
	fillKeys(t, l, 200, 5) // timestamps t0 .. t0+199
	opts := cleanOpts(t0.Add(150*time.Millisecond), l)
	opts.MinCompactionLagMs = 100 // records after t0+50 are too young
	st := mustClean(t, l, opts)
	for _, s := range l.segments {
		if s.nextOffset <= st.FirstDirtyOffset && s.maxTimestamp > t0.UnixMilli()+50 {
			t.Fatalf("segment [%d, %d) with max timestamp %d was cleaned", s.baseOffset, s.nextOffset, s.maxTimestamp)
		}
	}
	if st.FirstDirtyOffset > 51 || st.FirstDirtyOffset == 0 {
		t.Fatalf("first dirty offset %d, want the base of the first segment past t0+50", st.FirstDirtyOffset)
	}
	rs := readRecords(t, l)
	if n := countFrom(rs, st.FirstDirtyOffset); n != int(200-st.FirstDirtyOffset) {
		t.Fatalf("%d records at or past %d, want all %d", n, st.FirstDirtyOffset, 200-st.FirstDirtyOffset)
	}

	// The upper bound (high watermark) stops cleaning in the same way.
	opts = cleanOpts(t0.Add(time.Hour), l)
	opts.UpperBound = 100
	opts.FirstDirtyOffset = st.FirstDirtyOffset
	opts.Force = true
	st = mustClean(t, l, opts)
	if st.FirstDirtyOffset > 100 {
		t.Fatalf("cleaned up to %d, past the upper bound 100", st.FirstDirtyOffset)
	}
	if n := countFrom(readRecords(t, l), 100); n != 100 {
		t.Fatalf("%d records at or past the upper bound, want 100", n)
	}
}

func countFrom(rs []logRecord, from int64) int {
	n := 0
	for _, r := range rs {
		if r.offset >= from {
			n++
		}
	}
	return n
}

func TestCleanDirtyRatio(t *testing.T) {
	fs := NewMemFS()
	l := mustOpen(t, fs, "/d/t-0", LogConfig{SegmentBytes: 400}, 0)
	defer l.Close()
	for i := range 100 { // 100 distinct keys: nothing to drop, all clean after one pass
		appendKVs(t, l, int64(i), -1, rec(fmt.Sprintf("k%d", i), "v"))
	}
	opts := cleanOpts(t0, l)
	st := mustClean(t, l, opts)
	if !st.Cleaned {
		t.Fatal("a wholly dirty log was not cleaned")
	}
	for i := range 10 { // a little more: a low dirty ratio
		appendKVs(t, l, int64(100+i), -1, rec(fmt.Sprintf("k%d", i), "w"))
	}
	opts.UpperBound, opts.FirstDirtyOffset = l.LogEndOffset(), st.FirstDirtyOffset
	c, err := l.Cleanable(opts)
	if err != nil {
		t.Fatal(err)
	}
	if r := c.DirtyRatio(); r <= 0 || r >= 0.5 || c.ShouldClean(0.5) {
		t.Fatalf("dirty ratio %v (%+v): want in (0, 0.5) and no cleaning at 0.5", r, c)
	}
	if st2 := mustClean(t, l, opts); st2.Cleaned || st2.FirstDirtyOffset != st.FirstDirtyOffset {
		t.Fatalf("cleaned below min.cleanable.dirty.ratio: %+v", st2)
	}
	opts.MinCleanableDirtyRatio = c.DirtyRatio() / 2
	if st2 := mustClean(t, l, opts); !st2.Cleaned {
		t.Fatal("not cleaned above min.cleanable.dirty.ratio")
	}
	// max.compaction.lag.ms forces a pass whatever the ratio.
	appendKVs(t, l, 5000, -1, rec("k1", "x"))
	for i := range 10 {
		appendKVs(t, l, 5001+int64(i), -1, rec(fmt.Sprintf("z%d", i), "x"))
	}
	opts = cleanOpts(t0, l)
	opts.FirstDirtyOffset = l.LogEndOffset() - 11
	opts.MinCleanableDirtyRatio = 0.99
	opts.Now = time.UnixMilli(6000)
	opts.MaxCompactionLagMs = 500
	if c, _ := l.Cleanable(opts); !c.NeedCompactionNow || !c.ShouldClean(0.99) {
		t.Fatalf("max.compaction.lag.ms passed but %+v", c)
	}
}

func TestCleanBatchShapes(t *testing.T) {
	fs := NewMemFS()
	l := mustOpen(t, fs, "/d/t-0", LogConfig{SegmentBytes: 1 << 20}, 0)
	defer l.Close()
	appendKVs(t, l, 1, 7, rec("p", "1"), rec("q", "1"))  // [0,1] idempotent producer 7
	appendKVs(t, l, 2, -1, kv{value: []byte("keyless")}) // [2] no key
	// [3,5] compressed: p is superseded, the keyless record dropped, c kept; stays gzip.
	appendCompressed(t, l, 3, records.CodecGzip, rec("p", "c"), kv{value: []byte("keyless")}, rec("c", "1"))
	appendKVs(t, l, 4, -1, rec("p", "2"), rec("q", "2")) // [6,7] supersedes producer 7's batch
	appendKVs(t, l, 5, -1, rec("z", "1"))                // [8] last of the closed segment
	l.appendMu.Lock()
	if _, err := l.rollLocked(l.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
	l.appendMu.Unlock()
	appendKVs(t, l, 6, -1, rec("z", "2")) // [9] active

	st := mustClean(t, l, cleanOpts(t0, l))
	var got []string
	for _, b := range readAll(t, l) {
		h, _ := records.ParseHeader(b.bytes)
		got = append(got, fmt.Sprintf("[%d,%d]n=%d,pid=%d,codec=%d", h.BaseOffset, h.LastOffset(), h.NumRecords, h.ProducerID, h.Codec()))
	}
	want := "[0,1]n=0,pid=7,codec=0 [3,5]n=1,pid=-1,codec=1 [6,7]n=2,pid=-1,codec=0 [8,8]n=1,pid=-1,codec=0 [9,9]n=1,pid=-1,codec=0"
	if strings.Join(got, " ") != want {
		t.Fatalf("batches:\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
	if st.KeylessRecordsDropped != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// TestCleanCompressedBatches compacts a log of batches in every codec: the latest value of
// each key survives wherever it is, and rebuilt batches keep their codec and offset range.
func TestCleanCompressedBatches(t *testing.T) {
	fs := NewMemFS()
	l := mustOpen(t, fs, "/d/t-0", LogConfig{SegmentBytes: 1 << 20}, 0)
	defer l.Close()
	codecs := []records.Codec{records.CodecGzip, records.CodecSnappy, records.CodecLZ4, records.CodecZstd, records.CodecNone}
	for i, c := range codecs {
		v := fmt.Sprint(i)
		appendCompressed(t, l, int64(10*i), c, rec("a", v), rec(fmt.Sprint("k", i), v), rec("b", v))
	}
	appendCompressed(t, l, 100, records.CodecZstd, rec("a", "last")) // [15]
	l.appendMu.Lock()
	if _, err := l.rollLocked(l.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
	l.appendMu.Unlock()
	appendKVs(t, l, 200, -1, rec("z", "active"))

	mustClean(t, l, cleanOpts(t0, l))
	var got []string
	for _, r := range readRecords(t, l) {
		got = append(got, r.String())
	}
	want := "1:k0=0 4:k1=1 7:k2=2 10:k3=3 13:k4=4 14:b=4 15:a=last 16:z=active"
	if strings.Join(got, " ") != want {
		t.Fatalf("records:\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
	var shapes []string
	for _, b := range readAll(t, l) {
		h, _ := records.ParseHeader(b.bytes)
		shapes = append(shapes, fmt.Sprintf("[%d,%d]n=%d,codec=%d", h.BaseOffset, h.LastOffset(), h.NumRecords, h.Codec()))
	}
	wantShapes := "[0,2]n=1,codec=1 [3,5]n=1,codec=2 [6,8]n=1,codec=3 [9,11]n=1,codec=4 [12,14]n=2,codec=0 [15,15]n=1,codec=4 [16,16]n=1,codec=0"
	if strings.Join(shapes, " ") != wantShapes {
		t.Fatalf("batches:\n%s\nwant\n%s", strings.Join(shapes, " "), wantShapes)
	}
}

func TestCleanWhileReadingAndAppending(t *testing.T) {
	fs, clock := NewMemFS(), newFakeClock()
	cfg := clock.config(LogConfig{SegmentBytes: 400, FileDeleteDelayMs: 60_000})
	l := mustOpen(t, fs, "/d/t-0", cfg, 0)
	defer l.Close()
	fillKeys(t, l, 200, 10)
	region, err := l.Read(0, 1<<20, l.LogEndOffset(), true)
	if err != nil {
		t.Fatal(err)
	}
	old, err := region.ReadBytes()
	if err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // appends go on during the pass
		defer wg.Done()
		for i := range 200 {
			appendKVs(t, l, t0.UnixMilli()+1000+int64(i), -1, rec(fmt.Sprintf("n%d", i), "x"))
		}
	}()
	opts := cleanOpts(clock.Now(), l)
	opts.UpperBound = 1 << 62
	mustClean(t, l, opts)
	wg.Wait()

	// A Region taken before the swap still reads the old bytes until file.delete.delay.ms.
	if again, err := region.ReadBytes(); err != nil || string(again) != string(old) {
		t.Fatalf("old region after cleaning: %v", err)
	}
	rs := readRecords(t, l)
	if n := countFrom(rs, 200); n != 200 {
		t.Fatalf("%d of the 200 concurrent appends are there", n)
	}
	clock.Advance(time.Minute)
	if _, err := region.ReadBytes(); err == nil {
		t.Fatal("old region still readable after the deletion delay")
	}
}

func TestCleanThrottle(t *testing.T) {
	now := t0
	th := NewThrottler(1000, func() time.Time { return now })
	if d := th.Reserve(1000); d != 0 {
		t.Fatalf("a full bucket waits %v", d)
	}
	if d := th.Reserve(500); d != 500*time.Millisecond {
		t.Fatalf("500 bytes in debt at 1000 B/s: wait %v, want 500ms", d)
	}
	now = now.Add(500 * time.Millisecond) // the debt is paid
	if d := th.Reserve(250); d != 250*time.Millisecond {
		t.Fatalf("wait %v, want 250ms", d)
	}
	now = now.Add(10 * time.Second) // the bucket holds at most one second
	if d := th.Reserve(2000); d != time.Second {
		t.Fatalf("wait %v, want 1s (at most 1000 tokens, 2000 spent)", d)
	}
	if NewThrottler(0, nil) != nil || NewThrottler(1.7976931348623157e308, nil) != nil {
		t.Fatal("unlimited rates should give no throttler")
	}
	var none *Throttler
	if none.Reserve(1<<40) != 0 {
		t.Fatal("a nil throttler waits")
	}
}

// TestCleanCrashDuringSwap stops the swaps before each of their renames in turn, simulates a
// power loss, and reopens: each group of segments must be either as before cleaning or as
// after, so the log holds every key's latest record, only records that were there before,
// and no record twice.
func TestCleanCrashDuringSwap(t *testing.T) {
	cfg := LogConfig{SegmentBytes: 400}
	setup := func(fs FS) *Log {
		l := mustOpen(t, fs, "/d/t-0", cfg, 0)
		fillKeys(t, l, 60, 4)
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
		return l
	}
	// The outcome without a crash.
	ref := setup(NewMemFS())
	beforeRecs := readRecords(t, ref)
	before := fmt.Sprint(beforeRecs)
	mustClean(t, ref, cleanOpts(t0, ref))
	after := fmt.Sprint(readRecords(t, ref))
	ref.Close()
	if before == after {
		t.Fatal("cleaning changed nothing")
	}

	for stop := 0; ; stop++ {
		mem := NewMemFS()
		renames := 0
		efs := NewErrorFS(mem, func(op, path string) error {
			if op == OpRename && (strings.HasSuffix(path, cleanedFileSuffix) || strings.HasSuffix(path, swapFileSuffix)) {
				renames++
				if renames > stop {
					return ErrInjected
				}
			}
			return nil
		})
		l := setup(efs)
		_, err := l.Clean(context.Background(), cleanOpts(t0, l))
		if err == nil {
			defer l.Close()
			if stop < 6 {
				t.Fatalf("a swap takes 6 renames, done after %d", stop)
			}
			if got := fmt.Sprint(readRecords(t, l)); got != after {
				t.Fatalf("without a crash: %s, want %s", got, after)
			}
			return
		}
		mem.Crash()
		l2 := mustOpen(t, mem, "/d/t-0", cfg, 0)
		checkCleanedFrom(t, beforeRecs, readRecords(t, l2))
		if err := l2.Close(); err != nil {
			t.Fatal(err)
		}
		checkCompactedInvariants(t, mem, "/d/t-0", 0, 60)
	}
}

// checkCleanedFrom checks that got is a compaction of before: the latest record of every key
// is there, every record of got was in before, and each record missing had a later one with
// its key. readRecords has already checked that offsets increase.
func checkCleanedFrom(t testing.TB, before, got []logRecord) {
	t.Helper()
	latest := map[string]int64{}
	byOffset := map[int64]logRecord{}
	for _, r := range before {
		latest[r.key] = r.offset
		byOffset[r.offset] = r
	}
	kept := map[int64]bool{}
	for _, r := range got {
		if byOffset[r.offset] != r {
			t.Fatalf("record %v was not in the log before cleaning", r)
		}
		kept[r.offset] = true
	}
	for _, r := range before {
		if !kept[r.offset] && latest[r.key] == r.offset {
			t.Fatalf("the latest record of key %s, %v, is lost", r.key, r)
		}
	}
}

// TestCleanEmptiedCompressedIdempotentBatch: a compressed batch of an idempotent producer
// whose records are all superseded is kept, for its producer state, as an empty batch, and
// that batch is uncompressed: an empty compressed payload is not something clients decode.
func TestCleanEmptiedCompressedIdempotentBatch(t *testing.T) {
	fs := NewMemFS()
	l := mustOpen(t, fs, "/d/t-0", LogConfig{SegmentBytes: 1 << 20}, 0)
	defer l.Close()
	for _, codec := range []records.Codec{records.CodecGzip, records.CodecSnappy, records.CodecLZ4, records.CodecZstd} {
		b := records.NewBuilder(records.BatchHeader{BaseTimestamp: 1, ProducerID: 9, ProducerEpoch: 0, BaseSequence: 0})
		b.Add(records.Record{Key: []byte("a"), Value: []byte("old")})
		batch, err := b.BuildCompressed(codec, records.DefaultLevel(codec))
		if err != nil {
			t.Fatal(err)
		}
		appendBuilt(t, l, batch)
	}
	appendKVs(t, l, 2, -1, rec("a", "new"))
	l.appendMu.Lock()
	if _, err := l.rollLocked(l.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
	l.appendMu.Unlock()
	appendKVs(t, l, 3, -1, rec("z", "active"))

	mustClean(t, l, cleanOpts(t0, l))
	var shapes []string
	for _, b := range readAll(t, l) {
		h, _ := records.ParseHeader(b.bytes)
		shapes = append(shapes, fmt.Sprintf("[%d]n=%d,pid=%d,codec=%d", h.BaseOffset, h.NumRecords, h.ProducerID, h.Codec()))
		if h.NumRecords == 0 && int64(len(b.bytes)) != records.HeaderSize {
			t.Errorf("empty batch at %d has %d bytes of records", h.BaseOffset, len(b.bytes)-records.HeaderSize)
		}
	}
	// The cleaner may drop all but the producer's last batch; whatever it keeps of producer 9
	// is empty and uncompressed.
	for _, s := range shapes {
		if strings.Contains(s, "pid=9") && s[strings.Index(s, "n="):] != "n=0,pid=9,codec=0" {
			t.Fatalf("batches %v", shapes)
		}
	}
	if got := readRecords(t, l); len(got) != 2 || got[0].String() != "4:a=new" {
		t.Fatalf("records %v", got)
	}
}

// TestCleanCrashDuringSwapKeepsAbortedIndex: the aborted transaction entries of the segments
// a swap replaces survive a power loss before any of its renames (the entries move to the
// cleaned segment's .txnindex before its .log.swap exists).
func TestCleanCrashDuringSwapKeepsAbortedIndex(t *testing.T) {
	cfg := LogConfig{SegmentBytes: 400}
	var want []AbortedTxn
	setup := func(fs FS) *Log {
		l := mustOpen(t, fs, "/d/t-0", cfg, 0)
		b := records.NewBuilder(records.BatchHeader{BaseTimestamp: t0.UnixMilli(), ProducerID: 7, ProducerEpoch: 0,
			BaseSequence: 0, Attributes: 0x10})
		b.Add(records.Record{Key: []byte("k0"), Value: []byte("aborted")})
		first := appendBuilt(t, l, b.Build())
		marker := appendBuilt(t, l, records.BuildControlBatch(0, t0.UnixMilli(), 7, 0, false, 1))
		a := AbortedTxn{ProducerID: 7, FirstOffset: first, LastOffset: marker, LastStableOffset: marker + 1}
		if err := l.AppendAbortedTxn(a); err != nil {
			t.Fatal(err)
		}
		want = []AbortedTxn{a}
		fillKeys(t, l, 60, 4)
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
		return l
	}
	ref := setup(NewMemFS())
	mustClean(t, ref, cleanOpts(t0, ref))
	if got := ref.AbortedTransactions(0, ref.LogEndOffset()); !reflect.DeepEqual(got, want) {
		t.Fatalf("after cleaning without a crash: %v, want %v", got, want)
	}
	ref.Close()

	for stop := 0; ; stop++ {
		mem := NewMemFS()
		renames := 0
		efs := NewErrorFS(mem, func(op, path string) error {
			if op == OpRename && (strings.HasSuffix(path, cleanedFileSuffix) || strings.HasSuffix(path, swapFileSuffix)) {
				renames++
				if renames > stop {
					return ErrInjected
				}
			}
			return nil
		})
		l := setup(efs)
		_, err := l.Clean(context.Background(), cleanOpts(t0, l))
		if err == nil {
			l.Close()
			return
		}
		mem.Crash()
		l2 := mustOpen(t, mem, "/d/t-0", cfg, 0)
		if got := l2.AbortedTransactions(0, l2.LogEndOffset()); !reflect.DeepEqual(got, want) {
			t.Fatalf("crash before rename %d: aborted %v, want %v", stop+1, got, want)
		}
		if err := l2.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
