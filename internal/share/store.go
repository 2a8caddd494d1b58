package share

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/coordinator"
	"github.com/gregorhq/gregor/internal/records"
	"github.com/gregorhq/gregor/internal/replica"
)

// StateTopic is the internal topic that holds share-partition state, as in Kafka.
const StateTopic = "__share_group_state"

// stateTopicTimeout bounds creating __share_group_state.
const stateTopicTimeout = 10 * time.Second

// stateTarget is where __share_group_state's one partition is written and read: this
// broker's replica when it leads the partition, else the leader, over Config.Request.
type stateTarget struct {
	local   *replica.Partition // nil when another broker leads
	leader  int32
	topicID [16]byte
}

// stateLog returns __share_group_state's leader, creating the topic on first use with
// share.coordinator.state.topic.replication.factor replicas.
func (m *Manager) stateLog() (stateTarget, error) {
	ctx, cancel := context.WithTimeout(context.Background(), stateTopicTimeout)
	defer cancel()
	compact := "compact"
	if err := m.createTopic(ctx, StateTopic, m.cfg.Broker.ShareCoordinatorStateTopicReplicationFactor, map[string]*string{"cleanup.policy": &compact}); err != nil {
		return stateTarget{}, err
	}
	t := m.cfg.Controller.Image().Topics[StateTopic]
	if t == nil || len(t.Partitions) == 0 {
		return stateTarget{}, kerr.CoordinatorNotAvailable
	}
	st := stateTarget{leader: t.Partitions[0].Leader, topicID: [16]byte(t.ID)}
	switch {
	case st.leader == m.cfg.NodeID:
		p, err := m.cfg.Replicas.Partition(StateTopic, 0)
		if err != nil {
			// Just created: the replica manager has not seen the image with it yet.
			if err := m.cfg.Replicas.Apply(m.cfg.Controller.Image()); err != nil {
				return stateTarget{}, err
			}
			if p, err = m.cfg.Replicas.Partition(StateTopic, 0); err != nil {
				return stateTarget{}, err
			}
		}
		st.local = p
	case st.leader < 0 || m.cfg.Request == nil:
		return stateTarget{}, kerr.CoordinatorNotAvailable
	}
	return st, nil
}

// takeStoredLocked returns the replayed state of a share-partition, nil when it has none.
// It replays __share_group_state anew: the share-partition may have been served by another
// broker (the data partition's leader before) since this one last read it. storeMu is held.
func (m *Manager) takeStoredLocked(k partKey) (*SharePartition, error) {
	if err := m.loadLocked(); err != nil {
		return nil, err
	}
	sp := m.stored[k]
	delete(m.stored, k)
	return sp, nil
}

// loadLocked replays __share_group_state into stored, leaving out the share-partitions in
// use here (their entries are newer). storeMu is held.
func (m *Manager) loadLocked() error {
	stored, err := m.readState()
	if err != nil {
		return err
	}
	m.mu.Lock()
	for k := range m.entries {
		delete(stored, k)
	}
	m.mu.Unlock()
	m.stored = stored
	return nil
}

// readStateLog replays the committed records of __share_group_state (Manager.readState).
func (m *Manager) readStateLog() (map[partKey]*SharePartition, error) {
	st, err := m.stateLog()
	if err != nil {
		return nil, err
	}
	if st.local == nil {
		return m.replay(m.remoteReader(st))
	}
	// Records the old leader committed can be above a new leader's high watermark
	// (coordinator.WaitCaughtUp); a replay before it catches up would miss them. If it does
	// not catch up in time, the load fails and the next use tries again.
	if err := coordinator.WaitCaughtUp(st.local); err != nil {
		return nil, kerr.CoordinatorLoadInProgress
	}
	return m.replay(localReader(st.local))
}

// logReader reads whole batches of __share_group_state from offset (none past the end of
// the committed log): at most one read's worth, nil when there is nothing more.
type logReader struct {
	start func() (int64, error)
	read  func(offset int64) ([]byte, error)
}

func localReader(p *replica.Partition) logReader {
	return logReader{
		start: func() (int64, error) { return p.LogStartOffset(), nil },
		read: func(off int64) ([]byte, error) {
			res, err := p.Read(off, 1<<20, true)
			if err != nil {
				return nil, err
			}
			return res.Region.ReadBytes()
		},
	}
}

// replay reads __share_group_state from its start: a snapshot replaces a share-partition's
// state, a tombstone deletes it. An update (written by earlier versions, which wrote
// ShareUpdate records between snapshots) is merged into the state; a snapshot written since
// replaces it. Undecodable records are skipped with a warning.
func (m *Manager) replay(lr logReader) (map[partKey]*SharePartition, error) {
	out := map[partKey]*SharePartition{}
	start, err := lr.start()
	if err != nil {
		return nil, err
	}
	_, err = coordinator.ReadBatches(start, lr.read, func(h records.Header, batch []byte) error {
		if h.Control() {
			return nil
		}
		return records.ForEachRecord(batch, func(r records.Record) bool {
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
	})
	if err != nil {
		return nil, err
	}
	return out, nil
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
	if !m.leads(e) {
		// Leadership moved: the new leader serves the share-partition from what was
		// committed; writing this entry's state now would overwrite its.
		e.deleted = true
		return &replica.PendingWrite{Err: kerr.NotLeaderForPartition}
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
// value, or a tombstone when value is nil. On this broker's replica the record is committed
// once the returned write is (waitDurable); on another broker's, the write is sent with
// acks=all and is committed when it returns (the returned write is nil).
func (m *Manager) writeState(k partKey, value []byte) (*replica.PendingWrite, error) {
	st, err := m.stateLog()
	if err != nil {
		return nil, err
	}
	sk := StateKey{Group: k.group, TopicID: k.topicID, Partition: k.partition}
	rec := records.Record{Key: EncodeStateKey(TypeSnapshot, sk), Value: value}
	batch := records.BuildSimple(0, m.clock.Now().UnixMilli(), rec)
	if st.local == nil {
		return nil, m.remoteWrite(st, batch)
	}
	h, err := records.ParseHeader(batch)
	if err != nil {
		return nil, err
	}
	res, err := st.local.Append(batch, h)
	if err != nil {
		return nil, err
	}
	return &replica.PendingWrite{P: st.local, NextOffset: res.LastOffset + 1, Epoch: res.LeaderEpoch}, nil
}
