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

// snapshotEvery is how many ShareUpdate records a share-partition writes before it writes a
// ShareSnapshot again (Kafka's share.coordinator.snapshot.update.records.per.snapshot
// default is 500; Gregor's updates are small and replay reads them all, so it snapshots
// more often).
const snapshotEvery = 50

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
	if !m.loaded {
		p, err := m.stateLog()
		if err != nil {
			return nil, err
		}
		stored, err := m.replay(p)
		if err != nil {
			return nil, err
		}
		m.stored, m.loaded = stored, true
	}
	sp := m.stored[k]
	delete(m.stored, k)
	return sp, nil
}

// replay reads __share_group_state from its start: a snapshot replaces a share-partition's
// state, an update is merged into it, a tombstone deletes it. Undecodable records are
// skipped with a warning.
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

// persistLocked writes e's state after a change to offsets [first, last]: a ShareUpdate
// with their state, or every snapshotEvery updates a ShareSnapshot. A failed write is
// logged: the state in memory stays right, and the next write carries a snapshot.
func (m *Manager) persistLocked(e *entry, first, last int64) {
	sk := StateKey{Group: e.key.group, TopicID: e.key.topicID, Partition: e.key.partition}
	typ := TypeUpdate
	var v StateValue
	if e.updates >= snapshotEvery {
		typ = TypeSnapshot
		v.StartOffset, v.EndOffset, v.Batches = e.sp.Snapshot()
	} else {
		v.StartOffset, v.EndOffset = e.sp.StartOffset(), e.sp.EndOffset()
		// Offsets acquired since the last write are named too: replay takes an offset
		// inside the window that no record names as done.
		lo, hi := first, last
		if e.persistedEnd < v.EndOffset {
			lo, hi = min(lo, e.persistedEnd), v.EndOffset-1
		}
		v.Batches = e.sp.Batches(lo, hi)
	}
	p, err := m.stateLog()
	if err == nil {
		rec := records.Record{Key: EncodeStateKey(typ, sk), Value: EncodeStateValue(v)}
		batch := records.BuildSimple(0, m.clock.Now().UnixMilli(), rec)
		var h records.Header
		if h, err = records.ParseHeader(batch); err == nil {
			_, err = p.Append(batch, h)
		}
	}
	if err != nil {
		m.log.Warn("writing share-partition state failed", "group", e.key.group, "topic", e.topic, "partition", e.key.partition, "err", err)
		e.updates = snapshotEvery
		return
	}
	e.persistedEnd = v.EndOffset
	if typ == TypeSnapshot {
		e.updates = 0
	} else {
		e.updates++
	}
}
