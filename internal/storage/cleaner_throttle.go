package storage

import (
	"context"
	"math"
	"sync"
	"time"
)

// Throttler bounds the bytes the log cleaner reads and writes per second
// (log.cleaner.io.max.bytes.per.second), so that compaction does not starve producers and
// consumers of disk bandwidth. It is a token bucket: tokens accrue at the rate, up to one
// second's worth, and each Wait spends its bytes, sleeping while the bucket is in debt.
//
// One Throttler is shared by all the logs a cleaner cleans; it is safe for concurrent use.
type Throttler struct {
	rate float64 // bytes per second; Invariant: > 0 and finite (nil Throttler = unlimited)
	now  func() time.Time

	mu sync.Mutex
	// Guarded by mu.
	tokens float64   // may go negative: the debt the next callers wait out
	last   time.Time // when tokens was last brought up to date
}

// NewThrottler returns a throttler of bytesPerSecond, reading time from now (time.Now when
// nil). A rate that is not positive and finite (Kafka's default is Double.MAX_VALUE) means no
// limit, and gives a nil *Throttler, whose methods do nothing.
func NewThrottler(bytesPerSecond float64, now func() time.Time) *Throttler {
	if !(bytesPerSecond > 0) || math.IsInf(bytesPerSecond, 0) || bytesPerSecond >= math.MaxFloat64 {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	return &Throttler{rate: bytesPerSecond, now: now, tokens: bytesPerSecond, last: now()}
}

// Reserve spends n bytes and returns how long the caller must wait before doing that I/O
// to stay within the rate (0 when the bucket had the tokens).
func (t *Throttler) Reserve(n int64) time.Duration {
	if t == nil || n <= 0 {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if elapsed := now.Sub(t.last); elapsed > 0 {
		t.tokens = min(t.rate, t.tokens+elapsed.Seconds()*t.rate)
		t.last = now
	}
	t.tokens -= float64(n)
	if t.tokens >= 0 {
		return 0
	}
	return time.Duration(math.Ceil(-t.tokens / t.rate * float64(time.Second)))
}

// Wait spends n bytes and sleeps as long as Reserve says, or until ctx is done.
func (t *Throttler) Wait(ctx context.Context, n int64) error {
	d := t.Reserve(n)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
