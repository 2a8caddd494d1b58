package records

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// encodeRecord encodes r with its Length computed.
func encodeRecord(r kmsg.Record) []byte {
	r.Length = 0
	body := r.AppendTo(nil)[1:] // drop the 1-byte varint 0 length
	r.Length = int32(len(body))
	return r.AppendTo(nil)
}

// testRecords returns n well-formed records with offset deltas 0..n-1.
func testRecords(n int) []kmsg.Record {
	rs := make([]kmsg.Record, n)
	for i := range rs {
		rs[i] = kmsg.Record{
			TimestampDelta64: int64(i * 10),
			OffsetDelta:      int32(i),
			Key:              []byte{'k', byte('0' + i)},
			Value:            bytes.Repeat([]byte{'v'}, i+1),
		}
	}
	rs[0].Key = nil // a null key
	if n > 1 {
		rs[1].Headers = []kmsg.Header{{Key: "h1", Value: []byte("x")}, {Key: "", Value: nil}}
	}
	return rs
}

// buildBatch encodes a magic 2 batch holding the encoded records raw; mutate edits the batch
// before its length and CRC are computed.
func buildBatch(raw []byte, numRecords int32, mutate func(*kmsg.RecordBatch)) []byte {
	rb := kmsg.RecordBatch{
		FirstOffset:          0,
		PartitionLeaderEpoch: -1,
		Magic:                2,
		LastOffsetDelta:      numRecords - 1,
		FirstTimestamp:       1_700_000_000_000,
		MaxTimestamp:         1_700_000_000_000,
		ProducerID:           -1,
		ProducerEpoch:        -1,
		FirstSequence:        -1,
		NumRecords:           numRecords,
		Records:              raw,
	}
	if mutate != nil {
		mutate(&rb)
	}
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-LogOverhead))
	binary.BigEndian.PutUint32(b[crcOffset:], ComputeCRC(b))
	return b
}

// goodBatch returns a valid uncompressed batch of n test records.
func goodBatch(n int, mutate func(*kmsg.RecordBatch)) []byte {
	var raw []byte
	for _, r := range testRecords(n) {
		raw = append(raw, encodeRecord(r)...)
	}
	return buildBatch(raw, int32(n), mutate)
}

// fixCRC recomputes the CRC of b after a test edited a covered field.
func fixCRC(b []byte) []byte {
	binary.BigEndian.PutUint32(b[crcOffset:], ComputeCRC(b))
	return b
}

func TestValidateProduceGood(t *testing.T) {
	for _, n := range []int{1, 2, 5, 100} {
		b := goodBatch(n, nil)
		h, err := ValidateProduce(b, len(b))
		if err != nil {
			t.Fatalf("%d records: %v", n, err)
		}
		if h.NumRecords != int32(n) || h.Size() != int64(len(b)) || h.Magic != 2 {
			t.Fatalf("%d records: header %+v", n, h)
		}
	}

	// Idempotent and transactional producers.
	b := goodBatch(3, func(rb *kmsg.RecordBatch) {
		rb.ProducerID, rb.ProducerEpoch, rb.FirstSequence = 7, 0, 42
		rb.Attributes = attrTransactional
	})
	if _, err := ValidateProduce(b, 1<<20); err != nil {
		t.Fatal(err)
	}

	// A compressed batch is checked by header only: its records are opaque here.
	b = buildBatch([]byte("not really gzip"), 4, func(rb *kmsg.RecordBatch) { rb.Attributes = int16(CodecGzip) })
	h, err := ValidateProduce(b, 1<<20)
	if err != nil || h.Codec() != CodecGzip {
		t.Fatalf("gzip: %v %v", h.Codec(), err)
	}

	// Trailing bytes too few for a second whole batch are ignored, as Kafka trims them.
	b = goodBatch(2, nil)
	size := len(b)
	b = append(b, goodBatch(1, nil)[:30]...)
	h, err = ValidateProduce(b, 1<<20)
	if err != nil || h.Size() != int64(size) {
		t.Fatalf("trailing partial batch: size %d, %v", h.Size(), err)
	}
}

func TestValidateProduceErrors(t *testing.T) {
	good := goodBatch(3, nil)
	edit := func(f func(b []byte) []byte) []byte {
		return f(bytes.Clone(good))
	}
	put32 := func(off int, v uint32) func([]byte) []byte {
		return func(b []byte) []byte { binary.BigEndian.PutUint32(b[off:], v); return b }
	}
	recs := testRecords(3)
	var raw []byte
	for _, r := range recs {
		raw = append(raw, encodeRecord(r)...)
	}

	for _, tc := range []struct {
		name    string
		b       []byte
		max     int
		want    *kerr.Error
		wantMsg string
	}{
		{name: "empty", b: nil, want: kerr.InvalidRecord},
		{name: "shorter than log overhead", b: good[:11], want: kerr.InvalidRecord},
		{name: "shorter than magic", b: good[:16], want: kerr.InvalidRecord},
		{name: "truncated batch", b: good[:len(good)-1], want: kerr.InvalidRecord},
		{name: "truncated header", b: good[:40], want: kerr.InvalidRecord},
		{name: "length below 14", b: edit(put32(8, 13)), want: kerr.CorruptMessage},
		{name: "negative length", b: edit(put32(8, 0xffffffff)), want: kerr.CorruptMessage},
		{name: "length below 14 in 12 bytes", b: edit(put32(8, 5))[:12], want: kerr.CorruptMessage},
		{name: "magic 3", b: edit(func(b []byte) []byte { b[16] = 3; return b }), want: kerr.CorruptMessage},
		{name: "magic -1", b: edit(func(b []byte) []byte { b[16] = 0xff; return b }), want: kerr.CorruptMessage},
		{name: "magic 3 truncated", b: edit(func(b []byte) []byte { b[16] = 3; return b[:20] }), want: kerr.CorruptMessage},
		{name: "magic 1", b: edit(func(b []byte) []byte { b[16] = 1; return b }), want: kerr.InvalidRecord},
		{name: "magic 0", b: edit(func(b []byte) []byte { b[16] = 0; return b }), want: kerr.InvalidRecord},
		{name: "two batches", b: append(bytes.Clone(good), good...), want: kerr.InvalidRecord, wantMsg: "exactly one"},
		{name: "trailing corrupt length", b: append(bytes.Clone(good), make([]byte, 12)...), want: kerr.CorruptMessage},
		{name: "base offset", b: edit(func(b []byte) []byte { SetBaseOffset(b, 5); return b }), want: kerr.InvalidRecord, wantMsg: "base offset"},
		{name: "too large", b: good, max: len(good) - 1, want: kerr.MessageTooLarge},
		{name: "length below v2 header", b: edit(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[8:], 30)
			return b[:42]
		}), want: kerr.CorruptMessage},
		{name: "crc", b: edit(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), want: kerr.CorruptMessage, wantMsg: "crc"},
		{name: "crc covers attributes", b: edit(func(b []byte) []byte { b[22] |= attrLogAppendTime; return b }), want: kerr.CorruptMessage},
		{name: "codec 5", b: buildBatch(raw, 3, func(rb *kmsg.RecordBatch) { rb.Attributes = 5 }), want: kerr.UnknownServerError},
		{name: "codec 7", b: buildBatch(raw, 3, func(rb *kmsg.RecordBatch) { rb.Attributes = 7 }), want: kerr.UnknownServerError},
		{name: "last offset delta -1", b: buildBatch(nil, 0, nil), want: kerr.InvalidRecord, wantMsg: "offset range"},
		{name: "record count 0", b: buildBatch(raw, 3, func(rb *kmsg.RecordBatch) { rb.NumRecords = 0 }), want: kerr.InvalidRecord, wantMsg: "record count"},
		{name: "record count negative", b: buildBatch(raw, 3, func(rb *kmsg.RecordBatch) { rb.NumRecords = -1 }), want: kerr.InvalidRecord},
		{name: "count and delta disagree", b: buildBatch(raw, 3, func(rb *kmsg.RecordBatch) { rb.LastOffsetDelta = 3 }), want: kerr.InvalidRecord, wantMsg: "does not match"},
		{name: "last offset delta max", b: buildBatch(raw, 3, func(rb *kmsg.RecordBatch) { rb.LastOffsetDelta = 1<<31 - 1 }), want: kerr.InvalidRecord},
		{name: "control batch", b: goodBatch(3, func(rb *kmsg.RecordBatch) { rb.Attributes = attrControl }), want: kerr.InvalidRecord, wantMsg: "control"},
		{name: "producer id without sequence", b: goodBatch(3, func(rb *kmsg.RecordBatch) { rb.ProducerID = 1 }), want: kerr.InvalidRecord, wantMsg: "sequence"},
		{name: "fewer records than count", b: buildBatch(raw[:len(encodeRecord(recs[0]))], 3, nil), want: kerr.InvalidRecord},
		{name: "more records than count", b: buildBatch(append(bytes.Clone(raw), encodeRecord(kmsg.Record{OffsetDelta: 3})...), 3, nil), want: kerr.InvalidRecord, wantMsg: "left in the batch"},
		{name: "offset deltas out of order", b: buildBatch(recordsWith(func(rs []kmsg.Record) { rs[1].OffsetDelta, rs[2].OffsetDelta = 2, 1 }), 3, nil), want: kerr.InvalidRecord, wantMsg: "offset delta"},
		{name: "offset deltas from 1", b: buildBatch(recordsWith(func(rs []kmsg.Record) {
			for i := range rs {
				rs[i].OffsetDelta++
			}
		}), 3, nil), want: kerr.InvalidRecord, wantMsg: "offset delta"},
		{name: "record length past batch", b: buildBatch(rawWith(func(r []byte) []byte { r[0] = 0x7e; return r }), 3, nil), want: kerr.InvalidRecord},
		{name: "record length negative", b: buildBatch(rawWith(func(r []byte) []byte { r[0] = 0x01; return r }), 3, nil), want: kerr.InvalidRecord},
		{name: "record length varint too long", b: buildBatch(append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, raw...), 3, nil), want: kerr.InvalidRecord},
		{name: "record length short of body", b: buildBatch(rawWith(func(r []byte) []byte { r[0] -= 2; return r }), 3, nil), want: kerr.InvalidRecord},
		{name: "key length past record", b: buildBatch(recordBody(0, 0, 0, []byte{0x40}), 1, nil), want: kerr.InvalidRecord},
		{name: "key length -2", b: buildBatch(recordBody(0, 0, 0, []byte{0x03, 0x01, 0x00}), 1, nil), want: kerr.InvalidRecord},
		{name: "header count negative", b: buildBatch(recordBody(0, 0, 0, []byte{0x01, 0x01, 0x01}), 1, nil), want: kerr.InvalidRecord},
		{name: "header count past record", b: buildBatch(recordBody(0, 0, 0, []byte{0x01, 0x01, 0x10}), 1, nil), want: kerr.InvalidRecord},
		{name: "null header key", b: buildBatch(recordBody(0, 0, 0, []byte{0x01, 0x01, 0x02, 0x01, 0x01}), 1, nil), want: kerr.InvalidRecord},
		{name: "bytes after headers", b: buildBatch(recordBody(0, 0, 0, []byte{0x01, 0x01, 0x00, 0x00}), 1, nil), want: kerr.InvalidRecord},
		{name: "empty record", b: buildBatch([]byte{0x00}, 1, nil), want: kerr.InvalidRecord},
	} {
		t.Run(tc.name, func(t *testing.T) {
			max := tc.max
			if max == 0 {
				max = 1 << 20
			}
			_, err := ValidateProduce(tc.b, max)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if ErrorCode(err) != tc.want.Code {
				t.Fatalf("ErrorCode = %d, want %d", ErrorCode(err), tc.want.Code)
			}
			if tc.wantMsg != "" && !bytes.Contains([]byte(err.Error()), []byte(tc.wantMsg)) {
				t.Fatalf("error %q does not mention %q", err, tc.wantMsg)
			}
		})
	}
}

// recordsWith encodes the 3 test records after edit changes them.
func recordsWith(edit func([]kmsg.Record)) []byte {
	rs := testRecords(3)
	edit(rs)
	var raw []byte
	for _, r := range rs {
		raw = append(raw, encodeRecord(r)...)
	}
	return raw
}

// rawWith returns the 3 encoded test records after edit changes the bytes.
func rawWith(edit func([]byte) []byte) []byte { return edit(recordsWith(func([]kmsg.Record) {})) }

// recordBody encodes one record by hand: length, attributes, timestamp delta, offset delta
// (all single-byte varints), then rest as given (key, value, headers).
func recordBody(attrs, tsDelta, offDelta byte, rest []byte) []byte {
	body := append([]byte{attrs, tsDelta, offDelta}, rest...)
	return append(binary.AppendVarint(nil, int64(len(body))), body...)
}

func TestValidateProduceVersion(t *testing.T) {
	zstd := Header{Attributes: int16(CodecZstd)}
	if err := ValidateProduceVersion(6, zstd); !errors.Is(err, kerr.UnsupportedCompressionType) {
		t.Fatalf("v6 zstd: %v", err)
	}
	if err := ValidateProduceVersion(7, zstd); err != nil {
		t.Fatalf("v7 zstd: %v", err)
	}
	if err := ValidateProduceVersion(3, Header{Attributes: int16(CodecLZ4)}); err != nil {
		t.Fatalf("v3 lz4: %v", err)
	}
}

func TestErrorCode(t *testing.T) {
	if ErrorCode(nil) != 0 {
		t.Fatal("nil")
	}
	if ErrorCode(errors.New("x")) != kerr.UnknownServerError.Code {
		t.Fatal("plain error")
	}
	if got := kerr.ErrorForCode(ErrorCode(kafkaErr(kerr.CorruptMessage, "x"))); got != kerr.CorruptMessage {
		t.Fatalf("round trip: %v", got)
	}
}

func TestValidateProduceDoesNotAllocate(t *testing.T) {
	b := goodBatch(10, nil)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := ValidateProduce(b, 1<<20); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("ValidateProduce allocated %v times", allocs)
	}
}

func TestSetLogAppendTimeKeepsCRC(t *testing.T) {
	b := goodBatch(3, nil)
	SetBaseOffset(b, 1234)
	SetPartitionLeaderEpoch(b, 9)
	SetLogAppendTime(b, 1_800_000_000_000)
	h, err := ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.CRC != ComputeCRC(b) {
		t.Fatalf("crc %#x, computed %#x", h.CRC, ComputeCRC(b))
	}
	if !h.LogAppendTime() || h.MaxTimestamp != 1_800_000_000_000 || h.BaseOffset != 1234 || h.PartitionLeaderEpoch != 9 {
		t.Fatalf("header %+v", h)
	}
	if h.BaseTimestamp != 1_700_000_000_000 {
		t.Fatalf("base timestamp changed: %d", h.BaseTimestamp)
	}
	// The rewritten batch is still one franz-go can read and check.
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(b); err != nil {
		t.Fatal(err)
	}
	if uint32(rb.CRC) != ComputeCRC(b) {
		t.Fatal("kmsg disagrees on crc")
	}
	// Validation (base offset aside) still passes.
	SetBaseOffset(b, 0)
	if _, err := ValidateProduce(b, 1<<20); err != nil {
		t.Fatal(err)
	}
}

// TestRecordStats checks what the walk of ValidateProduceRecords (uncompressed) and
// Decoded.CheckStats (compressed) learns of the records: the range of their timestamps,
// negative deltas and wrapping included, and whether a key is null.
func TestRecordStats(t *testing.T) {
	const base = 1_700_000_000_000
	for _, tc := range []struct {
		name     string
		deltas   []int64
		nullKey  int // index of the record with a null key, -1 none
		min, max int64
	}{
		{"one record", []int64{0}, -1, base, base},
		{"increasing", []int64{0, 5, 9}, -1, base, base + 9},
		{"negative delta", []int64{3, -7, 2}, 1, base - 7, base + 3},
		{"null key last", []int64{0, 0}, 1, base, base},
	} {
		t.Run(tc.name, func(t *testing.T) {
			build := func(codec Codec) ([]byte, error) {
				bl := NewBuilder(BatchHeader{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, BaseTimestamp: base})
				for i, d := range tc.deltas {
					r := Record{OffsetDelta: int32(i), TimestampDelta: d, Key: []byte("k"), Value: []byte("v")}
					if i == tc.nullKey {
						r.Key = nil
					}
					bl.Add(r)
				}
				return bl.BuildCompressed(codec, DefaultLevel(codec))
			}
			want := RecordStats{Walked: true, MinTimestamp: tc.min, MaxTimestamp: tc.max, NullKey: tc.nullKey >= 0}
			plain, _ := build(CodecNone)
			_, got, err := ValidateProduceRecords(plain, 1<<20)
			if err != nil || got != want {
				t.Fatalf("uncompressed: %+v, %v; want %+v", got, err, want)
			}
			for _, codec := range []Codec{CodecGzip, CodecLZ4} {
				packed, err := build(codec)
				if err != nil {
					t.Fatal(err)
				}
				h, st, err := ValidateProduceRecords(packed, 1<<20)
				if err != nil || st.Walked {
					t.Fatalf("codec %d: stats %+v before decompression, %v", codec, st, err)
				}
				d, err := Decode(packed[:h.Size()], 1<<20)
				if err != nil {
					t.Fatal(err)
				}
				if got, err := d.CheckStats(); err != nil || got != want {
					t.Fatalf("codec %d: %+v, %v; want %+v", codec, got, err, want)
				}
			}
		})
	}
}
