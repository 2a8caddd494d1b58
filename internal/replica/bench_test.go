package replica

import (
	"testing"
	"time"

	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/records"
	"github.com/gregorhq/gregor/internal/storage"
)

// benchPartition returns partition t-0 of a one-node manager on real files,
// filled with mib MiB of 16 KiB batches.
func benchPartition(b *testing.B, mib int) *Partition {
	b.Helper()
	defaults := config.Default().TopicDefaults()
	defaults.SegmentBytes = 64 << 20
	m, err := NewManager(Config{NodeID: 1, LogDir: b.TempDir(), FS: storage.OSFS(), TopicDefaults: defaults, Now: time.Now})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	id := metadata.UUID{1}
	img, err := metadata.Empty().Apply([]metadata.Record{
		metadata.TopicRecord{Name: "t", ID: id},
		metadata.PartitionRecord{TopicID: id, Partition: 0, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1},
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Apply(img); err != nil {
		b.Fatal(err)
	}
	p, err := m.Partition("t", 0)
	if err != nil {
		b.Fatal(err)
	}
	bl := records.NewBuilder(records.BatchHeader{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, BaseTimestamp: time.Now().UnixMilli()})
	v := make([]byte, 1000)
	for i := range 16 {
		bl.Add(records.Record{OffsetDelta: int32(i), Value: v})
	}
	raw := bl.Build()
	for range mib * 64 {
		batch := append([]byte(nil), raw...) // Append rewrites the base offset in place
		h, err := records.ParseHeader(batch)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Append(batch, h); err != nil {
			b.Fatal(err)
		}
	}
	return p
}

// BenchmarkPartitionRead is the fetch read path without the network: find the
// region of up to 1 MiB at an offset below the high watermark, then copy it
// out of the file (the page cache), as a fetch response's writer does.
func BenchmarkPartitionRead(b *testing.B) {
	p := benchPartition(b, 96)
	hw := p.HighWatermark()
	if hw == 0 {
		b.Fatal("high watermark did not advance")
	}
	buf := make([]byte, 2<<20)
	b.SetBytes(1 << 20)
	b.ResetTimer()
	for i := range b.N {
		res, err := p.Read(int64(i*7919*16)%hw, 1<<20, true)
		if err != nil {
			b.Fatal(err)
		}
		r := res.Region
		if _, err := r.File.ReadAt(buf[:r.Size], r.Pos); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPartitionReadLookup is Partition.Read alone: the offset index
// lookup and the scan to the batch, with no bytes copied.
func BenchmarkPartitionReadLookup(b *testing.B) {
	p := benchPartition(b, 32)
	hw := p.HighWatermark()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := p.Read(int64(i*7919)%hw, 1<<20, true); err != nil {
			b.Fatal(err)
		}
	}
}
