package wire

import (
	"context"
	"sync/atomic"
	"time"
)

// RequestTime measures the time a handler works on one request: from the start of Dispatch,
// less the time it spent waiting for something outside it (a Fetch's long poll, a Produce
// waiting for replication, a JoinGroup waiting for the rebalance). That is what Kafka counts
// as request handler thread time (its waits happen in purgatory, off the handler threads), and
// what the request_percentage quota is charged.
type RequestTime struct {
	start  time.Time
	waited atomic.Int64 // nanoseconds; added to by Waited
	// Charged is set by whoever charged the request to a quota, so it is charged once.
	// Only the request's goroutine touches it.
	Charged bool
}

type requestTimeKey struct{}

// WithRequestTime returns ctx carrying a RequestTime starting at start.
func WithRequestTime(ctx context.Context, start time.Time) (context.Context, *RequestTime) {
	t := &RequestTime{start: start}
	return context.WithValue(ctx, requestTimeKey{}, t), t
}

// RequestTimeFrom is the RequestTime of ctx's request, nil when it has none.
func RequestTimeFrom(ctx context.Context) *RequestTime {
	t, _ := ctx.Value(requestTimeKey{}).(*RequestTime)
	return t
}

// Waited records that the request of ctx waited from since until now; it does nothing when
// ctx carries no RequestTime. Safe from any goroutine.
func Waited(ctx context.Context, since time.Time) {
	if t := RequestTimeFrom(ctx); t != nil {
		t.waited.Add(int64(time.Since(since)))
	}
}

// Busy is the handler time of the request until now: the time since it started less its
// waits.
func (t *RequestTime) Busy() time.Duration {
	return max(time.Since(t.start)-time.Duration(t.waited.Load()), 0)
}
