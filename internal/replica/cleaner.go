package replica

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"time"

	"github.com/gregorhq/gregor/internal/storage"
)

// cleanerCheckpointFile is Kafka's per-log-dir file of cleaner checkpoints: for each compacted
// log, the offset below which it is clean (the first dirty offset).
const cleanerCheckpointFile = "cleaner-offset-checkpoint"

// minCleanerBackoff keeps log.cleaner.backoff.ms=0 from spinning when nothing is dirty.
const minCleanerBackoff = 10 * time.Millisecond

// cleaner is the log cleaner of a Manager (Kafka's LogCleaner with one thread): a goroutine
// that, while some compacted partition needs it, cleans the dirtiest one, and otherwise waits
// log.cleaner.backoff.ms.
//
// Lock order: passMu, then Manager.mu (taken shared, briefly, to list partitions), then mu.
type cleaner struct {
	m        *Manager
	throttle *storage.Throttler
	backoff  time.Duration
	cancel   context.CancelFunc
	done     chan struct{} // closed when the goroutine has returned; nil when not started

	// passMu serializes passes: the goroutine's and CleanNow's.
	passMu sync.Mutex

	mu sync.Mutex
	// Guarded by mu.
	//
	// checkpoints are the first dirty offsets (cleaner-offset-checkpoint); horizons the
	// latest delete horizon (ms) of each log's remaining tombstones, once a pass saw some.
	checkpoints map[storage.TopicPartition]int64
	horizons    map[storage.TopicPartition]int64
}

// newCleaner reads the cleaner checkpoint and, if log.cleaner.enable, starts the goroutine.
func newCleaner(m *Manager) *cleaner {
	c := &cleaner{
		m:           m,
		throttle:    storage.NewThrottler(m.cfg.CleanerIoMaxBytesPerSecond, m.cfg.Now),
		backoff:     max(m.cfg.CleanerBackoff, minCleanerBackoff),
		horizons:    map[storage.TopicPartition]int64{},
		checkpoints: map[storage.TopicPartition]int64{},
	}
	cp, err := storage.ReadCheckpoint(m.cfg.FS, filepath.Join(m.cfg.LogDir, cleanerCheckpointFile))
	if err != nil {
		m.log.Warn("unreadable cleaner checkpoint; compacted logs will be cleaned from the start", "err", err)
	} else {
		c.checkpoints = cp
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	if m.cfg.CleanerEnable {
		c.done = make(chan struct{})
		go c.run(ctx)
	}
	return c
}

// run is the cleaner goroutine.
func (c *cleaner) run(ctx context.Context) {
	defer close(c.done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		c.cleanAll(ctx)
		timer.Reset(c.backoff)
	}
}

// stop cancels a pass in progress and waits for the goroutine to return.
func (c *cleaner) stop() {
	c.cancel()
	if c.done != nil {
		<-c.done
	}
}

// CleanNow runs the log cleaner until no compacted partition needs cleaning, whether or not
// log.cleaner.enable is set. It returns when done.
func (m *Manager) CleanNow() { m.cleaner.cleanAll(context.Background()) }

// cleanAll cleans the dirtiest log until none needs it.
func (c *cleaner) cleanAll(ctx context.Context) {
	c.passMu.Lock()
	defer c.passMu.Unlock()
	// Each pass either cleans a log past its threshold, whose dirty section it empties, or
	// drops tombstones whose horizon passed; the bound only guards against a log that keeps
	// asking.
	for range 1000 {
		if ctx.Err() != nil || !c.cleanOnce(ctx) {
			return
		}
	}
}

// cleanOnce picks the compacted partition with the highest dirty ratio among those that
// need cleaning (Kafka's grabFilthiestCompactedLog), or else one whose tombstones' delete
// horizon has passed, and cleans it. It reports whether it cleaned one.
func (c *cleaner) cleanOnce(ctx context.Context) bool {
	c.m.mu.RLock()
	var parts []*Partition
	if !c.m.closed {
		for _, p := range c.m.partitions {
			if p.Config().CompactEnabled() {
				parts = append(parts, p)
			}
		}
	}
	c.m.mu.RUnlock()

	now := c.m.cfg.Now()
	var (
		best      *Partition
		bestOpts  storage.CleanOptions
		bestRatio = -1.0
	)
	for _, p := range parts {
		opts := c.options(p, now)
		cl, err := p.log.Cleanable(opts)
		if err != nil || !cl.ShouldClean(opts.MinCleanableDirtyRatio) {
			continue
		}
		if r := cl.DirtyRatio(); r > bestRatio {
			best, bestOpts, bestRatio = p, opts, r
		}
	}
	if best == nil {
		c.mu.Lock()
		for _, p := range parts {
			if h, ok := c.horizons[p.TP]; ok && h >= 0 && h <= now.UnixMilli() {
				best, bestOpts = p, c.optionsLocked(p, now)
				bestOpts.Force = true
				break
			}
		}
		c.mu.Unlock()
	}
	if best == nil {
		return false
	}
	st, err := best.log.Clean(ctx, bestOpts)
	if err != nil {
		if !errors.Is(err, storage.ErrClosed) && ctx.Err() == nil {
			c.m.log.Error("cleaning log failed", "topic", best.TP.Topic, "partition", best.TP.Partition, "err", err)
		}
		return false
	}
	// The partition may have been deleted (and forgotten) during the pass, and a new topic
	// of the same name must not inherit this one's clean offset.
	c.m.mu.RLock()
	current := c.m.partitions[best.TP] == best
	if current {
		c.mu.Lock()
		c.checkpoints[best.TP] = st.FirstDirtyOffset
		c.horizons[best.TP] = st.DeleteHorizon
		c.mu.Unlock()
	}
	c.m.mu.RUnlock()
	if !current {
		return false
	}
	if err := c.writeCheckpoint(); err != nil {
		c.m.log.Warn("writing the cleaner checkpoint failed", "err", err)
	}
	return true
}

// options are the CleanOptions of partition p now.
func (c *cleaner) options(p *Partition, now time.Time) storage.CleanOptions {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.optionsLocked(p, now)
}

func (c *cleaner) optionsLocked(p *Partition, now time.Time) storage.CleanOptions {
	cfg := p.Config()
	firstDirty, ok := c.checkpoints[p.TP]
	if !ok {
		firstDirty = -1 // the log start offset
	}
	return storage.CleanOptions{
		Now:                    now,
		UpperBound:             p.LastStableOffset(), // open transactions are not cleaned
		FirstDirtyOffset:       firstDirty,
		DeleteRetentionMs:      cfg.DeleteRetentionMs,
		MinCompactionLagMs:     cfg.MinCompactionLagMs,
		MaxCompactionLagMs:     cfg.MaxCompactionLagMs,
		MinCleanableDirtyRatio: cfg.MinCleanableDirtyRatio,
		Throttle:               c.throttle,
	}
}

// writeCheckpoint writes the checkpoints of the compacted partitions still hosted.
func (c *cleaner) writeCheckpoint() error {
	c.m.mu.RLock()
	hosted := make(map[storage.TopicPartition]bool, len(c.m.partitions))
	for tp := range c.m.partitions {
		hosted[tp] = true
	}
	c.m.mu.RUnlock()
	c.mu.Lock()
	cp := make(map[storage.TopicPartition]int64, len(c.checkpoints))
	for tp, off := range c.checkpoints {
		if hosted[tp] {
			cp[tp] = off
		}
	}
	c.mu.Unlock()
	return storage.WriteCheckpoint(c.m.cfg.FS, filepath.Join(c.m.cfg.LogDir, cleanerCheckpointFile), cp)
}

// forget drops what the cleaner knows of a deleted partition, so that a new topic with the
// same name starts clean-less. The caller may hold Manager.mu.
func (c *cleaner) forget(tp storage.TopicPartition) {
	c.mu.Lock()
	delete(c.checkpoints, tp)
	delete(c.horizons, tp)
	c.mu.Unlock()
}
