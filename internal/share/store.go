package share

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/records"
	"github.com/gregorhq/gregor/internal/replica"
)

// StateTopic is the internal topic that holds share-partition state, as in Kafka.
const StateTopic = "__share_group_state"

// stateTopicTimeout bounds creating __share_group_state.
const stateTopicTimeout = 10 * time.Second

// stateLog returns this broker's replica of __share_group_state's one partition, creating
// the topic on first use with share.coordinator.state.topic.replication.factor replicas.
func (m *Manager) stateLog() (*replica.Partition, error) {
	ctx, cancel := context.WithTimeout(context.Background(), stateTopicTimeout)
	defer cancel()
	compact := "compact"
	return m.ensureTopic(ctx, StateTopic, m.cfg.Broker.ShareCoordinatorStateTopicReplicationFactor, map[string]*string{"cleanup.policy": &compact})
}

// takeStoredLocked returns the replayed state of a share-partition, nil when it has none;
// the first call replays __share_group_state. storeMu is held.
func (m *Manager) takeStoredLocked(k partKey) (*SharePartition, error) {
	if err := m.loadLocked(); err != nil {
		return nil, err
	}
	sp := m.stored[k]
	delete(m.stored, k)
	return sp, nil
}

// loadLocked replays __share_group_state into stored the first time it is called. storeMu
// is held.
func (m *Manager) loadLocked() error {
	if m.loaded {
		return nil
	}
	p, err := m.stateLog()
	if err != nil {
		return err
	}
	if err := waitCaughtUp(p); err != nil {
		return err
	}
	stored, err := m.replay(p)
	if err != nil {
		return err
	}
	m.stored, m.loaded = stored, true
	return nil
}

// catchUpTimeout bounds how long a load waits for the state topic's high watermark to reach
// its log end offset (waitCaughtUp); after it the load fails, and the next use tries again.
const catchUpTimeout = 5 * time.Second

// waitCaughtUp waits until p's high watermark reaches its log end offset as of the call.
// replay reads only below the high watermark (committed state), and a broker that has just
// become the state topic's leader knows the high watermark only as its last fetch from the
// old leader told it: records the old leader had committed (acknowledgements it answered)
// can be above it. They are committed again once the followers fetch from this leader.
func waitCaughtUp(p *replica.Partition) error {
	end := p.LogEndOffset()
	if p.HighWatermark() >= end {
		return nil
	}
	w := replica.NewWaiter([]*replica.Partition{p})
	defer w.Close()
	timer := time.NewTimer(catchUpTimeout)
	defer timer.Stop()
	for p.HighWatermark() < end {
		select {
		case <-w.C():
		case <-timer.C:
			return kerr.CoordinatorLoadInProgress
		}
	}
	return nil
}

// replay reads __share_group_state from its start: a snapshot replaces a share-partition's
// state, a tombstone deletes it. An update (written by earlier versions, which wrote
// ShareUpdate records between snapshots) is merged into the state; a snapshot written since
// replaces it. Undecodable records are skipped with a warning.
func (m *Manager) replay(p *replica.Partition) (map[partKey]*SharePartition, error) {
	out := map[partKey]*SharePartition{}
	off := p.LogStartOffset()
	for {
		res, err := p.Read(off, 1<<20, true)
		if err != nil {
			return nil, err
		}
		data, err := res.Region.ReadBytes()
		if err != nil {
			return nil, err
		}
		if len(data) == 0 {
			return out, nil
		}
		progressed := false
		for len(data) > 0 {
			h, err := records.ParseHeader(data)
			if err != nil || h.Size() > int64(len(data)) {
				break
			}
			batch := data[:h.Size()]
			data = data[h.Size():]
			off, progressed = h.NextOffset(), true
			if h.Control() {
				continue
			}
			err = records.ForEachRecord(batch, func(r records.Record) bool {
				typ, sk, v, err := DecodeState(r.Key, r.Value)
				if err != nil {
					m.log.Warn("skipping undecodable __share_group_state record", "err", err)
					return true
				}
				k := partKey{sk.Group, sk.TopicID, sk.Partition}
				switch {
				case v == nil:
					delete(out, k)
				case typ == TypeSnapshot || out[k] == nil:
					sp := NewSharePartition(v.StartOffset, m.limits)
					sp.Restore(v.StartOffset, v.EndOffset, v.Batches)
					out[k] = sp
				default:
					out[k].Merge(v.StartOffset, v.EndOffset, v.Batches)
				}
				return true
			})
			if err != nil {
				return nil, err
			}
		}
		if !progressed {
			return nil, errors.New("share: replay made no progress")
		}
	}
}

// stateWriteTimeout bounds how long an acknowledgement waits for its state record to be
// committed on __share_group_state (Kafka's share.coordinator.write.timeout.ms default).
const stateWriteTimeout = 5 * time.Second

// persistLocked writes e's state: a ShareSnapshot of the whole window, under the one key of
// the share-partition, so that the newest record alone is the state and compaction, which
// keeps only that one, loses nothing (see the package comment). It returns the write, for a
// caller that must wait for it to be committed (waitDurable), or nil when nothing was
// written. A failed write is logged: the state in memory stays right, and the next write
// carries all of it again.
func (m *Manager) persistLocked(e *entry) *replica.PendingWrite {
	if e.deleted {
		return nil
	}
	var v StateValue
	v.StartOffset, v.EndOffset, v.Batches = e.sp.Snapshot()
	w, err := m.writeState(e.key, EncodeStateValue(v))
	if err != nil {
		m.log.Warn("writing share-partition state failed", "group", e.key.group, "topic", e.topic, "partition", e.key.partition, "err", err)
		return &replica.PendingWrite{Err: err}
	}
	return w
}

// waitDurable waits until w is committed on __share_group_state: its high watermark is past
// the record, so every in-sync replica has it and a new leader of the state topic replays
// it. An acknowledgement is answered only after this, so that a leader change cannot lose
// one the client was told succeeded. It returns the write's error (NOT_LEADER_OR_FOLLOWER
// when this broker lost the state topic's leadership, REQUEST_TIMED_OUT after
// stateWriteTimeout); nil w is done. No lock may be held: the wait can be long.
func waitDurable(w *replica.PendingWrite) error {
	if w == nil {
		return nil
	}
	if w.Err == nil {
		replica.WaitReplicated(context.Background(), []*replica.PendingWrite{w}, stateWriteTimeout)
	}
	return w.Err
}

// writeState appends one record of share-partition k to __share_group_state: a snapshot
// value, or a tombstone when value is nil. The record is committed once the returned write
// is (waitDurable).
func (m *Manager) writeState(k partKey, value []byte) (*replica.PendingWrite, error) {
	p, err := m.stateLog()
	if err != nil {
		return nil, err
	}
	sk := StateKey{Group: k.group, TopicID: k.topicID, Partition: k.partition}
	rec := records.Record{Key: EncodeStateKey(TypeSnapshot, sk), Value: value}
	batch := records.BuildSimple(0, m.clock.Now().UnixMilli(), rec)
	h, err := records.ParseHeader(batch)
	if err != nil {
		return nil, err
	}
	res, err := p.Append(batch, h)
	if err != nil {
		return nil, err
	}
	return &replica.PendingWrite{P: p, NextOffset: res.LastOffset + 1, Epoch: res.LeaderEpoch}, nil
}
