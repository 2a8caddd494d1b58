package replica

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/records"
	"github.com/gregorhq/gregor/internal/storage"
)

// txnBatch builds a transactional batch of n records of producer pid/epoch from seq.
func txnBatch(pid int64, epoch int16, seq int32, n int) ([]byte, records.Header) {
	b := records.NewBuilder(records.BatchHeader{ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq,
		BaseTimestamp: time.Now().UnixMilli(), Attributes: 0x10})
	for i := range n {
		b.Add(records.Record{OffsetDelta: int32(i), Value: []byte("0123456789")})
	}
	raw := b.Build()
	h, _ := records.ParseHeader(raw)
	return raw, h
}

func appendTxn(t *testing.T, p *Partition, pid int64, epoch int16, seq int32, n int) int64 {
	t.Helper()
	raw, h := txnBatch(pid, epoch, seq, n)
	res, err := p.Append(raw, h)
	if err != nil {
		t.Fatalf("transactional append pid %d seq %d: %v", pid, seq, err)
	}
	return res.BaseOffset
}

func writeMarker(t *testing.T, p *Partition, pid int64, epoch int16, commit bool) int64 {
	t.Helper()
	off, err := p.WriteTxnMarker(TxnMarker{ProducerID: pid, ProducerEpoch: epoch, Commit: commit, CoordinatorEpoch: 1})
	if err != nil {
		t.Fatalf("marker pid %d commit %v: %v", pid, commit, err)
	}
	return off
}

// readBatches reads every batch from offset through ReadIsolated.
func readBatches(t *testing.T, p *Partition, from int64, committed bool) ([]records.Header, ReadResult) {
	t.Helper()
	var hs []records.Header
	var first ReadResult
	for off, i := from, 0; ; i++ {
		res, err := p.ReadIsolated(off, 1<<20, true, committed)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = res
		}
		if res.Region.Size == 0 {
			return hs, first
		}
		b, err := res.Region.ReadBytes()
		if err != nil {
			t.Fatal(err)
		}
		for len(b) > 0 {
			h, _ := records.ParseHeader(b)
			hs = append(hs, h)
			b = b[h.Size():]
			off = h.NextOffset()
		}
	}
}

func TestTxnLastStableOffsetAndAbortedIndex(t *testing.T) {
	fs := storage.NewMemFS()
	m, p := testManager(t, fs, nil)
	var heard []string
	m.OnTxnMarker("t", func(part int32, mk TxnMarker, off int64) {
		heard = append(heard, map[bool]string{true: "commit", false: "abort"}[mk.Commit])
	})
	mustAppend(t, p, 9, 0, 2)         // offsets 0-1: plain idempotent producer
	a0 := appendTxn(t, p, 1, 0, 0, 3) // 2-4: producer 1's transaction
	appendTxn(t, p, 2, 0, 0, 2)       // 5-6: producer 2's
	appendTxn(t, p, 1, 0, 3, 1)       // 7
	if a0 != 2 {
		t.Fatalf("first transactional offset %d", a0)
	}
	if lso, hw := p.LastStableOffset(), p.HighWatermark(); lso != 2 || hw != 8 {
		t.Fatalf("LSO %d HW %d, want 2 and 8", lso, hw)
	}
	// read_committed stops at the LSO, read_uncommitted at the HW.
	if hs, res := readBatches(t, p, 0, true); len(hs) != 1 || res.LastStableOffset != 2 {
		t.Fatalf("read_committed got %d batches, LSO %d", len(hs), res.LastStableOffset)
	}
	if hs, res := readBatches(t, p, 0, false); len(hs) != 4 || res.LastStableOffset != 2 {
		t.Fatalf("read_uncommitted got %d batches, LSO %d", len(hs), res.LastStableOffset)
	}

	abortAt := writeMarker(t, p, 1, 0, false) // 8: abort producer 1's
	if lso := p.LastStableOffset(); lso != 5 {
		t.Fatalf("LSO %d after abort, want 5 (producer 2's transaction)", lso)
	}
	commitAt := writeMarker(t, p, 2, 0, true) // 9: commit producer 2's
	if lso, hw := p.LastStableOffset(), p.HighWatermark(); lso != 10 || hw != 10 {
		t.Fatalf("LSO %d HW %d after commit, want 10", lso, hw)
	}
	if abortAt != 8 || commitAt != 9 {
		t.Fatalf("markers at %d, %d", abortAt, commitAt)
	}
	if !reflect.DeepEqual(heard, []string{"abort", "commit"}) {
		t.Fatalf("listeners heard %v", heard)
	}
	want := []storage.AbortedTxn{{ProducerID: 1, FirstOffset: 2, LastOffset: 8, LastStableOffset: 5}}
	hs, res := readBatches(t, p, 0, true)
	if len(hs) != 6 || !reflect.DeepEqual(res.AbortedTransactions, want) {
		t.Fatalf("read_committed: %d batches, aborted %v, want 6 and %v", len(hs), res.AbortedTransactions, want)
	}
	if !hs[4].Control() || !hs[5].Control() {
		t.Fatal("markers not in the log")
	}
	if got := p.AbortedTransactions(9, 10); got != nil {
		t.Fatalf("aborted transactions after the abort: %v", got)
	}

	// A producer's transaction survives a crash (log replay, no snapshot at the end) and a
	// clean restart (snapshot), and so does the index.
	appendTxn(t, p, 3, 0, 0, 1) // 10, open
	if err := p.log.Flush(); err != nil {
		t.Fatal(err)
	}
	fs.Crash()
	m2, p2 := testManager(t, fs, nil)
	if lso := p2.LastStableOffset(); lso != 10 {
		t.Fatalf("LSO %d after crash, want 10", lso)
	}
	if got := p2.AbortedTransactions(0, 11); !reflect.DeepEqual(got, want) {
		t.Fatalf("aborted after crash %v", got)
	}
	if err := m2.Close(); err != nil {
		t.Fatal(err)
	}
	m3, p3 := testManager(t, fs, nil)
	defer m3.Close()
	if lso := p3.LastStableOffset(); lso != 10 {
		t.Fatalf("LSO %d after restart, want 10", lso)
	}
	writeMarker(t, p3, 3, 0, true)
	if lso := p3.LastStableOffset(); lso != 12 {
		t.Fatalf("LSO %d after the last commit, want 12", lso)
	}
	_ = m
}

func TestTxnMarkerFencing(t *testing.T) {
	_, p := testManager(t, storage.NewMemFS(), nil)
	appendTxn(t, p, 1, 5, 0, 1)
	// A marker of an older epoch is fenced; a newer epoch bumps the producer.
	if _, err := p.WriteTxnMarker(TxnMarker{ProducerID: 1, ProducerEpoch: 4, CoordinatorEpoch: 1}); !errors.Is(err, kerr.InvalidProducerEpoch) {
		t.Fatalf("stale marker: %v", err)
	}
	if p.LastStableOffset() != 0 {
		t.Fatal("a refused marker ended the transaction")
	}
	writeMarkerEpoch := func(epoch int16, coord int32) error {
		_, err := p.WriteTxnMarker(TxnMarker{ProducerID: 1, ProducerEpoch: epoch, CoordinatorEpoch: coord})
		return err
	}
	if err := writeMarkerEpoch(6, 3); err != nil {
		t.Fatal(err)
	}
	if p.LastStableOffset() != p.HighWatermark() {
		t.Fatal("abort with a bumped epoch left the transaction open")
	}
	// The producer's data at the old epoch is fenced now, as is an older coordinator.
	raw, h := txnBatch(1, 5, 1, 1)
	if _, err := p.Append(raw, h); !errors.Is(err, kerr.InvalidProducerEpoch) {
		t.Fatalf("append at the fenced epoch: %v", err)
	}
	if err := writeMarkerEpoch(6, 2); !errors.Is(err, kerr.TransactionCoordinatorFenced) {
		t.Fatalf("marker of an older coordinator: %v", err)
	}
	// A marker for a producer without a transaction is written, harmless.
	if err := writeMarkerEpoch(6, 3); err != nil {
		t.Fatal(err)
	}
	// A non-transactional write inside the producer's own transaction is refused.
	appendTxn(t, p, 1, 6, 0, 1)
	raw, h = batch(1, 6, 1, 1, time.Now().UnixMilli())
	if _, err := p.Append(raw, h); !errors.Is(err, kerr.InvalidTxnState) {
		t.Fatalf("idempotent write inside a transaction: %v", err)
	}
}

func TestAppendFromCoordinator(t *testing.T) {
	_, p := testManager(t, storage.NewMemFS(), nil)
	coordBatch := func(epoch int16) ([]byte, records.Header) {
		b := records.NewBuilder(records.BatchHeader{ProducerID: 4, ProducerEpoch: epoch, BaseSequence: -1,
			BaseTimestamp: time.Now().UnixMilli(), Attributes: 0x10})
		b.Add(records.Record{Key: []byte("k"), Value: []byte("v")})
		raw := b.Build()
		h, _ := records.ParseHeader(raw)
		return raw, h
	}
	for range 2 { // no sequence is checked
		raw, h := coordBatch(2)
		if _, err := p.AppendFromCoordinator(raw, h); err != nil {
			t.Fatal(err)
		}
	}
	if lso := p.LastStableOffset(); lso != 0 {
		t.Fatalf("LSO %d, want 0: the coordinator's write opened producer 4's transaction", lso)
	}
	raw, h := coordBatch(1)
	if _, err := p.AppendFromCoordinator(raw, h); !errors.Is(err, kerr.InvalidProducerEpoch) {
		t.Fatalf("older epoch: %v", err)
	}
	writeMarker(t, p, 4, 2, true)
	if lso := p.LastStableOffset(); lso != 3 {
		t.Fatalf("LSO %d after commit, want 3", lso)
	}
	ps := p.ActiveProducers()
	if len(ps) != 1 || ps[0].ProducerID != 4 || ps[0].CoordinatorEpoch != 1 || ps[0].CurrentTxnStartOffset != -1 || ps[0].LastSequence != -1 {
		t.Fatalf("producers %+v", ps)
	}
}

func TestSnapshotKeepsOpenTransactions(t *testing.T) {
	s := newProducerState()
	h := hdr(1, 0, 0, 2)
	h.Attributes = 0x10
	appendTo(s, h, 10)
	h2 := hdr(2, 0, 0, 1)
	h2.Attributes = 0x10
	appendTo(s, h2, 5)
	got, err := decodeSnapshot(encodeSnapshot(s))
	if err != nil {
		t.Fatal(err)
	}
	if got.firstUnstableOffset() != 5 || len(got.ongoing) != 2 || got.producers[1].CurrentTxnFirstOffset != 10 {
		t.Fatalf("decoded ongoing %v", got.ongoing)
	}
	// A version 1 snapshot is not read.
	old := encodeSnapshot(newProducerState())
	old[1] = 1
	if _, err := decodeSnapshot(old); err == nil {
		t.Fatal("version 1 snapshot accepted")
	}
}

// TestAbortedIndexRebuiltFromLog: an abort marker whose index entry is missing (a crash came
// between the two writes) gets it back when the log is replayed at the next start.
func TestAbortedIndexRebuiltFromLog(t *testing.T) {
	fs := storage.NewMemFS()
	_, p := testManager(t, fs, nil)
	mustAppend(t, p, 9, 0, 1)                 // 0
	appendTxn(t, p, 1, 0, 0, 2)               // 1-2
	appendTxn(t, p, 2, 0, 0, 1)               // 3
	abortAt := writeMarker(t, p, 1, 0, false) // 4
	want := []storage.AbortedTxn{{ProducerID: 1, FirstOffset: 1, LastOffset: abortAt, LastStableOffset: 3}}
	if got := p.AbortedTransactions(0, 10); !reflect.DeepEqual(got, want) {
		t.Fatalf("aborted %v, want %v", got, want)
	}
	if err := p.log.Flush(); err != nil {
		t.Fatal(err)
	}
	dir := p.log.Dir()
	fs.Crash()
	entries, err := fs.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	removedIndex := false
	for _, e := range entries {
		if name := e.Name(); filepath.Ext(name) == storage.TxnIndexFileSuffix || filepath.Ext(name) == snapshotSuffix {
			if err := fs.Remove(filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
			removedIndex = removedIndex || filepath.Ext(name) == storage.TxnIndexFileSuffix
		}
	}
	if !removedIndex {
		t.Fatal("no .txnindex file to remove")
	}
	m2, p2 := testManager(t, fs, nil)
	defer m2.Close()
	if got := p2.AbortedTransactions(0, 10); !reflect.DeepEqual(got, want) {
		t.Fatalf("aborted after rebuild %v, want %v", got, want)
	}
	if lso := p2.LastStableOffset(); lso != 3 {
		t.Fatalf("LSO %d after rebuild, want 3 (producer 2's transaction)", lso)
	}
}

// An abort marker whose aborted-transaction index entry cannot be written is a storage
// error: the log takes no more writes, the transaction stays open (the LSO stays below its
// records, which read_committed never returns), and a restart records the entry from the
// marker in the log.
func TestAbortedIndexWriteFailure(t *testing.T) {
	mem := storage.NewMemFS()
	var failIndex atomic.Bool
	injected := errors.New("injected I/O error")
	fs := storage.NewErrorFS(mem, func(op, path string) error {
		if failIndex.Load() && op == storage.OpWrite && strings.HasSuffix(path, storage.TxnIndexFileSuffix) {
			return injected
		}
		return nil
	})
	fs.SetPartialWrites(true) // the failed write leaves a torn entry behind
	m, p := testManagerFS(t, fs, nil)
	mustAppend(t, p, 9, 0, 1)   // 0
	appendTxn(t, p, 1, 0, 0, 2) // 1-2
	failIndex.Store(true)
	_, err := p.WriteTxnMarker(TxnMarker{ProducerID: 1, ProducerEpoch: 0, CoordinatorEpoch: 1})
	if !errors.Is(err, kerr.KafkaStorageError) {
		t.Fatalf("abort marker with a failing index: %v, want KAFKA_STORAGE_ERROR", err)
	}
	if lso := p.LastStableOffset(); lso != 1 {
		t.Fatalf("LSO %d after the failed abort, want 1 (the transaction's first offset)", lso)
	}
	if hs, _ := readBatches(t, p, 0, true); len(hs) != 1 {
		t.Fatalf("read_committed returned %d batches, want only the one below the transaction", len(hs))
	}
	// The coordinator's retry is refused too: the log has failed.
	if _, err := p.WriteTxnMarker(TxnMarker{ProducerID: 1, ProducerEpoch: 0, CoordinatorEpoch: 1}); !errors.Is(err, kerr.KafkaStorageError) {
		t.Fatalf("retried marker: %v", err)
	}
	failIndex.Store(false)
	_ = m.Close() // the failed log may report its failure here

	m2, p2 := testManagerFS(t, fs, nil)
	defer m2.Close()
	want := []storage.AbortedTxn{{ProducerID: 1, FirstOffset: 1, LastOffset: 3, LastStableOffset: 4}}
	if got := p2.AbortedTransactions(0, 10); !reflect.DeepEqual(got, want) {
		t.Fatalf("aborted after restart %v, want %v", got, want)
	}
	if lso := p2.LastStableOffset(); lso != 4 {
		t.Fatalf("LSO %d after restart, want 4", lso)
	}
	if hs, res := readBatches(t, p2, 0, true); len(hs) != 3 || !reflect.DeepEqual(res.AbortedTransactions, want) {
		t.Fatalf("read_committed after restart: %d batches, aborted %v", len(hs), res.AbortedTransactions)
	}
}
