package storage

import (
	"testing"

	"github.com/gregorhq/gregor/internal/records"
)

func TestScanHeadersAndOnRoll(t *testing.T) {
	fs := NewMemFS()
	var rolls []int64
	cfg := LogConfig{SegmentBytes: 300, IndexIntervalBytes: 1, OnRoll: func(next int64) { rolls = append(rolls, next) }}
	l := mustOpen(t, fs, "/p-0", cfg, 0)
	defer l.Close()
	var batches []appended
	for i := range 12 {
		batches = append(batches, appendBatch(t, l, 3, 40, int64(1000+i)))
	}
	if l.NumSegments() < 3 || len(rolls) != l.NumSegments()-1 {
		t.Fatalf("%d segments, rolls at %v", l.NumSegments(), rolls)
	}
	for i, r := range rolls {
		if l.segments[i+1].baseOffset != r {
			t.Fatalf("roll %d at %d, segment starts at %d", i, r, l.segments[i+1].baseOffset)
		}
	}
	// From every offset: the batch holding it, then every later one, in order.
	for from := int64(0); from <= l.LogEndOffset(); from++ {
		var got []int64
		err := l.ScanHeaders(from, func(h records.Header) bool {
			got = append(got, h.BaseOffset)
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []int64{}
		for _, b := range batches {
			if b.last >= from {
				want = append(want, b.base)
			}
		}
		if len(got) != len(want) || (len(got) > 0 && got[0] != want[0]) {
			t.Fatalf("from %d: %v, want %v", from, got, want)
		}
	}
	// fn returning false stops the scan.
	n := 0
	l.ScanHeaders(0, func(records.Header) bool { n++; return n < 2 })
	if n != 2 {
		t.Fatalf("scan went on after stop: %d", n)
	}
}
