package replica

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/records"
	"github.com/gregorhq/gregor/internal/storage"
)

// hdr is the header of a batch of n records of producer pid/epoch starting at seq.
func hdr(pid int64, epoch int16, seq int32, n int32) records.Header {
	return records.Header{ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq, LastOffsetDelta: n - 1, MaxTimestamp: 1000}
}

// appendTo checks h against s and, unless refused or a duplicate, records it at offset.
func appendTo(s *producerState, h records.Header, offset int64) (producerBatch, bool, error) {
	dup, isDup, err := s.check(h)
	if err == nil && !isDup {
		h.BaseOffset = offset
		s.update(h)
	}
	return dup, isDup, err
}

func TestProducerStateSequences(t *testing.T) {
	s := newProducerState()
	off := int64(0)
	// Seven in-order batches of 3 records: the last five are cached.
	for i := int32(0); i < 7; i++ {
		if _, dup, err := appendTo(s, hdr(1, 0, i*3, 3), off); err != nil || dup {
			t.Fatalf("batch %d: dup %v err %v", i, dup, err)
		}
		off += 3
	}
	// A retry of each of the last five is a duplicate with its original offsets.
	for i := int32(2); i < 7; i++ {
		b, dup, err := s.check(hdr(1, 0, i*3, 3))
		if err != nil || !dup || b.FirstOffset != int64(i*3) || b.LastOffset != int64(i*3+2) {
			t.Fatalf("retry of batch %d: %+v dup %v err %v", i, b, dup, err)
		}
	}
	// An older retry is out of order, as is a gap or a partial overlap.
	for _, h := range []records.Header{hdr(1, 0, 3, 3), hdr(1, 0, 22, 1), hdr(1, 0, 19, 3)} {
		if _, _, err := s.check(h); !errors.Is(err, kerr.OutOfOrderSequenceNumber) {
			t.Fatalf("seq %d: %v", h.BaseSequence, err)
		}
	}
	// The next one is accepted.
	if _, dup, err := appendTo(s, hdr(1, 0, 21, 1), off); err != nil || dup {
		t.Fatalf("next: %v %v", dup, err)
	}
	// A stale epoch is refused once the producer moved on; a new epoch must start at 0.
	if _, _, err := s.check(hdr(1, 1, 5, 1)); !errors.Is(err, kerr.OutOfOrderSequenceNumber) {
		t.Fatalf("new epoch at seq 5: %v", err)
	}
	if _, dup, err := appendTo(s, hdr(1, 1, 0, 2), 100); err != nil || dup {
		t.Fatalf("new epoch at seq 0: %v %v", dup, err)
	}
	if _, _, err := s.check(hdr(1, 0, 22, 1)); !errors.Is(err, kerr.InvalidProducerEpoch) {
		t.Fatalf("stale epoch: %v", err)
	}
	// The new epoch's batch cache replaced the old one.
	if _, dup, _ := s.check(hdr(1, 1, 0, 2)); !dup {
		t.Fatal("retry in new epoch not a duplicate")
	}
	// An unknown producer (new, or expired) may start anywhere.
	if _, dup, err := appendTo(s, hdr(2, 3, 4711, 1), 200); err != nil || dup {
		t.Fatalf("unknown producer: %v %v", dup, err)
	}
}

func TestProducerStateSequenceWraps(t *testing.T) {
	s := newProducerState()
	h := hdr(1, 0, math.MaxInt32-1, 4) // seqs MaxInt32-1, MaxInt32, 0, 1
	if got := batchLastSeq(h); got != 1 {
		t.Fatalf("last seq %d", got)
	}
	if _, _, err := appendTo(s, h, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := appendTo(s, hdr(1, 0, 2, 1), 4); err != nil {
		t.Fatalf("after wrap: %v", err)
	}
	s2 := newProducerState()
	appendTo(s2, hdr(1, 0, math.MaxInt32, 1), 0)
	if _, _, err := s2.check(hdr(1, 0, 0, 1)); err != nil {
		t.Fatalf("0 after MaxInt32: %v", err)
	}
}

func TestProducerStateExpiry(t *testing.T) {
	s := newProducerState()
	old, fresh := hdr(1, 0, 0, 1), hdr(2, 0, 0, 1)
	old.MaxTimestamp, fresh.MaxTimestamp = 1000, 5000
	appendTo(s, old, 0)
	appendTo(s, fresh, 1)
	if n := s.expire(5999, 5000); n != 0 {
		t.Fatalf("expired %d too early", n)
	}
	if n := s.expire(6000, 5000); n != 1 || s.producers[1] != nil || s.producers[2] == nil {
		t.Fatalf("expired %d: %v", n, s.producers)
	}
	// The expired producer is accepted again at any sequence.
	if _, _, err := s.check(hdr(1, 0, 9, 1)); err != nil {
		t.Fatal(err)
	}
}

func TestSnapshotRoundTripAndCorruption(t *testing.T) {
	s := newProducerState()
	for i := int32(0); i < 7; i++ {
		appendTo(s, hdr(int64(i%3), int16(i%2), 0, 1), int64(i))
	}
	appendTo(s, hdr(42, 0, 0, 2), 7)
	appendTo(s, hdr(42, 0, 2, 2), 9)
	b := encodeSnapshot(s)
	got, err := decodeSnapshot(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(encodeSnapshot(got)) != string(b) || len(got.producers) != 4 || len(got.producers[42].Batches) != 2 {
		t.Fatalf("round trip differs: %+v", got.producers)
	}
	for i := range b {
		c := append([]byte(nil), b...)
		c[i] ^= 0x40
		if _, err := decodeSnapshot(c); err == nil {
			t.Fatalf("flipped byte %d accepted", i)
		}
	}
	for n := range len(b) {
		if _, err := decodeSnapshot(b[:n]); err == nil {
			t.Fatalf("truncated to %d accepted", n)
		}
	}
}

func FuzzDecodeSnapshot(f *testing.F) {
	s := newProducerState()
	appendTo(s, hdr(1, 0, 0, 1), 0)
	f.Add(encodeSnapshot(s))
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := decodeSnapshot(b); err == nil {
			decodeSnapshot(encodeSnapshot(s))
		}
	})
}

// testManager hosts topic "t" (one partition) on MemFS, with segments of a few batches.
func testManager(t *testing.T, fs *storage.MemFS, now func() time.Time) (*Manager, *Partition) {
	t.Helper()
	return testManagerFS(t, fs, now)
}

// testManagerFS is testManager on any FS (an ErrorFS, say).
func testManagerFS(t *testing.T, fs storage.FS, now func() time.Time) (*Manager, *Partition) {
	t.Helper()
	return testManagerTopic(t, fs, now, nil)
}

// testManagerTopic is testManagerFS with the topic's config adjusted by set (when not nil).
func testManagerTopic(t *testing.T, fs storage.FS, now func() time.Time, set func(*config.Topic)) (*Manager, *Partition) {
	t.Helper()
	defaults := config.Default().TopicDefaults()
	defaults.SegmentBytes = 400
	if set != nil {
		set(&defaults)
	}
	m, err := NewManager(Config{NodeID: 1, LogDir: "/data", FS: fs, TopicDefaults: defaults, Now: now,
		ProducerIDExpiration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	id := metadata.UUID{1}
	img, err := metadata.Empty().Apply([]metadata.Record{
		metadata.TopicRecord{Name: "t", ID: id},
		metadata.PartitionRecord{TopicID: id, Partition: 0, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(img); err != nil {
		t.Fatal(err)
	}
	p, err := m.Partition("t", 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, p
}

// batch builds an idempotent producer's batch of n records.
func batch(pid int64, epoch int16, seq int32, n int, ts int64) ([]byte, records.Header) {
	b := records.NewBuilder(records.BatchHeader{ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq, BaseTimestamp: ts})
	for i := range n {
		b.Add(records.Record{OffsetDelta: int32(i), Value: []byte("0123456789")})
	}
	raw := b.Build()
	h, _ := records.ParseHeader(raw)
	return raw, h
}

func mustAppend(t *testing.T, p *Partition, pid int64, seq int32, n int) AppendResult {
	t.Helper()
	raw, h := batch(pid, 0, seq, n, time.Now().UnixMilli())
	res, err := p.Append(raw, h)
	if err != nil {
		t.Fatalf("append pid %d seq %d: %v", pid, seq, err)
	}
	return res
}

func TestPartitionDedupSurvivesCrash(t *testing.T) {
	fs := storage.NewMemFS()
	m, p := testManager(t, fs, nil)
	var offsets []int64
	for i := range 20 {
		offsets = append(offsets, mustAppend(t, p, 7, int32(i*2), 2).BaseOffset)
	}
	if p.log.NumSegments() < 3 {
		t.Fatalf("%d segments: the test wants rolls", p.log.NumSegments())
	}
	snaps, _ := listSnapshots(fs, p.log.Dir())
	if len(snaps) == 0 || len(snaps) > snapshotsToKeep {
		t.Fatalf("snapshots %v", snaps)
	}
	if err := p.log.Flush(); err != nil {
		t.Fatal(err)
	}
	leo := p.LogEndOffset()
	fs.Crash() // no clean shutdown: no snapshot at the log end
	m2, p2 := testManager(t, fs, nil)
	defer m2.Close()
	_ = m
	// Retries of the last five batches are answered with their original offsets.
	for i := 15; i < 20; i++ {
		if res := mustAppend(t, p2, 7, int32(i*2), 2); !res.Duplicate || res.BaseOffset != offsets[i] {
			t.Fatalf("retry %d after crash: %+v, want offset %d", i, res, offsets[i])
		}
	}
	if p2.LogEndOffset() != leo {
		t.Fatalf("log end %d, want %d", p2.LogEndOffset(), leo)
	}
	raw, h := batch(7, 0, 60, 1, time.Now().UnixMilli())
	if _, err := p2.Append(raw, h); !errors.Is(err, kerr.OutOfOrderSequenceNumber) {
		t.Fatalf("gap after crash: %v", err)
	}
	if res := mustAppend(t, p2, 7, 40, 1); res.Duplicate || res.BaseOffset != leo {
		t.Fatalf("next after crash: %+v", res)
	}
}

func TestPartitionCorruptSnapshotRebuildsFromLog(t *testing.T) {
	fs := storage.NewMemFS()
	m, p := testManager(t, fs, nil)
	for i := range 20 {
		mustAppend(t, p, 7, int32(i), 1)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	snaps, _ := listSnapshots(fs, p.log.Dir())
	for _, off := range snaps { // spoil every snapshot
		f, err := fs.OpenFile(p.log.Dir()+"/"+snapshotName(off), 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte{0xff, 0xff, 0xff})
		f.Close()
	}
	m2, p2 := testManager(t, fs, nil)
	defer m2.Close()
	if res := mustAppend(t, p2, 7, 19, 1); !res.Duplicate || res.BaseOffset != 19 {
		t.Fatalf("retry after rebuild: %+v", res)
	}
	if left, _ := listSnapshots(fs, p2.log.Dir()); len(left) != 0 {
		t.Fatalf("corrupt snapshots left: %v", left)
	}
}

func TestManagerExpiresProducers(t *testing.T) {
	now := time.UnixMilli(1_000_000)
	m, p := testManager(t, storage.NewMemFS(), func() time.Time { return now })
	defer m.Close()
	raw, h := batch(7, 0, 0, 1, now.UnixMilli())
	if _, err := p.Append(raw, h); err != nil {
		t.Fatal(err)
	}
	now = now.Add(59 * time.Minute)
	if n := m.ExpireProducers(); n != 0 {
		t.Fatalf("expired %d early", n)
	}
	now = now.Add(time.Minute)
	if n := m.ExpireProducers(); n != 1 {
		t.Fatalf("expired %d", n)
	}
	raw, h = batch(7, 0, 5, 1, now.UnixMilli())
	if _, err := p.Append(raw, h); err != nil {
		t.Fatalf("expired producer comes back: %v", err)
	}
}
