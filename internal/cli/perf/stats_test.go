package perf

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestProducerStatsLines(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	var windows bytes.Buffer
	s := NewProducerStats(clk.now, &windows)
	// 4 records in the first 5 s window, latencies 1..4 ms, 1 MiB each.
	for i := int64(1); i <= 4; i++ {
		clk.advance(1250 * time.Millisecond)
		s.Record(i, 1<<20)
	}
	// One more in the next window; the run lasts 10 s in all.
	clk.advance(5 * time.Second)
	s.Record(10, 1<<20)

	wantWindow := "4 records sent, 0.8 records/sec (0.80 MB/sec), 2.5 ms avg latency, 4.0 ms max latency.\n" +
		"1 records sent, 0.2 records/sec (0.20 MB/sec), 10.0 ms avg latency, 10.0 ms max latency.\n"
	if windows.String() != wantWindow {
		t.Errorf("window lines:\n%q\nwant\n%q", windows.String(), wantWindow)
	}
	sum := s.Summary()
	want := "5 records sent, 0.500000 records/sec (0.50 MB/sec), 4.00 ms avg latency, 10.00 ms max latency, 3 ms 50th, 10 ms 95th, 10 ms 99th, 10 ms 99.9th.\n"
	if got := sum.String(); got != want {
		t.Errorf("summary:\n%q\nwant\n%q", got, want)
	}
	var m map[string]any
	var js bytes.Buffer
	if err := printResult(&js, "json", sum); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js.Bytes(), &m); err != nil {
		t.Fatalf("json %s: %v", js.String(), err)
	}
	for _, k := range []string{"records", "records_per_sec", "mb_per_sec", "avg_latency_ms", "max_latency_ms", "p50_ms", "p95_ms", "p99_ms", "p999_ms"} {
		if _, ok := m[k]; !ok {
			t.Errorf("json lacks %q: %s", k, js.String())
		}
	}
	if m["records"] != 5.0 || m["p50_ms"] != 3.0 {
		t.Errorf("json figures: %s", js.String())
	}
}

func TestConsumerLines(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.Local)
	end := start.Add(4 * time.Second)
	sum := NewConsumerSummary(start, end, 3<<20, 3000, time.Second)
	want := "2026-01-02 03:04:05:006, 2026-01-02 03:04:09:006, 3.0000, 0.7500, 3000, 750.0000, 1000, 3000, 1.0000, 1000.0000\n"
	if got := sum.String(); got != want {
		t.Errorf("data line:\n%q\nwant\n%q", got, want)
	}
	if !strings.HasPrefix(consumerHeader, "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms,") {
		t.Errorf("header %q", consumerHeader)
	}
	got := progressLine(end, 2*time.Second, 3<<20, 1<<20, 3000, 1000, 0)
	want = "2026-01-02 03:04:09:006, 0, 3.0000, 1.0000, 3000, 1000.0000, 0, 2000, 1.0000, 1000.0000\n"
	if got != want {
		t.Errorf("progress line:\n%q\nwant\n%q", got, want)
	}
}

func TestHistogramPercentiles(t *testing.T) {
	var h Histogram
	if h.Percentile(0.5) != 0 {
		t.Error("empty histogram: want 0")
	}
	// Exact below 1024: compare with a sorted slice, Kafka's way.
	var vals []int64
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		v := r.Int64N(1000)
		vals = append(vals, v)
		h.Record(v)
	}
	slices.Sort(vals)
	for _, p := range []float64{0, 0.5, 0.95, 0.99, 0.999} {
		if got, want := h.Percentile(p), vals[int(p*float64(len(vals)))]; got != want {
			t.Errorf("p%v = %d, want %d", p, got, want)
		}
	}
	// Above, within 1/64 below the true value.
	var big Histogram
	for _, v := range []int64{1024, 5000, 123456, 1 << 40, -5} {
		big = Histogram{}
		big.Record(v)
		got := big.Percentile(0.5)
		if v < 0 {
			v = 0
		}
		if got > v || float64(v-got) > float64(v)/64 {
			t.Errorf("value %d reads back as %d", v, got)
		}
	}
}

func TestPacer(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	p := NewPacer(100, clk.now) // 100/s: one token every 10 ms, burst 1
	var slept time.Duration
	p.sleep = func(_ context.Context, d time.Duration) error {
		slept += d
		clk.advance(d)
		return nil
	}
	for range 101 {
		if err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// The first token is there at once; 100 more take a second.
	if slept < 990*time.Millisecond || slept > 1010*time.Millisecond {
		t.Errorf("101 records at 100/s waited %v, want about 1s", slept)
	}
	unlimited := NewPacer(-1, clk.now)
	unlimited.sleep = func(context.Context, time.Duration) error { t.Fatal("unlimited pacer slept"); return nil }
	for range 1000 {
		unlimited.Wait(context.Background())
	}
}
