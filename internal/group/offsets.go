package group

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/group/consumergroup"
	"github.com/gregorhq/gregor/internal/records"
)

// OffsetCommit commits offsets for a group member (generation and member id checked) or, with
// generation -1, for a group that has no members (a simple or admin commit). The offsets are
// in memory once they are written, and the answer waits for them to be committed.
func (c *Coordinator) OffsetCommit(ctx context.Context, req *kmsg.OffsetCommitRequest) *kmsg.OffsetCommitResponse {
	resp := kmsg.NewPtrOffsetCommitResponse()
	for _, rt := range req.Topics {
		st := kmsg.NewOffsetCommitResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetCommitResponseTopicPartition()
			sp.Partition = rp.Partition
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	setAll := func(code int16) *kmsg.OffsetCommitResponse {
		for i := range resp.Topics {
			for j := range resp.Topics[i].Partitions {
				if resp.Topics[i].Partitions[j].ErrorCode == 0 {
					resp.Topics[i].Partitions[j].ErrorCode = code
				}
			}
		}
		return resp
	}
	if req.Group == "" {
		return setAll(kerr.InvalidGroupID.Code)
	}
	simple := req.Version == 0 || req.Generation < 0
	g, err := c.group(req.Group, simple)
	if err != nil {
		return setAll(errCode(err))
	}
	if g == nil {
		return setAll(kerr.IllegalGeneration.Code)
	}
	if err := g.validateCommitLocked(req); err != nil {
		g.mu.Unlock()
		code, _ := consumergroup.ErrorCode(err)
		return setAll(code)
	}
	now := c.clock.Now().UnixMilli()
	maxMeta := int(c.cfg.Broker.OffsetMetadataMaxBytes)
	type commit struct {
		topic     string
		partition int32
		o         offset
	}
	var commits []commit
	var recs []records.Record
	for i, rt := range req.Topics {
		for j, rp := range rt.Partitions {
			meta := ""
			if rp.Metadata != nil {
				meta = *rp.Metadata
			}
			if len(meta) > maxMeta {
				resp.Topics[i].Partitions[j].ErrorCode = kerr.OffsetMetadataTooLarge.Code
				continue
			}
			o := offset{offset: rp.Offset, leaderEpoch: -1, metadata: meta, commitTimestamp: now, expireTimestamp: -1}
			if req.Version >= 6 {
				o.leaderEpoch = rp.LeaderEpoch
			}
			if req.Version == 1 && rp.Timestamp != -1 {
				o.commitTimestamp = rp.Timestamp
			}
			if req.Version >= 2 && req.Version <= 4 && req.RetentionTimeMillis != -1 {
				o.expireTimestamp = o.commitTimestamp + req.RetentionTimeMillis
			}
			commits = append(commits, commit{rt.Topic, rp.Partition, o})
			recs = append(recs, offsetCommitRecord(req.Group, rt.Topic, rp.Partition, offsetValue(o)))
		}
	}
	var next int64
	if len(recs) > 0 {
		next, err = g.s.log.Append(recs)
		if err != nil {
			g.mu.Unlock()
			return setAll(kerr.CoordinatorNotAvailable.Code)
		}
		base := next - int64(len(recs))
		for i, cm := range commits {
			cm.o.recordOffset = base + int64(i)
			g.setOffsetLocked(cm.topic, cm.partition, cm.o)
		}
	}
	l := g.s.log
	g.mu.Unlock()
	if err := c.waitCommitted(ctx, l, next); err != nil {
		return setAll(errCode(err))
	}
	if c.cfg.OnOffsetCommit != nil {
		for _, cm := range commits {
			c.cfg.OnOffsetCommit(req.Group, cm.topic, cm.partition, cm.o.offset, time.UnixMilli(now))
		}
	}
	return resp
}

// Rebalances is the number of rebalances (new generations of classic groups) this
// coordinator has completed since it started.
func (c *Coordinator) Rebalances() int64 { return c.rebalances.Load() }

// validateCommitLocked is Kafka's ClassicGroup.validateOffsetCommit.
func (g *Group) validateCommitLocked(req *kmsg.OffsetCommitRequest) error {
	if g.state == Dead {
		return kerr.CoordinatorNotAvailable
	}
	if g.share != nil {
		// A share group has no committed offsets of this kind (its progress is the
		// share-partition state); Kafka refuses the commit this way.
		return kerr.GroupIDNotFound
	}
	if g.consumer != nil {
		// OffsetCommit v0 has no member fields: it is a commit from outside the group.
		memberEpoch := req.Generation
		if req.Version == 0 {
			memberEpoch = -1
		}
		return g.consumer.ValidateOffsetCommit(req.MemberID, req.InstanceID, memberEpoch, false, req.Version)
	}
	if req.Version >= 1 && (req.Generation >= 0 || req.MemberID != "" || req.InstanceID != nil) {
		if err := g.validateMemberLocked(req.MemberID, req.InstanceID); err != nil {
			return err
		}
		if req.Generation != g.generation {
			return kerr.IllegalGeneration
		}
		if g.state == CompletingRebalance {
			return kerr.RebalanceInProgress
		}
		g.scheduleSessionLocked(g.members[req.MemberID]) // a commit shows the member is alive
		return nil
	}
	if len(g.members) > 0 {
		// Only a group without members takes commits from outside the group.
		return kerr.UnknownMemberID
	}
	return nil
}

// OffsetFetch returns a group's committed offsets: of the partitions asked for (-1 for those
// without one), or of every partition when topics is nil. memberID (nil when not sent) and
// memberEpoch (-1 when not sent) are OffsetFetch v9's: a member of a consumer group must send
// its current epoch. With requireStable (v7+), a partition with pending transactional offsets
// (of any producer) answers UNSTABLE_OFFSET_COMMIT, so the consumer retries once the
// transaction has ended instead of starting from an offset about to change.
func (c *Coordinator) OffsetFetch(ctx context.Context, groupID string, memberID *string, memberEpoch int32, topics []kmsg.OffsetFetchRequestGroupTopic, requireStable bool) (int16, []kmsg.OffsetFetchResponseGroupTopic) {
	g, err := c.group(groupID, false)
	if err != nil {
		return errCode(err), nil
	}
	var offsets map[string]map[int32]offset
	unstable := func(string, int32) bool { return false }
	if g != nil {
		defer g.mu.Unlock()
		if g.consumer != nil {
			if err := g.consumer.ValidateOffsetFetch(memberID, memberEpoch); err != nil {
				code, _ := consumergroup.ErrorCode(err)
				return code, nil
			}
		}
		offsets = g.offsets
		if requireStable {
			unstable = g.hasPendingTxnLocked
		}
	}
	part := func(t string, p int32, o offset, ok bool) kmsg.OffsetFetchResponseGroupTopicPartition {
		rp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
		rp.Partition = p
		rp.Offset, rp.LeaderEpoch = -1, -1
		meta := ""
		if unstable(t, p) {
			rp.ErrorCode = kerr.UnstableOffsetCommit.Code
		} else if ok {
			rp.Offset, rp.LeaderEpoch, meta = o.offset, o.leaderEpoch, o.metadata
		}
		rp.Metadata = &meta
		return rp
	}
	var out []kmsg.OffsetFetchResponseGroupTopic
	if topics == nil {
		for _, t := range sortedKeys(offsets) {
			rt := kmsg.NewOffsetFetchResponseGroupTopic()
			rt.Topic = t
			for _, p := range sortedPartitions(offsets[t]) {
				rt.Partitions = append(rt.Partitions, part(t, p, offsets[t][p], true))
			}
			out = append(out, rt)
		}
		return 0, out
	}
	for _, t := range topics {
		rt := kmsg.NewOffsetFetchResponseGroupTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			o, ok := offsets[t.Topic][p]
			rt.Partitions = append(rt.Partitions, part(t.Topic, p, o, ok))
		}
		out = append(out, rt)
	}
	return 0, out
}

// OffsetDelete deletes committed offsets of a group, except those of topics the group is
// consuming (GROUP_SUBSCRIBED_TO_TOPIC).
func (c *Coordinator) OffsetDelete(ctx context.Context, req *kmsg.OffsetDeleteRequest) *kmsg.OffsetDeleteResponse {
	resp := kmsg.NewPtrOffsetDeleteResponse()
	g, err := c.group(req.Group, false)
	if err != nil {
		resp.ErrorCode = errCode(err)
		return resp
	}
	if g == nil {
		resp.ErrorCode = kerr.GroupIDNotFound.Code
		return resp
	}
	if g.state == Dead {
		g.mu.Unlock()
		resp.ErrorCode = kerr.GroupIDNotFound.Code
		return resp
	}
	var subscribed func(topic string) bool
	switch {
	case g.consumer != nil && g.consumer.IsEmpty():
		subscribed = func(string) bool { return false }
	case g.consumer != nil:
		subscribed = g.consumerSubscribedLocked()
	case g.state == Empty:
		subscribed = func(string) bool { return false }
	case g.protocolType == "consumer":
		subscribed = g.subscribedLocked()
	default:
		g.mu.Unlock()
		resp.ErrorCode = kerr.NonEmptyGroup.Code
		return resp
	}
	type key struct {
		topic     string
		partition int32
	}
	var dels []key
	var recs []records.Record
	for _, rt := range req.Topics {
		st := kmsg.NewOffsetDeleteResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetDeleteResponseTopicPartition()
			sp.Partition = rp.Partition
			if subscribed(rt.Topic) {
				sp.ErrorCode = kerr.GroupSubscribedToTopic.Code
			} else if _, ok := g.offsets[rt.Topic][rp.Partition]; ok || g.hasPendingTxnLocked(rt.Topic, rp.Partition) {
				// The tombstone deletes pending transactional offsets too (see applyRecord).
				dels = append(dels, key{rt.Topic, rp.Partition})
				recs = append(recs, offsetCommitRecord(g.id, rt.Topic, rp.Partition, nil))
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	var next int64
	if len(recs) > 0 {
		next, err = g.s.log.Append(recs)
		if err != nil {
			g.mu.Unlock()
			return offsetDeleteError(req, kerr.CoordinatorNotAvailable.Code)
		}
		for _, d := range dels {
			g.deleteOffsetLocked(d.topic, d.partition)
			g.deletePendingTxnLocked(d.topic, d.partition)
		}
	}
	l := g.s.log
	g.mu.Unlock()
	if err := c.waitCommitted(ctx, l, next); err != nil {
		return offsetDeleteError(req, errCode(err))
	}
	return resp
}

func offsetDeleteError(req *kmsg.OffsetDeleteRequest, code int16) *kmsg.OffsetDeleteResponse {
	resp := kmsg.NewPtrOffsetDeleteResponse()
	resp.ErrorCode = code
	return resp
}

// subscribedLocked returns whether a consumer group's members subscribe to a topic, from their
// consumer protocol metadata. Metadata that does not decode counts as subscribed to everything,
// so that nothing in use is deleted.
func (g *Group) subscribedLocked() func(string) bool {
	topics := map[string]bool{}
	for _, m := range g.members {
		var md kmsg.ConsumerMemberMetadata
		if err := md.ReadFrom(m.metadataFor(g.protocol)); err != nil {
			return func(string) bool { return true }
		}
		for _, t := range md.Topics {
			topics[t] = true
		}
	}
	return func(t string) bool { return topics[t] }
}

// scheduleExpiry arms the next offsets.retention.check.interval.ms pass of expireOffsets.
func (c *Coordinator) scheduleExpiry() {
	d := time.Duration(c.cfg.Broker.OffsetsRetentionCheckIntervalMs) * time.Millisecond
	if d <= 0 {
		return
	}
	c.afterFunc(d, func() {
		c.expireOffsets()
		c.scheduleExpiry()
	})
}

// expireOffsets deletes, with tombstones, the offsets of empty groups that are older than
// offsets.retention.minutes (counted from the later of the commit and the group becoming
// empty, or at an explicit expire timestamp), and then groups left with nothing. An offset
// with pending transactional offsets of its partition stays, and so does a group that has
// any.
func (c *Coordinator) expireOffsets() {
	now := c.clock.Now()
	retention := time.Duration(c.cfg.Broker.OffsetsRetentionMinutes) * time.Minute
	for _, s := range c.loadedShards() {
		s.Lock()
		if !s.ActiveLocked() {
			s.Unlock()
			continue
		}
		for id, g := range s.groups {
			g.mu.Lock()
			if g.expireLocked(now, retention) {
				delete(s.groups, id)
			}
			g.mu.Unlock()
		}
		s.Unlock()
	}
}

// expireLocked expires g's offsets; it reports whether the group itself is gone.
func (g *Group) expireLocked(now time.Time, retention time.Duration) bool {
	if g.state != Empty || len(g.pending) > 0 || (g.consumer != nil && !g.consumer.IsEmpty()) || (g.share != nil && !g.share.Empty()) {
		return false
	}
	var recs []records.Record
	type key struct {
		topic     string
		partition int32
	}
	var dels []key
	for t, ps := range g.offsets {
		for p, o := range ps {
			if g.hasPendingTxnLocked(t, p) {
				continue // a transaction is about to replace it (Kafka does not expire it)
			}
			var expired bool
			if o.expireTimestamp >= 0 {
				expired = now.UnixMilli() >= o.expireTimestamp
			} else {
				base := max(o.commitTimestamp, g.stateTimestamp.UnixMilli())
				expired = now.UnixMilli() >= base+retention.Milliseconds()
			}
			if expired {
				dels = append(dels, key{t, p})
				recs = append(recs, offsetCommitRecord(g.id, t, p, nil))
			}
		}
	}
	gone := len(dels) == g.offsetCount() && len(g.pendingTxn) == 0
	if gone {
		recs = append(recs, groupMetadataRecord(g.id, nil))
	}
	if len(dels) == 0 && !gone {
		return false
	}
	if _, err := g.s.log.Append(recs); err != nil {
		g.c.log.Warn("expiring offsets failed", "group", g.id, "err", err)
		return false
	}
	for _, d := range dels {
		g.deleteOffsetLocked(d.topic, d.partition)
	}
	if gone {
		g.shutdownLocked(kerr.NotCoordinator.Code)
	}
	return gone
}

func (g *Group) offsetCount() int {
	n := 0
	for _, ps := range g.offsets {
		n += len(ps)
	}
	return n
}
