package share

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/metadata"
)

// The share-partition side of the share-group offset admin APIs (KIP-932:
// DescribeShareGroupOffsets, AlterShareGroupOffsets, DeleteShareGroupOffsets). Kafka's group
// coordinator asks its share coordinator (the persister) for these; here the group
// coordinator's handlers ask the Manager, which owns the state of the partitions this
// broker leads. Whether the group is empty (alter and delete need it) is the group
// coordinator's to check before calling.

// PartitionOffset is one share-partition's start offset and lag.
type PartitionOffset struct {
	TopicID   [16]byte
	Topic     string
	Partition int32
	// StartOffset is the share-partition start offset (SPSO).
	StartOffset int64
	// Lag is SharePartition.Lag against the partition's high watermark now; -1 when this
	// broker does not host the partition.
	Lag int64
}

// lagOf is sp's lag against the high watermark of topic's partition, -1 when it is not
// hosted here.
func (m *Manager) lagOf(sp *SharePartition, topic string, partition int32) int64 {
	if topic == "" {
		return -1
	}
	p, err := m.cfg.Replicas.Partition(topic, partition)
	if err != nil {
		return -1
	}
	return sp.Lag(p.HighWatermark())
}

// topicName names a topic id from the current image; "" when it is gone.
func (m *Manager) topicName(id [16]byte) string {
	if t := m.cfg.Controller.Image().TopicsByID[metadata.UUID(id)]; t != nil {
		return t.Name
	}
	return ""
}

// GroupOffsets returns the start offset and lag of every share-partition of group this
// broker has state for (in use, or stored and not yet used since the start), sorted by
// topic and partition. Share-partitions of topics that no longer exist are left out.
func (m *Manager) GroupOffsets(group string) ([]PartitionOffset, error) {
	m.storeMu.Lock()
	if err := m.loadLocked(); err != nil {
		m.storeMu.Unlock()
		return nil, err
	}
	type found struct {
		k  partKey
		sp *SharePartition // a stored state, read under storeMu
		e  *entry
	}
	var all []found
	for k, sp := range m.stored {
		if k.group == group {
			all = append(all, found{k: k, sp: sp})
		}
	}
	m.mu.Lock()
	for k, e := range m.entries {
		if k.group == group {
			all = append(all, found{k: k, e: e})
		}
	}
	m.mu.Unlock()
	var out []PartitionOffset
	for _, f := range all {
		po := PartitionOffset{TopicID: f.k.topicID, Topic: m.topicName(f.k.topicID), Partition: f.k.partition}
		if po.Topic == "" {
			continue
		}
		if f.e != nil {
			f.e.mu.Lock()
			po.StartOffset, po.Lag = f.e.sp.StartOffset(), m.lagOf(f.e.sp, po.Topic, po.Partition)
			f.e.mu.Unlock()
		} else {
			po.StartOffset, po.Lag = f.sp.StartOffset(), m.lagOf(f.sp, po.Topic, po.Partition)
		}
		out = append(out, po)
	}
	m.storeMu.Unlock()
	slices.SortFunc(out, func(a, b PartitionOffset) int {
		if a.Topic != b.Topic {
			if a.Topic < b.Topic {
				return -1
			}
			return 1
		}
		return int(a.Partition - b.Partition)
	})
	return out, nil
}

// AlterOffset resets share-partition (group, topic id, partition) to start at offset, with
// nothing in flight, and writes that state: consumption starts again at offset. The group
// must be empty (the caller checks): records a member still held would be forgotten. This
// broker must lead the partition.
func (m *Manager) AlterOffset(group string, id [16]byte, partition int32, offset int64) error {
	if offset < 0 {
		return kerr.InvalidRequest
	}
	t, err := m.topicByID(id, partition)
	if err != nil {
		return err
	}
	k := partKey{group, id, partition}
	m.storeMu.Lock()
	if err := m.loadLocked(); err != nil {
		m.storeMu.Unlock()
		return err
	}
	delete(m.stored, k)
	m.mu.Lock()
	e := m.entries[k]
	if e == nil {
		e = &entry{key: k, topic: t.Name, sp: NewSharePartition(offset, m.limits), reported: -1,
			leaderEpoch: t.Partitions[partition].LeaderEpoch}
		m.entries[k] = e
	}
	m.mu.Unlock()
	m.storeMu.Unlock()

	e.mu.Lock()
	if e.timerStop != nil {
		e.timerStop()
		e.timerStop = nil
	}
	e.timerSeq++
	e.sp = NewSharePartition(offset, m.limits)
	w := m.afterChangeLocked(e, true)
	e.mu.Unlock()
	return waitDurable(w)
}

// DeleteOffsets removes the state of every share-partition of group on topic id: what is
// in memory, and, by a tombstone, what __share_group_state holds. The next use of such a
// share-partition starts afresh where group.share.auto.offset.reset says. The group must
// be empty (the caller checks).
func (m *Manager) DeleteOffsets(group string, id [16]byte) error {
	return m.deleteMatching(func(k partKey) bool { return k.group == group && k.topicID == id })
}

// DeleteGroup removes the state of every share-partition of group, as DeleteOffsets does
// for one topic: the group was deleted (Kafka's DeleteShareGroupState). A group that never
// had share state costs nothing: without __share_group_state there is nothing to delete,
// and the topic is not created for it.
func (m *Manager) DeleteGroup(group string) error {
	if m.cfg.Controller.Image().Topics[StateTopic] == nil {
		return nil
	}
	return m.deleteMatching(func(k partKey) bool { return k.group == group })
}

// deleteMatching removes the share-partitions whose keys match, in memory and on the log.
func (m *Manager) deleteMatching(match func(partKey) bool) error {
	m.storeMu.Lock()
	defer m.storeMu.Unlock()
	if err := m.loadLocked(); err != nil {
		return err
	}
	var keys []partKey
	for k := range m.stored {
		if match(k) {
			keys = append(keys, k)
			delete(m.stored, k)
		}
	}
	var removed []*entry
	m.mu.Lock()
	for k, e := range m.entries {
		if match(k) {
			keys = append(keys, k)
			removed = append(removed, e)
			delete(m.entries, k)
		}
	}
	m.mu.Unlock()
	for _, e := range removed {
		e.mu.Lock()
		e.deleted = true
		if e.timerStop != nil {
			e.timerStop()
			e.timerStop = nil
		}
		e.timerSeq++
		e.mu.Unlock()
	}
	for _, k := range keys {
		w, err := m.writeState(k, nil)
		if err == nil {
			err = waitDurable(w)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// reportLocked tells Config.OnStartOffset of e's start offset when it moved since the last
// report. e.mu is held.
func (m *Manager) reportLocked(e *entry) {
	start := e.sp.StartOffset()
	if m.cfg.OnStartOffset == nil || e.deleted || start == e.reported {
		return
	}
	e.reported = start
	m.cfg.OnStartOffset(e.key.group, e.topic, e.key.partition, start, m.clock.Now())
}
