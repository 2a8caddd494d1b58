package perf

import (
	"context"
	"time"
)

// Pacer is a token bucket that holds a sender to a target rate of records per
// second: tokens accrue at the rate up to a burst of 10 ms worth (at least
// one), and each record takes one. A rate of zero or less means unlimited.
type Pacer struct {
	rate   float64
	burst  float64
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
	tokens float64
	last   time.Time
}

// NewPacer returns a pacer for rate records/sec using the clock now.
func NewPacer(rate float64, now func() time.Time) *Pacer {
	return &Pacer{rate: rate, burst: max(1, rate/100), now: now, sleep: sleepCtx, tokens: 1, last: now()}
}

// Wait takes one token, waiting until one is there or ctx is done.
func (p *Pacer) Wait(ctx context.Context) error {
	if p.rate <= 0 {
		return ctx.Err()
	}
	for {
		now := p.now()
		p.tokens = min(p.burst, p.tokens+now.Sub(p.last).Seconds()*p.rate)
		p.last = now
		if p.tokens >= 1 {
			p.tokens--
			return nil
		}
		need := time.Duration((1 - p.tokens) / p.rate * float64(time.Second))
		if err := p.sleep(ctx, need); err != nil {
			return err
		}
	}
}

// sleepCtx waits d, or until ctx is done. Pacing is the one place a sender
// waits on the clock rather than on an event.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
