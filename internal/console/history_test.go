package console

import (
	"testing"
	"time"
)

func TestRingKeepsTheNewestOldestFirst(t *testing.T) {
	r := newRing(3)
	if got := r.series(); len(got) != 0 {
		t.Fatalf("empty ring: %v", got)
	}
	for i := range 5 {
		r.add(Point{T: int64(i), V: float64(i)})
	}
	got := r.series()
	if len(got) != 3 || got[0].T != 2 || got[1].T != 3 || got[2].T != 4 {
		t.Fatalf("series: %v", got)
	}
}

// The throughput series is the counter's rate between samples (bytes/s); a topic appears
// after its second sample and disappears with its counter unless it still exists.
func TestThroughputRate(t *testing.T) {
	h := newHistory(4, 4)
	t0 := time.UnixMilli(1_000_000)
	exists := map[string]bool{"a": true}
	keep := func(topic string) bool { return exists[topic] }
	h.sampleTopics(t0, map[string]float64{"a": 100, "b": 0}, keep)
	if got := h.throughputOf("a"); len(got) != 0 {
		t.Fatalf("after one sample: %v", got)
	}
	h.sampleTopics(t0.Add(5*time.Second), map[string]float64{"a": 1100, "b": 50}, keep)
	h.sampleTopics(t0.Add(10*time.Second), map[string]float64{"a": 1100, "b": 60}, keep)
	a := h.throughputOf("a")
	if len(a) != 2 || a[0].V != 200 || a[1].V != 0 || a[1].T != t0.Add(10*time.Second).UnixMilli() {
		t.Fatalf("a: %v", a)
	}
	if b := h.throughputOf("b"); len(b) != 2 || b[0].V != 10 {
		t.Fatalf("b: %v", b)
	}
	// b was deleted (its counter gone and no topic); a stays while it exists.
	h.sampleTopics(t0.Add(15*time.Second), map[string]float64{}, keep)
	if len(h.throughputOf("b")) != 0 || len(h.throughputOf("a")) != 2 {
		t.Fatalf("after b went: a %v b %v", h.throughputOf("a"), h.throughputOf("b"))
	}
}

// Lag samples come from a Console's SampleLag with its clock; a group the evaluator
// forgot loses its series.
func TestLagSeries(t *testing.T) {
	h := newHistory(2, 2)
	now := time.UnixMilli(5_000)
	for i := range 3 {
		h.sampleLag(now.Add(time.Duration(i)*10*time.Second), "g", uint64(i*7))
	}
	got := h.lagOf("g")
	if len(got) != 2 || got[0].V != 7 || got[1].V != 14 || got[1].T != 25_000 {
		t.Fatalf("g: %v", got)
	}
	h.forgetGroupsExcept([]string{"other"})
	if got := h.lagOf("g"); len(got) != 0 {
		t.Fatalf("forgotten g: %v", got)
	}
}
