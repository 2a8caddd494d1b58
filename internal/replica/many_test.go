package replica

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/records"
	"github.com/gregorhq/gregor/internal/storage"
)

// manyPartitionsImage is an image of topics topics of n partitions each, all led by node 1.
func manyPartitionsImage(tb testing.TB, topics, n int) *metadata.Image {
	tb.Helper()
	return manyPartitionsImageAt(tb, topics, n, 0)
}

// manyPartitionsImageAt is manyPartitionsImage with every partition at leaderEpoch.
func manyPartitionsImageAt(tb testing.TB, topics, n int, leaderEpoch int32) *metadata.Image {
	tb.Helper()
	var recs []metadata.Record
	for t := range topics {
		id := metadata.UUID{byte(t + 1), 0xaa}
		recs = append(recs, metadata.TopicRecord{Name: fmt.Sprintf("many%d", t), ID: id})
		for p := range n {
			recs = append(recs, metadata.PartitionRecord{TopicID: id, Partition: int32(p), Replicas: []int32{1}, ISR: []int32{1}, Leader: 1,
				LeaderEpoch: leaderEpoch})
		}
	}
	img, err := metadata.Empty().Apply(recs)
	if err != nil {
		tb.Fatal(err)
	}
	return img
}

// openManyManager starts a one-node manager on dir (real files) and applies img.
func openManyManager(tb testing.TB, dir string, img *metadata.Image) *Manager {
	tb.Helper()
	m, err := NewManager(Config{NodeID: 1, LogDir: dir, FS: storage.OSFS(), TopicDefaults: config.Default().TopicDefaults(), Now: time.Now,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	if err := m.Apply(img); err != nil {
		m.Close()
		tb.Fatal(err)
	}
	return m
}

func manyBatch(tb testing.TB, value string) ([]byte, records.Header) {
	tb.Helper()
	bl := records.NewBuilder(records.BatchHeader{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, BaseTimestamp: time.Now().UnixMilli()})
	bl.Add(records.Record{Value: []byte(value)})
	batch := bl.Build()
	h, err := records.ParseHeader(batch)
	if err != nil {
		tb.Fatal(err)
	}
	return batch, h
}

// A broker hosting many partitions opens them all when it is created and again after a clean
// restart, and every one of them keeps what was written to it.
func TestManyPartitionsRestart(t *testing.T) {
	const topics, n = 2, 300
	dir := t.TempDir()
	img := manyPartitionsImage(t, topics, n)
	m := openManyManager(t, dir, img)
	if got := len(m.Partitions()); got != topics*n {
		t.Fatalf("hosting %d partitions, want %d", got, topics*n)
	}
	// Every third partition gets a record; the rest stay empty.
	for tn := range topics {
		for pn := 0; pn < n; pn += 3 {
			p, err := m.Partition(fmt.Sprintf("many%d", tn), int32(pn))
			if err != nil {
				t.Fatal(err)
			}
			batch, h := manyBatch(t, fmt.Sprintf("v-%d-%d", tn, pn))
			if _, err := p.Append(batch, h); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	m = openManyManager(t, dir, img)
	defer m.Close()
	for tn := range topics {
		for pn := range n {
			p, err := m.Partition(fmt.Sprintf("many%d", tn), int32(pn))
			if err != nil {
				t.Fatalf("after restart: %v", err)
			}
			want := int64(0)
			if pn%3 == 0 {
				want = 1
			}
			if leo, hw := p.LogEndOffset(), p.HighWatermark(); leo != want || hw != want {
				t.Fatalf("many%d-%d after restart: log end %d, high watermark %d, want %d", tn, pn, leo, hw, want)
			}
			if want == 0 {
				continue
			}
			res, err := p.Read(0, 1<<20, true)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := res.Region.ReadBytes()
			if err != nil {
				t.Fatal(err)
			}
			if got := string(raw); !strings.Contains(got, fmt.Sprintf("v-%d-%d", tn, pn)) {
				t.Fatalf("many%d-%d after restart: read %q", tn, pn, got)
			}
			// A restarted leader takes appends where the log ended.
			batch, h := manyBatch(t, "after")
			if res, err := p.Append(batch, h); err != nil || res.BaseOffset != 1 {
				t.Fatalf("many%d-%d append after restart: %+v, %v", tn, pn, res, err)
			}
		}
	}
}

// BenchmarkManyPartitions creates 1,000 empty partitions (one Apply, as a CreateTopics of
// 1,000 partitions does) and restarts the manager over them, once with the same leader
// epochs and once with a new one for every partition (as when a restarted broker registers
// again and the controller elects it); it reports the time of each per partition, and of the
// clean shutdown after the new epochs (which writes their leader epoch checkpoints).
func BenchmarkManyPartitions(b *testing.B) {
	const n = 1000
	img := manyPartitionsImage(b, 1, n)
	next := manyPartitionsImageAt(b, 1, n, 1)
	var create, restart, restartNewEpoch, closeNewEpoch time.Duration
	for range b.N {
		dir := b.TempDir()
		t0 := time.Now()
		m := openManyManager(b, dir, img)
		create += time.Since(t0)
		if err := m.Close(); err != nil {
			b.Fatal(err)
		}
		t0 = time.Now()
		m = openManyManager(b, dir, img)
		restart += time.Since(t0)
		if err := m.Close(); err != nil {
			b.Fatal(err)
		}
		t0 = time.Now()
		m = openManyManager(b, dir, next)
		restartNewEpoch += time.Since(t0)
		t0 = time.Now()
		if err := m.Close(); err != nil {
			b.Fatal(err)
		}
		closeNewEpoch += time.Since(t0)
	}
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N*n) }
	b.ReportMetric(per(create), "create-µs/partition")
	b.ReportMetric(per(restart), "restart-µs/partition")
	b.ReportMetric(per(restartNewEpoch), "restart-new-epoch-µs/partition")
	b.ReportMetric(per(closeNewEpoch), "close-new-epoch-µs/partition")
}
