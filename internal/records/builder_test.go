package records

import (
	"bytes"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestBuilderRoundTrip(t *testing.T) {
	b := NewBuilder(BatchHeader{BaseOffset: 0, BaseTimestamp: 1000, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1})
	want := []Record{
		{OffsetDelta: 0, TimestampDelta: 0, Key: []byte("a"), Value: []byte("1")},
		{OffsetDelta: 3, TimestampDelta: 7, Key: []byte("b"), Value: nil, Headers: []RecordHeader{{Key: "h", Value: []byte("v")}, {Key: "n"}}},
		{OffsetDelta: 9, TimestampDelta: 2, Key: nil, Value: []byte{}},
	}
	for _, r := range want {
		b.Add(r)
	}
	b.SetLastOffsetDelta(11)
	batch := b.Build()

	h, err := ParseHeader(batch)
	if err != nil || h.Size() != int64(len(batch)) || h.CRC != ComputeCRC(batch) {
		t.Fatalf("header %+v of %d bytes, err %v", h, len(batch), err)
	}
	if h.NumRecords != 3 || h.LastOffsetDelta != 11 || h.MaxTimestamp != 1007 || h.BaseTimestamp != 1000 || h.ProducerID != -1 {
		t.Fatalf("header %+v", h)
	}
	var got []Record
	if err := ForEachRecord(batch, func(r Record) bool { got = append(got, r); return true }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d records", len(got))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.OffsetDelta != w.OffsetDelta || g.TimestampDelta != w.TimestampDelta || !sameBytes(g.Key, w.Key) || !sameBytes(g.Value, w.Value) || len(g.Headers) != len(w.Headers) {
			t.Errorf("record %d: %+v, want %+v", i, g, w)
		}
	}

	// kmsg reads it the same way, so clients will too.
	var kb kmsg.RecordBatch
	if err := kb.ReadFrom(batch); err != nil {
		t.Fatal(err)
	}
	if kb.NumRecords != 3 || kb.LastOffsetDelta != 11 || !bytes.Equal(kb.Records, batch[HeaderSize:]) {
		t.Fatalf("kmsg: %+v", kb)
	}
}

func TestBuildSimple(t *testing.T) {
	batch := BuildSimple(0, 42, Record{Key: []byte("k1"), Value: []byte("v1")}, Record{Key: []byte("k2")})
	h, err := ValidateProduce(batch, 1<<20) // consecutive offsets: as a client would send it
	if err != nil {
		t.Fatal(err)
	}
	if h.BaseOffset != 0 || h.NumRecords != 2 || h.LastOffsetDelta != 1 || h.MaxTimestamp != 42 || ComputeCRC(batch) != h.CRC {
		t.Fatalf("header %+v", h)
	}
}

func TestControlBatchRoundTrip(t *testing.T) {
	for _, commit := range []bool{false, true} {
		b := BuildControlBatch(7, 1000, 42, 3, commit, 9)
		h, err := ParseHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		if !h.Control() || !h.Transactional() || h.ProducerID != 42 || h.ProducerEpoch != 3 || h.BaseSequence != -1 || h.NumRecords != 1 {
			t.Fatalf("header %+v", h)
		}
		if ComputeCRC(b) != h.CRC {
			t.Fatal("bad crc")
		}
		cr, err := ParseControlRecord(b)
		if err != nil {
			t.Fatal(err)
		}
		if cr.Commit() != commit || cr.CoordinatorEpoch != 9 {
			t.Fatalf("control record %+v, want commit %v epoch 9", cr, commit)
		}
	}
	if _, err := ParseControlRecord(BuildSimple(0, 0, Record{Value: []byte("x")})); err == nil {
		t.Fatal("a data batch parsed as a marker")
	}
}
