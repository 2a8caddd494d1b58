package replica

import (
	"errors"
	"path/filepath"
	"time"

	"github.com/gregorhq/gregor/internal/storage"
)

// retentionLoop runs RunRetention every interval until Close.
func (m *Manager) retentionLoop(interval time.Duration) {
	defer close(m.retentionDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-m.stopRetention:
			return
		case <-t.C:
			m.RunRetention()
		}
	}
}

// RunRetention deletes the old segments of every hosted partition once (Kafka's
// LogManager.cleanupLogs): by retention.ms and retention.bytes where cleanup.policy includes
// delete, and, whatever the policy, segments wholly below the log start offset. It rewrites
// the log start offset checkpoint if a log start offset moved, and returns the number of
// segments deleted.
func (m *Manager) RunRetention() int {
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return 0
	}
	parts := make([]*Partition, 0, len(m.partitions))
	for _, p := range m.partitions {
		parts = append(parts, p)
	}
	m.mu.RUnlock()

	total := 0
	for _, p := range parts {
		total += p.deleteOldSegments()
	}
	if total > 0 {
		m.writeLogStartCheckpoint()
	}
	return total
}

// writeLogStartCheckpoint writes every hosted log's start offset to the log dir's
// log-start-offset-checkpoint. A failure is logged: the offsets are written again at the
// next move and at Close.
func (m *Manager) writeLogStartCheckpoint() {
	m.checkpointMu.Lock()
	defer m.checkpointMu.Unlock()
	m.mu.RLock()
	defer m.mu.RUnlock()
	if err := m.writeLogStartCheckpointLocked(); err != nil {
		m.log.Error("writing the log start offset checkpoint failed", "err", err)
	}
}

// writeLogStartCheckpointLocked is writeLogStartCheckpoint; the caller holds checkpointMu and
// mu (shared or not).
func (m *Manager) writeLogStartCheckpointLocked() error {
	offsets := make(map[storage.TopicPartition]int64, len(m.partitions))
	for tp, p := range m.partitions {
		offsets[tp] = p.log.LogStartOffset()
	}
	return storage.WriteCheckpoint(m.cfg.FS, filepath.Join(m.cfg.LogDir, logStartCheckpointFile), offsets)
}

// deleteOldSegments runs retention on the partition's log and returns how many segments went.
func (p *Partition) deleteOldSegments() int {
	// Retention may roll an expired active segment, and a roll snapshots the producer state
	// (OnRoll), which appendMu guards.
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	cfg := p.Config()
	n, err := p.log.DeleteOldSegments(p.HighWatermark(), p.now(), cfg.DeleteEnabled())
	if err != nil && !errors.Is(err, storage.ErrClosed) {
		p.logger.Error("retention failed", "err", err)
	}
	return n
}
