package records

import "testing"

// benchBatch builds an uncompressed batch of n records of size bytes each.
func benchBatch(n, size int) []byte {
	bl := NewBuilder(BatchHeader{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, BaseTimestamp: 1700000000000})
	v := make([]byte, size)
	for i := range v {
		v[i] = byte('A' + i%26)
	}
	for i := range n {
		bl.Add(Record{OffsetDelta: int32(i), Value: v})
	}
	return bl.Build()
}

// BenchmarkValidateProduce validates a 16 KiB batch of 16 1-KiB records as a
// produce request's batch is: header checks, CRC-32C over the batch, and a
// walk of every record.
func BenchmarkValidateProduce(b *testing.B) {
	batch := benchBatch(16, 1000)
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := ValidateProduce(batch, 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateProduceSmallRecords is ValidateProduce on a batch of 160
// 100-byte records, where the per-record walk weighs more than the CRC.
func BenchmarkValidateProduceSmallRecords(b *testing.B) {
	batch := benchBatch(160, 90)
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := ValidateProduce(batch, 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCRC32C is the checksum alone over a 1 MiB batch.
func BenchmarkCRC32C(b *testing.B) {
	batch := benchBatch(1024, 1000)
	b.SetBytes(int64(len(batch)))
	b.ResetTimer()
	for range b.N {
		ComputeCRC(batch)
	}
}

// BenchmarkDecodeLZ4 decompresses a 16 KiB lz4 batch of 16 1-KiB records and walks its
// records, as Produce checks a compressed batch: into a new buffer (Decode) and into a
// pooled one (WithDecoded).
func BenchmarkDecodeLZ4(b *testing.B) {
	bl := NewBuilder(BatchHeader{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, BaseTimestamp: 1700000000000})
	v := make([]byte, 1000)
	for i := range 16 {
		for j := range v {
			v[j] = byte(i*7 + j*j) // compresses a little, as real values do
		}
		bl.Add(Record{OffsetDelta: int32(i), Value: v})
	}
	batch, err := bl.BuildCompressed(CodecLZ4, DefaultLZ4Level)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("new", func(b *testing.B) {
		b.SetBytes(int64(len(batch)))
		b.ReportAllocs()
		for range b.N {
			d, err := Decode(batch, 1<<20)
			if err == nil {
				_, err = d.CheckStats()
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pooled", func(b *testing.B) {
		b.SetBytes(int64(len(batch)))
		b.ReportAllocs()
		for range b.N {
			err := WithDecoded(batch, 1<<20, func(d Decoded) error {
				_, err := d.CheckStats()
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
