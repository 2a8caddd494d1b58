package console

import (
	"slices"
	"sync"
	"time"
)

// Point is one sample of a series: a time (ms since the epoch) and a value.
type Point struct {
	T int64   `json:"t"`
	V float64 `json:"v"`
}

// ring is a fixed-size series of samples, oldest first when read.
// Invariant: len(points) <= cap; next is where the next sample goes once the ring is full.
type ring struct {
	points []Point
	next   int
	cap    int
}

func newRing(capacity int) *ring { return &ring{points: make([]Point, 0, capacity), cap: capacity} }

func (r *ring) add(p Point) {
	if len(r.points) < r.cap {
		r.points = append(r.points, p)
		return
	}
	r.points[r.next] = p
	r.next = (r.next + 1) % r.cap
}

// series returns a copy of the samples, oldest first.
func (r *ring) series() []Point {
	out := make([]Point, 0, len(r.points))
	out = append(out, r.points[r.next:]...)
	return append(out, r.points[:r.next]...)
}

// history keeps the console's in-memory series: per topic, the bytes-in rate (bytes/s between
// two samples of the topic's counter); per group, the total lag. Nothing is persisted: a
// restarted node starts with empty charts.
type history struct {
	topicCap, groupCap int

	mu sync.Mutex
	// Guarded by mu.
	bytesIn    map[string]Point // the counter at the previous sample, to compute a rate
	throughput map[string]*ring
	lag        map[string]*ring
}

func newHistory(topicCap, groupCap int) *history {
	return &history{
		topicCap: topicCap, groupCap: groupCap,
		bytesIn: map[string]Point{}, throughput: map[string]*ring{}, lag: map[string]*ring{},
	}
}

// sampleTopics records one sample of every topic's bytes-in counter; topics absent from
// counters (deleted, or never produced to) stop being tracked, except those in keep.
func (h *history) sampleTopics(now time.Time, counters map[string]float64, keep func(string) bool) {
	ms := now.UnixMilli()
	h.mu.Lock()
	defer h.mu.Unlock()
	for topic, v := range counters {
		prev, seen := h.bytesIn[topic]
		h.bytesIn[topic] = Point{T: ms, V: v}
		if !seen || ms <= prev.T {
			continue
		}
		r := h.throughput[topic]
		if r == nil {
			r = newRing(h.topicCap)
			h.throughput[topic] = r
		}
		// A counter that went down was reset (cannot happen within one process; kept safe).
		r.add(Point{T: ms, V: max(v-prev.V, 0) * 1000 / float64(ms-prev.T)})
	}
	for topic := range h.throughput {
		if _, ok := counters[topic]; !ok && !keep(topic) {
			delete(h.throughput, topic)
			delete(h.bytesIn, topic)
		}
	}
}

// sampleLag records one sample of a group's total lag.
func (h *history) sampleLag(now time.Time, group string, totalLag uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.lag[group]
	if r == nil {
		r = newRing(h.groupCap)
		h.lag[group] = r
	}
	r.add(Point{T: now.UnixMilli(), V: float64(totalLag)})
}

// forgetGroupsExcept drops the lag series of every group not in live.
func (h *history) forgetGroupsExcept(live []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for g := range h.lag {
		if !slices.Contains(live, g) {
			delete(h.lag, g)
		}
	}
}

func (h *history) throughputOf(topic string) []Point {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.throughput[topic]; r != nil {
		return r.series()
	}
	return []Point{}
}

func (h *history) lagOf(group string) []Point {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.lag[group]; r != nil {
		return r.series()
	}
	return []Point{}
}
