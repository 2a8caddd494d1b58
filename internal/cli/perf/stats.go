package perf

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// reportingInterval is how often producer-perf-test prints a window line, as
// Kafka's tool does.
const reportingInterval = 5 * time.Second

// ProducerStats accumulates the acknowledgement latencies of a producer run
// and prints Kafka's producer-perf-test lines: one per reporting window while
// records are acknowledged, and a summary at the end.
type ProducerStats struct {
	now    func() time.Time
	out    io.Writer // window lines; nil prints none
	start  time.Time
	window time.Duration

	mu sync.Mutex // guards everything below; Record is called from client callbacks
	// Totals since start.
	count, bytes, totalLatency, maxLatency int64
	hist                                   Histogram
	// The current window.
	windowStart                                        time.Time
	windowCount, windowBytes, windowTotal, windowMaxLt int64
}

// NewProducerStats starts the clock. now is the clock (time.Now outside
// tests); window lines go to out every reporting interval.
func NewProducerStats(now func() time.Time, out io.Writer) *ProducerStats {
	t := now()
	return &ProducerStats{now: now, out: out, start: t, windowStart: t, window: reportingInterval}
}

// Record adds one acknowledged record of size bytes that took latency ms, and
// prints the window line when the window is over.
func (s *ProducerStats) Record(latencyMs int64, size int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count++
	s.bytes += int64(size)
	s.totalLatency += latencyMs
	s.maxLatency = max(s.maxLatency, latencyMs)
	s.hist.Record(latencyMs)
	s.windowCount++
	s.windowBytes += int64(size)
	s.windowTotal += latencyMs
	s.windowMaxLt = max(s.windowMaxLt, latencyMs)
	if now := s.now(); now.Sub(s.windowStart) >= s.window {
		if s.out != nil {
			io.WriteString(s.out, s.windowLineLocked(now))
		}
		s.windowStart, s.windowCount, s.windowBytes, s.windowTotal, s.windowMaxLt = now, 0, 0, 0, 0
	}
}

// windowLineLocked formats the current window as Kafka's periodic line.
func (s *ProducerStats) windowLineLocked(now time.Time) string {
	elapsed := float64(now.Sub(s.windowStart).Milliseconds())
	return fmt.Sprintf("%d records sent, %.1f records/sec (%.2f MB/sec), %.1f ms avg latency, %.1f ms max latency.\n",
		s.windowCount, 1000*float64(s.windowCount)/elapsed, 1000*float64(s.windowBytes)/elapsed/(1024*1024),
		float64(s.windowTotal)/float64(s.windowCount), float64(s.windowMaxLt))
}

// ProducerSummary is the figures of a whole producer run; its JSON is what
// --format json prints.
type ProducerSummary struct {
	Records       int64   `json:"records"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MBPerSec      float64 `json:"mb_per_sec"`
	AvgLatencyMs  float64 `json:"avg_latency_ms"`
	MaxLatencyMs  float64 `json:"max_latency_ms"`
	P50Ms         int64   `json:"p50_ms"`
	P95Ms         int64   `json:"p95_ms"`
	P99Ms         int64   `json:"p99_ms"`
	P999Ms        int64   `json:"p999_ms"`
	Failed        int64   `json:"failed,omitempty"`
}

// Summary returns the figures since start.
func (s *ProducerStats) Summary() ProducerSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	elapsed := float64(s.now().Sub(s.start).Milliseconds())
	if elapsed <= 0 {
		elapsed = 1 // a run under a millisecond: rates stay finite
	}
	sum := ProducerSummary{
		Records:       s.count,
		RecordsPerSec: 1000 * float64(s.count) / elapsed,
		MBPerSec:      1000 * float64(s.bytes) / elapsed / (1024 * 1024),
		MaxLatencyMs:  float64(s.maxLatency),
		P50Ms:         s.hist.Percentile(0.5),
		P95Ms:         s.hist.Percentile(0.95),
		P99Ms:         s.hist.Percentile(0.99),
		P999Ms:        s.hist.Percentile(0.999),
	}
	if s.count > 0 {
		sum.AvgLatencyMs = float64(s.totalLatency) / float64(s.count)
	}
	return sum
}

// String is Kafka's final producer-perf-test line.
func (p ProducerSummary) String() string {
	return fmt.Sprintf("%d records sent, %f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max latency, %d ms 50th, %d ms 95th, %d ms 99th, %d ms 99.9th.\n",
		p.Records, p.RecordsPerSec, p.MBPerSec, p.AvgLatencyMs, p.MaxLatencyMs, p.P50Ms, p.P95Ms, p.P99Ms, p.P999Ms)
}

// consumerHeader is consumer-perf-test's CSV header, and detailedHeader its
// header with --show-detailed-stats.
const (
	consumerHeader = "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n"
	detailedHeader = "time, threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n"
)

// kafkaDate formats t as consumer-perf-test's default --date-format,
// yyyy-MM-dd HH:mm:ss:SSS, in local time. (Go's layouts take fractional
// seconds only after '.' or ',', hence the milliseconds by hand.)
func kafkaDate(t time.Time) string {
	return fmt.Sprintf("%s:%03d", t.Format("2006-01-02 15:04:05"), t.Nanosecond()/int(time.Millisecond))
}

// ConsumerSummary is the figures of a whole consumer run; its JSON is what
// --format json prints.
type ConsumerSummary struct {
	Start         time.Time `json:"start_time"`
	End           time.Time `json:"end_time"`
	MB            float64   `json:"data_consumed_mb"`
	MBPerSec      float64   `json:"mb_per_sec"`
	Messages      int64     `json:"data_consumed_msgs"`
	MsgsPerSec    float64   `json:"msgs_per_sec"`
	RebalanceMs   int64     `json:"rebalance_time_ms"`
	FetchMs       int64     `json:"fetch_time_ms"`
	FetchMBPerSec float64   `json:"fetch_mb_per_sec"`
	FetchMsgsSec  float64   `json:"fetch_msgs_per_sec"`
}

// NewConsumerSummary computes the figures as Kafka's tool does: rates over
// the whole run, and fetch rates over the run less the time spent joining.
func NewConsumerSummary(start, end time.Time, bytes, msgs int64, rebalance time.Duration) ConsumerSummary {
	elapsedMs := end.Sub(start).Milliseconds()
	fetchMs := elapsedMs - rebalance.Milliseconds()
	mb := float64(bytes) / (1024 * 1024)
	return ConsumerSummary{
		Start: start, End: end,
		MB: mb, MBPerSec: div(mb, float64(elapsedMs)/1000),
		Messages: msgs, MsgsPerSec: div(float64(msgs), float64(elapsedMs)/1000),
		RebalanceMs: rebalance.Milliseconds(), FetchMs: fetchMs,
		FetchMBPerSec: div(mb, float64(fetchMs)/1000), FetchMsgsSec: div(float64(msgs), float64(fetchMs)/1000),
	}
}

// div is a/b, or 0 when b is not positive (Kafka would print NaN or Infinity
// for a run shorter than a millisecond; a number is friendlier to scripts).
func div(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// String is consumer-perf-test's data line.
func (c ConsumerSummary) String() string {
	return fmt.Sprintf("%s, %s, %.4f, %.4f, %d, %.4f, %d, %d, %.4f, %.4f\n",
		kafkaDate(c.Start), kafkaDate(c.End), c.MB, c.MBPerSec, c.Messages, c.MsgsPerSec,
		c.RebalanceMs, c.FetchMs, c.FetchMBPerSec, c.FetchMsgsSec)
}

// progressLine is consumer-perf-test's --show-detailed-stats line for the
// interval from last to now: totals so far, rates over the interval.
func progressLine(now time.Time, interval time.Duration, bytes, lastBytes, msgs, lastMsgs int64, rebalance time.Duration) string {
	ms := float64(interval.Milliseconds())
	mb := float64(bytes) / (1024 * 1024)
	intervalMB := float64(bytes-lastBytes) / (1024 * 1024)
	fetchMs := interval.Milliseconds() - rebalance.Milliseconds()
	return fmt.Sprintf("%s, %d, %.4f, %.4f, %d, %.4f, %d, %d, %.4f, %.4f\n",
		kafkaDate(now), 0, mb, div(1000*intervalMB, ms), msgs, div(1000*float64(msgs-lastMsgs), ms),
		rebalance.Milliseconds(), fetchMs, div(1000*intervalMB, float64(fetchMs)), div(1000*float64(msgs-lastMsgs), float64(fetchMs)))
}
