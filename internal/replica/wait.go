package replica

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Waiter is a fetch waiting for data on some partitions. It is woken, without blocking the
// appender, whenever one of them gets an append; the fetch then reads again and decides
// whether it has enough. No goroutine runs per waiting fetch or partition.
type Waiter struct {
	ch    chan struct{}
	parts []*Partition
}

// NewWaiter registers a waiter on the given partitions. Call Close when done.
func NewWaiter(parts []*Partition) *Waiter {
	w := &Waiter{ch: make(chan struct{}, 1), parts: parts}
	for _, p := range parts {
		p.mu.Lock()
		if p.waiters == nil {
			p.waiters = map[*Waiter]struct{}{}
		}
		p.waiters[w] = struct{}{}
		p.mu.Unlock()
	}
	return w
}

// C receives a value after an append to any of the waiter's partitions.
func (w *Waiter) C() <-chan struct{} { return w.ch }

// Close unregisters the waiter.
func (w *Waiter) Close() {
	for _, p := range w.parts {
		p.mu.Lock()
		delete(p.waiters, w)
		p.mu.Unlock()
	}
}

func (p *Partition) wakeWaitersLocked() {
	for w := range p.waiters {
		select {
		case w.ch <- struct{}{}:
		default: // already signalled
		}
	}
}

// WaitHighWatermark returns once the partition's high watermark is at least offset, or
// kerr.RequestTimedOut when ctx ends first. Coordinators use it to wait until their writes
// are committed, and before a load, until what the old leader acknowledged is.
func (p *Partition) WaitHighWatermark(ctx context.Context, offset int64) error {
	if p.HighWatermark() >= offset {
		return nil
	}
	w := NewWaiter([]*Partition{p})
	defer w.Close()
	for p.HighWatermark() < offset {
		select {
		case <-w.C():
		case <-ctx.Done():
			return kerr.RequestTimedOut
		}
	}
	return nil
}
