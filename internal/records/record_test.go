package records

import (
	"bytes"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestForEachRecord(t *testing.T) {
	want := testRecords(4)
	want[2].Value = nil    // null value
	want[3].Key = []byte{} // empty, non-null key
	want[3].Attributes = 0x00
	var raw []byte
	for _, r := range want {
		raw = append(raw, encodeRecord(r)...)
	}
	b := buildBatch(raw, 4, nil)

	var got []Record
	if err := ForEachRecord(b, func(r Record) bool { got = append(got, r); return true }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i, g := range got {
		w := want[i]
		if g.Attributes != w.Attributes || g.TimestampDelta != w.TimestampDelta64 || g.OffsetDelta != w.OffsetDelta {
			t.Errorf("record %d: %+v, want %+v", i, g, w)
		}
		if !sameBytes(g.Key, w.Key) || !sameBytes(g.Value, w.Value) {
			t.Errorf("record %d: key %q value %q, want %q %q", i, g.Key, g.Value, w.Key, w.Value)
		}
		if len(g.Headers) != len(w.Headers) {
			t.Fatalf("record %d: %d headers, want %d", i, len(g.Headers), len(w.Headers))
		}
		for j, h := range g.Headers {
			if h.Key != w.Headers[j].Key || !sameBytes(h.Value, w.Headers[j].Value) {
				t.Errorf("record %d header %d: %+v, want %+v", i, j, h, w.Headers[j])
			}
		}
	}

	// Stopping early.
	n := 0
	if err := ForEachRecord(b, func(Record) bool { n++; return n < 2 }); err != nil || n != 2 {
		t.Fatalf("stop: n=%d err=%v", n, err)
	}

	// Bytes after the batch are not the batch's.
	n = 0
	if err := ForEachRecord(append(bytes.Clone(b), 1, 2, 3), func(Record) bool { n++; return true }); err != nil || n != 4 {
		t.Fatalf("trailing: n=%d err=%v", n, err)
	}
}

// sameBytes is bytes.Equal that also tells null from empty.
func sameBytes(a, b []byte) bool { return (a == nil) == (b == nil) && bytes.Equal(a, b) }

func TestForEachRecordErrors(t *testing.T) {
	good := goodBatch(2, nil)
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"short header", good[:HeaderSize-1], kerr.CorruptMessage},
		{"truncated", good[:len(good)-1], kerr.CorruptMessage},
		{"magic 1", func() []byte { b := bytes.Clone(good); b[16] = 1; return b }(), kerr.CorruptMessage},
		{"bad snappy", buildBatch([]byte("zz"), 1, func(rb *kmsg.RecordBatch) { rb.Attributes = int16(CodecSnappy) }), kerr.CorruptMessage},
		{"negative count", buildBatch(nil, -1, nil), kerr.InvalidRecord},
		{"record past batch", buildBatch(rawWith(func(r []byte) []byte { r[0] = 0x7e; return r }), 3, nil), kerr.InvalidRecord},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ForEachRecord(tc.b, func(Record) bool { return true })
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDecoderVarints(t *testing.T) {
	for _, v := range []int32{0, 1, -1, 63, -64, 64, 1<<31 - 1, -1 << 31} {
		enc := kbin.AppendVarint(nil, v)
		d := decoder{b: enc}
		if got := d.varint(); d.bad || got != v || len(d.b) != 0 {
			t.Errorf("varint %d: got %d bad=%v left=%d", v, got, d.bad, len(d.b))
		}
	}
	for _, bad := range [][]byte{{}, {0x80}, {0xff, 0xff, 0xff, 0xff, 0x1f}, {0x80, 0x80, 0x80, 0x80, 0x80, 0x00}} {
		d := decoder{b: bad}
		if d.varint(); !d.bad {
			t.Errorf("varint % x: not bad", bad)
		}
	}
}
