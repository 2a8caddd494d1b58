package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gregorhq/gregor/internal/records"
)

func TestTxnIndexAppendQueryReopen(t *testing.T) {
	fs := NewMemFS()
	dir := "/d/t-0"
	cfg := LogConfig{SegmentBytes: 500, IndexIntervalBytes: 1}
	l := mustOpen(t, fs, dir, cfg, 0)
	// Offsets 0..29 in 1-record batches of ~100 bytes: several segments.
	for i := 0; i < 30; i++ {
		appendBatch(t, l, 1, 40, int64(i))
	}
	a1 := AbortedTxn{ProducerID: 1, FirstOffset: 2, LastOffset: 5, LastStableOffset: 6}
	a2 := AbortedTxn{ProducerID: 2, FirstOffset: 4, LastOffset: 20, LastStableOffset: 21}
	a3 := AbortedTxn{ProducerID: 3, FirstOffset: 22, LastOffset: 29, LastStableOffset: 30}
	for _, a := range []AbortedTxn{a1, a2, a3} {
		if err := l.AppendAbortedTxn(a); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.AppendAbortedTxn(AbortedTxn{LastOffset: 30}); err == nil {
		t.Fatal("an entry for a marker past the log end was accepted")
	}
	check := func(l *Log) {
		t.Helper()
		for _, c := range []struct {
			from, upTo int64
			want       []AbortedTxn
		}{
			{0, 30, []AbortedTxn{a1, a2, a3}},
			{0, 3, []AbortedTxn{a1}},
			{6, 10, []AbortedTxn{a2}},
			{6, 30, []AbortedTxn{a2, a3}},
			{21, 22, nil},
			{21, 23, []AbortedTxn{a3}},
		} {
			if got := l.AbortedTransactions(c.from, c.upTo); !reflect.DeepEqual(got, c.want) {
				t.Errorf("AbortedTransactions(%d, %d) = %v, want %v", c.from, c.upTo, got, c.want)
			}
		}
		if got := l.LastAbortedOffset(); got != 29 {
			t.Errorf("LastAbortedOffset = %d, want 29", got)
		}
	}
	check(l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, fs, dir, cfg, 0) // recovery point 0: every segment is scanned
	check(l)
	l.Close()
}

func TestTxnIndexTrimmedWithTruncatedLog(t *testing.T) {
	fs := NewMemFS()
	dir := "/d/t-0"
	l := mustOpen(t, fs, dir, LogConfig{SegmentBytes: 1 << 20}, 0)
	for i := 0; i < 5; i++ {
		appendBatch(t, l, 1, 40, int64(i))
	}
	keep := AbortedTxn{ProducerID: 1, FirstOffset: 0, LastOffset: 2, LastStableOffset: 3}
	gone := AbortedTxn{ProducerID: 2, FirstOffset: 1, LastOffset: 4, LastStableOffset: 5}
	for _, a := range []AbortedTxn{keep, gone} {
		if err := l.AppendAbortedTxn(a); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	// Tear the last batch (offset 4), and a torn entry at the end of the index.
	logName := filepath.Join(dir, segmentFileName(0, LogFileSuffix))
	data := readFile(t, fs, logName)
	writeFile(t, fs, logName, data[:len(data)-10])
	txnName := filepath.Join(dir, segmentFileName(0, TxnIndexFileSuffix))
	writeFile(t, fs, txnName, append(readFile(t, fs, txnName), 0, 0, 1))

	l = mustOpen(t, fs, dir, LogConfig{SegmentBytes: 1 << 20}, 0)
	defer l.Close()
	if leo := l.LogEndOffset(); leo != 4 {
		t.Fatalf("log end offset %d after recovery, want 4", leo)
	}
	if got := l.AbortedTransactions(0, 10); !reflect.DeepEqual(got, []AbortedTxn{keep}) {
		t.Fatalf("entries after recovery %v, want %v", got, []AbortedTxn{keep})
	}
	if got := readFile(t, fs, txnName); len(got) != abortedTxnSize {
		t.Fatalf(".txnindex holds %d bytes after recovery, want one entry", len(got))
	}
}

func TestTxnIndexDeletedWithSegment(t *testing.T) {
	fs := NewMemFS()
	dir := "/d/t-0"
	l := mustOpen(t, fs, dir, LogConfig{SegmentBytes: 300, IndexIntervalBytes: 1}, 0)
	defer l.Close()
	for i := 0; i < 10; i++ {
		appendBatch(t, l, 1, 40, int64(i))
	}
	if err := l.AppendAbortedTxn(AbortedTxn{ProducerID: 1, FirstOffset: 0, LastOffset: 1, LastStableOffset: 2}); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, segmentFileName(0, TxnIndexFileSuffix))
	if _, err := fs.Stat(name); err != nil {
		t.Fatal(err)
	}
	if err := l.DeleteRecordsBefore(8); err != nil {
		t.Fatal(err)
	}
	if _, err := l.DeleteOldSegments(10, time.Now(), false); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat(name); !os.IsNotExist(err) {
		t.Fatalf("the .txnindex of a deleted segment is still there: %v", err)
	}
	if got := l.AbortedTransactions(0, 10); got != nil {
		t.Fatalf("entries of a deleted segment still returned: %v", got)
	}
}

func FuzzReadTxnIndex(f *testing.F) {
	f.Add(appendAbortedTxn(nil, AbortedTxn{ProducerID: 1, FirstOffset: 2, LastOffset: 3, LastStableOffset: 4}))
	f.Add([]byte{0, 1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := ReadTxnIndex(b)
		if err == nil && len(entries)*abortedTxnSize != len(b) {
			t.Fatalf("%d entries from %d bytes without error", len(entries), len(b))
		}
		var again []byte
		for _, a := range entries {
			again = appendAbortedTxn(again, a)
		}
		if string(again) != string(b[:len(again)]) {
			t.Fatal("entries do not re-encode to their bytes")
		}
	})
}

// TestCleanDropsAbortedTransactions: the cleaner removes the records of an aborted
// transaction, which shadow no committed record of the same key, keeps the markers, and
// carries the aborted transaction index over to the cleaned segment.
func TestCleanDropsAbortedTransactions(t *testing.T) {
	fs := NewMemFS()
	l := mustOpen(t, fs, "/d/t-0", LogConfig{SegmentBytes: 400, IndexIntervalBytes: 1}, 0)
	defer l.Close()
	ts := t0.UnixMilli()
	appendKVs(t, l, ts, -1, rec("a", "committed"), rec("b", "b0")) // 0-1
	txn := func(pid int64, kvs ...kv) int64 {
		b := records.NewBuilder(records.BatchHeader{BaseTimestamp: ts, ProducerID: pid, ProducerEpoch: 0, BaseSequence: 0, Attributes: 0x10})
		for i, r := range kvs {
			b.Add(records.Record{OffsetDelta: int32(i), Key: r.key, Value: r.value})
		}
		return appendBuilt(t, l, b.Build())
	}
	first := txn(5, rec("a", "aborted"), rec("c", "aborted")) // 2-3
	txn(6, rec("b", "b-committed"))                           // 4
	marker := appendBuilt(t, l, records.BuildControlBatch(0, ts, 5, 0, false, 0))
	appendBuilt(t, l, records.BuildControlBatch(0, ts, 6, 0, true, 0))
	want := AbortedTxn{ProducerID: 5, FirstOffset: first, LastOffset: marker, LastStableOffset: marker + 1}
	if err := l.AppendAbortedTxn(want); err != nil {
		t.Fatal(err)
	}
	for i := range 10 { // roll past everything above
		appendKVs(t, l, ts, -1, rec(fmt.Sprintf("f%d", i), strings.Repeat("x", 100)))
	}
	opts := cleanOpts(t0, l)
	opts.Force = true
	mustClean(t, l, opts)

	got := map[string]string{}
	var controls int
	for _, r := range readRecords(t, l) {
		if len(r.key) == 4 && r.key[0] == 0 && r.key[1] == 0 {
			controls++
			continue
		}
		if r.value == "aborted" {
			t.Fatalf("record of the aborted transaction kept: %v", r)
		}
		got[r.key] = r.value
	}
	if got["a"] != "committed" || got["b"] != "b-committed" || controls != 2 {
		t.Fatalf("after cleaning: a=%q b=%q, %d markers", got["a"], got["b"], controls)
	}
	if a := l.AbortedTransactions(0, l.LogEndOffset()); !reflect.DeepEqual(a, []AbortedTxn{want}) {
		t.Fatalf("aborted index after cleaning %v, want %v", a, []AbortedTxn{want})
	}
}
