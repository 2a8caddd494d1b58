package share

import (
	"context"
	"errors"
	"time"

	"github.com/gregorhq/gregor/internal/records"
	"github.com/gregorhq/gregor/internal/replica"
)

// StateTopic is the internal topic that holds share-partition state, as in Kafka.
const StateTopic = "__share_group_state"

// stateTopicTimeout bounds creating __share_group_state.
const stateTopicTimeout = 10 * time.Second

// stateLog returns __share_group_state's one partition, creating the topic on first use.
func (m *Manager) stateLog() (*replica.Partition, error) {
	ctx, cancel := context.WithTimeout(context.Background(), stateTopicTimeout)
	defer cancel()
	compact := "compact"
	return m.ensureTopic(ctx, StateTopic, map[string]*string{"cleanup.policy": &compact})
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
	stored, err := m.replay(p)
	if err != nil {
		return err
	}
	m.stored, m.loaded = stored, true
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

// persistLocked writes e's state: a ShareSnapshot of the whole window, under the one key of
// the share-partition, so that the newest record alone is the state and compaction, which
// keeps only that one, loses nothing (see the package comment). A failed write is logged:
// the state in memory stays right, and the next write carries all of it again.
func (m *Manager) persistLocked(e *entry) {
	if e.deleted {
		return
	}
	var v StateValue
	v.StartOffset, v.EndOffset, v.Batches = e.sp.Snapshot()
	if err := m.writeState(e.key, EncodeStateValue(v)); err != nil {
		m.log.Warn("writing share-partition state failed", "group", e.key.group, "topic", e.topic, "partition", e.key.partition, "err", err)
	}
}

// writeState appends one record of share-partition k to __share_group_state: a snapshot
// value, or a tombstone when value is nil.
func (m *Manager) writeState(k partKey, value []byte) error {
	p, err := m.stateLog()
	if err != nil {
		return err
	}
	sk := StateKey{Group: k.group, TopicID: k.topicID, Partition: k.partition}
	rec := records.Record{Key: EncodeStateKey(TypeSnapshot, sk), Value: value}
	batch := records.BuildSimple(0, m.clock.Now().UnixMilli(), rec)
	h, err := records.ParseHeader(batch)
	if err != nil {
		return err
	}
	_, err = p.Append(batch, h)
	return err
}
