package perf

import "math/bits"

// Histogram counts non-negative integer samples (latencies in milliseconds or
// microseconds) in log-linear buckets, so percentiles of any number of
// samples take a fixed amount of memory: values below 1024 are exact; above,
// each power of two is split into 64 buckets, a relative error under 1.6%.
// The zero value is ready to use; it is not safe for concurrent use.
type Histogram struct {
	counts [histBuckets]int64
	total  int64
}

const (
	histExact   = 1024 // values below this have a bucket each
	histSubBits = 6    // 2^6 buckets per power of two above histExact
	histSub     = 1 << histSubBits
	// histBuckets covers every int64: exponents 10..62.
	histBuckets = histExact + (63-10)*histSub
)

// bucketOf returns v's bucket. Negative values count as 0.
func bucketOf(v int64) int {
	if v < histExact {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	e := bits.Len64(uint64(v)) - 1 // 10 or more
	shift := e - histSubBits
	return histExact + (e-10)*histSub + int(v>>shift) - histSub
}

// lowest returns the smallest value that falls into bucket b.
func lowest(b int) int64 {
	if b < histExact {
		return int64(b)
	}
	b -= histExact
	e := b/histSub + 10
	return int64(histSub+b%histSub) << (e - histSubBits)
}

// Record adds one sample.
func (h *Histogram) Record(v int64) {
	h.counts[bucketOf(v)]++
	h.total++
}

// Count returns the number of samples.
func (h *Histogram) Count() int64 { return h.total }

// Percentile returns the sample at rank floor(p*count) in sorted order (as
// Kafka's producer-perf-test picks it), to the bucket's lowest value; 0 when
// there are no samples.
func (h *Histogram) Percentile(p float64) int64 {
	if h.total == 0 {
		return 0
	}
	rank := int64(p * float64(h.total))
	if rank >= h.total {
		rank = h.total - 1
	}
	var seen int64
	for b, c := range h.counts {
		seen += c
		if seen > rank {
			return lowest(b)
		}
	}
	return lowest(histBuckets - 1)
}
