package records

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var allCodecs = []Codec{CodecNone, CodecGzip, CodecSnappy, CodecLZ4, CodecZstd}

// sampleRecords is compressible data with some variety, n bytes long.
func sampleRecords(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"id":%d,"name":"user-%d","tags":["a","b"]}`, i, i*7919%1000)
	}
	return b.Bytes()[:n]
}

func TestCompressRoundTrip(t *testing.T) {
	levels := map[Codec][]int{
		CodecGzip: {DefaultGzipLevel, 1, 9},
		CodecLZ4:  {1, 2, DefaultLZ4Level, 17},
		CodecZstd: {-5, 1, DefaultZstdLevel, 22},
	}
	for _, codec := range allCodecs {
		lv := levels[codec]
		if lv == nil {
			lv = []int{0}
		}
		for _, level := range lv {
			for _, size := range []int{0, 1, 100, 100 << 10} {
				t.Run(fmt.Sprintf("%s/level%d/%d", codecName(codec), level, size), func(t *testing.T) {
					in := sampleRecords(size)
					c, err := Compress(codec, level, in)
					if err != nil {
						t.Fatal(err)
					}
					out, err := Decompress(codec, c, size)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(out, in) {
						t.Fatalf("round trip changed %d bytes into %d", len(in), len(out))
					}
					if size > 0 {
						if _, err := Decompress(codec, c, size-1); !errors.Is(err, kerr.CorruptMessage) {
							t.Fatalf("one byte over the limit: %v", err)
						}
					}
				})
			}
		}
	}
}

// xerialStream frames the blocks as snappy-java's SnappyOutputStream does.
func xerialStream(blocks ...[]byte) []byte {
	out := append([]byte{}, xerialMagic...)
	out = binary.BigEndian.AppendUint32(out, 1)
	out = binary.BigEndian.AppendUint32(out, 1)
	for _, b := range blocks {
		enc := snappy.Encode(nil, b)
		out = binary.BigEndian.AppendUint32(out, uint32(len(enc)))
		out = append(out, enc...)
	}
	return out
}

func TestDecompressSnappyForms(t *testing.T) {
	a, b := sampleRecords(5000), []byte("tail of the stream")
	want := append(bytes.Clone(a), b...)
	for _, tc := range []struct {
		name string
		src  []byte
		want []byte
		err  bool
	}{
		{"raw block", snappy.Encode(nil, want), want, false},
		{"xerial two blocks", xerialStream(a, b), want, false},
		{"xerial no blocks", xerialStream(), []byte{}, false},
		{"xerial header only half", xerialMagic, nil, true},
		{"xerial block length past end", append(xerialStream(a), 0, 0, 1, 0), nil, true},
		{"xerial block length truncated", append(xerialStream(a), 0, 0), nil, true},
		{"garbage", []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decompress(CodecSnappy, tc.src, 1<<20)
			if tc.err {
				if !errors.Is(err, kerr.CorruptMessage) {
					t.Fatalf("got %v, want CORRUPT_MESSAGE", err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tc.want) {
				t.Fatalf("got %d bytes, %v", len(got), err)
			}
		})
	}
	// A limit counts across xerial blocks.
	if _, err := Decompress(CodecSnappy, xerialStream(a, b), len(want)-1); !errors.Is(err, kerr.CorruptMessage) {
		t.Fatalf("xerial over the limit: %v", err)
	}
}

// bomb returns a stream that inflates to total bytes of zeros: copies of one small member
// (gzip) or frame (zstd), which both formats read back to back as one stream.
func bomb(t *testing.T, codec Codec, total int) []byte {
	const unit = 1 << 20
	var one []byte
	switch codec {
	case CodecGzip:
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		zw.Write(make([]byte, unit))
		zw.Close()
		one = b.Bytes()
	case CodecZstd:
		e, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression))
		one = e.EncodeAll(make([]byte, unit), nil)
	default:
		t.Fatalf("no bomb for %v", codec)
	}
	return bytes.Repeat(one, total/unit)
}

// TestDecompressBomb feeds streams that inflate to 1 GiB (or claim to) and checks that they
// are refused with CORRUPT_MESSAGE having allocated a small multiple of the limit at most.
func TestDecompressBomb(t *testing.T) {
	const limit = 4 << 20
	snappyClaim := binary.AppendUvarint(nil, 1<<30) // a raw block claiming 1 GiB
	snappyClaim = append(snappyClaim, 0, 0)
	for _, tc := range []struct {
		name  string
		codec Codec
		src   []byte
	}{
		{"gzip", CodecGzip, bomb(t, CodecGzip, 1<<30)},
		{"zstd", CodecZstd, bomb(t, CodecZstd, 1<<30)},
		{"snappy claimed length", CodecSnappy, snappyClaim},
		{"xerial claimed length", CodecSnappy, append(xerialStream(), append(binary.BigEndian.AppendUint32(nil, uint32(len(snappyClaim))), snappyClaim...)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := Decompress(tc.codec, tc.src, limit)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, kerr.CorruptMessage) {
				t.Fatalf("got %v, want CORRUPT_MESSAGE", err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16*limit {
				t.Fatalf("allocated %d bytes for a %d-byte limit (%d-byte input)", alloc, limit, len(tc.src))
			}
		})
	}
}

func TestDecompressLimitRule(t *testing.T) {
	for _, tc := range []struct{ maxMessageBytes, want int }{
		{0, 64 << 20},
		{100, 64 << 20},
		{1048588, 1048588 * 64},
		{8 << 20, 512 << 20},
		{1 << 30, MaxDecompressedSize},
		{1<<31 - 1, MaxDecompressedSize},
	} {
		if got := DecompressLimit(tc.maxMessageBytes); got != tc.want {
			t.Errorf("DecompressLimit(%d) = %d, want %d", tc.maxMessageBytes, got, tc.want)
		}
	}
}

func TestParseCodec(t *testing.T) {
	for name, want := range map[string]Codec{"uncompressed": CodecNone, "none": CodecNone, "gzip": CodecGzip,
		"snappy": CodecSnappy, "lz4": CodecLZ4, "zstd": CodecZstd} {
		if got, ok := ParseCodec(name); !ok || got != want {
			t.Errorf("%s: %v %v", name, got, ok)
		}
	}
	if _, ok := ParseCodec("producer"); ok {
		t.Error("producer names a codec")
	}
}

// TestRecompress rebuilds a producer's batch with every codec and checks that it stays the
// same batch: header fields, records, a good CRC, and franz-go reads it.
func TestRecompress(t *testing.T) {
	src := goodBatch(5, func(rb *kmsg.RecordBatch) {
		rb.ProducerID, rb.ProducerEpoch, rb.FirstSequence = 42, 3, 17
		rb.Attributes = attrTransactional
	})
	var want []Record
	if err := ForEachRecord(src, func(r Record) bool { want = append(want, r); return true }); err != nil {
		t.Fatal(err)
	}
	for _, from := range allCodecs {
		d0, _ := Decode(src, 1<<20)
		mid, _, err := d0.Recompress(from, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, to := range allCodecs {
			t.Run(codecName(from)+"-to-"+codecName(to), func(t *testing.T) {
				d, err := Decode(mid, 1<<20)
				if err != nil {
					t.Fatal(err)
				}
				if err := d.Check(); err != nil {
					t.Fatal(err)
				}
				out, h, err := d.Recompress(to, 0)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := ValidateProduce(out, 1<<20); err != nil {
					t.Fatalf("rebuilt batch is not valid: %v", err)
				}
				sh, _ := ParseHeader(src)
				sh.Attributes = sh.Attributes&^attrCodecMask | int16(to)
				sh.Length, sh.CRC = h.Length, h.CRC
				if h != sh {
					t.Fatalf("header %+v, want %+v", h, sh)
				}
				var got []Record
				if err := ForEachRecord(out, func(r Record) bool { got = append(got, r); return true }); err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("records %v, want %v", got, want)
				}
				var rb kmsg.RecordBatch
				if err := rb.ReadFrom(out); err != nil || rb.Attributes&7 != int16(to) {
					t.Fatalf("kmsg: %v %+v", err, rb)
				}
			})
		}
	}
}

func TestCompressedBatchChecks(t *testing.T) {
	// Offset deltas 0, 0: fine uncompressed-looking header, bad records, caught by Check.
	rs := testRecords(2)
	rs[1].OffsetDelta = 0
	raw := append(encodeRecord(rs[0]), encodeRecord(rs[1])...)
	for _, codec := range allCodecs[1:] {
		c, _ := Compress(codec, 0, raw)
		b := buildBatch(c, 2, func(rb *kmsg.RecordBatch) { rb.Attributes = int16(codec) })
		d, err := Decode(b, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Check(); !errors.Is(err, kerr.InvalidRecord) {
			t.Errorf("%s: bad offset delta: %v", codecName(codec), err)
		}
		c, _ = Compress(codec, 0, raw[:len(raw)-1])
		b = buildBatch(c, 2, func(rb *kmsg.RecordBatch) { rb.Attributes = int16(codec) })
		if err := ForEachRecord(b, func(Record) bool { return true }); !errors.Is(err, kerr.InvalidRecord) {
			t.Errorf("%s: truncated record: %v", codecName(codec), err)
		}
	}
}

func FuzzDecompress(f *testing.F) {
	in := sampleRecords(300)
	for _, codec := range allCodecs {
		c, _ := Compress(codec, 0, in)
		f.Add(uint8(codec), c)
	}
	f.Add(uint8(CodecSnappy), snappy.Encode(nil, in))
	f.Add(uint8(CodecSnappy), xerialStream(in[:100], in[100:]))
	f.Fuzz(func(t *testing.T, codec uint8, src []byte) {
		const limit = 1 << 20
		out, err := Decompress(Codec(codec), src, limit)
		if err != nil {
			if ErrorCode(err) == 0 {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		if len(out) > limit {
			t.Fatalf("%d bytes out, limit %d", len(out), limit)
		}
		// Whatever decompresses compresses back to the same.
		c, err := Compress(Codec(codec), 0, out)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Decompress(Codec(codec), c, limit)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("round trip of %d bytes: %v", len(out), err)
		}
	})
}

// TestWithDecodedReusesBuffers decodes batches of every codec and of varied sizes one after
// another and from several goroutines through the pooled buffers, and checks that each sees
// exactly the records Decode gives, and that the limit still holds.
func TestWithDecodedReusesBuffers(t *testing.T) {
	var batches [][]byte
	for _, codec := range []Codec{CodecNone, CodecGzip, CodecSnappy, CodecLZ4, CodecZstd} {
		for _, n := range []int{1, 200, 7, 1000} {
			bl := NewBuilder(BatchHeader{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, BaseTimestamp: 1})
			for i := range n {
				bl.Add(Record{OffsetDelta: int32(i), Value: bytes.Repeat([]byte{byte(i)}, 1+i%300)})
			}
			b, err := bl.BuildCompressed(codec, DefaultLevel(codec))
			if err != nil {
				t.Fatal(err)
			}
			batches = append(batches, b)
		}
	}
	check := func(b []byte) error {
		want, err := Decode(b, 1<<20)
		if err != nil {
			return err
		}
		return WithDecoded(b, 1<<20, func(d Decoded) error {
			if !bytes.Equal(d.Records, want.Records) || d.Header != want.Header {
				return fmt.Errorf("codec %d: records differ from Decode's", want.Header.Codec())
			}
			return d.Check()
		})
	}
	for _, b := range batches {
		if err := check(b); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Go(func() {
			for i := range 3 * len(batches) {
				if err := check(batches[(i+g)%len(batches)]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	big := batches[len(batches)-1] // zstd, 1000 records
	if err := WithDecoded(big, 1000, func(Decoded) error { return nil }); !errors.Is(err, kerr.CorruptMessage) {
		t.Fatalf("past the limit: %v, want CORRUPT_MESSAGE", err)
	}
}
