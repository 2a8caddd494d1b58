package group

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/group/consumergroup"
	"github.com/gregorhq/gregor/internal/group/sharegroup"
	"github.com/gregorhq/gregor/internal/records"
)

// KIP-932 share groups live in the same per-shard map as classic and consumer groups (one
// map keyed by group id keeps the three from sharing a name): a Group whose share field is
// set is a share group, served by the sharegroup state machine. A share group is created by
// a ShareGroupHeartbeat join and never changes type; a ConsumerGroupHeartbeat for it is
// GROUP_ID_NOT_FOUND and a JoinGroup INCONSISTENT_GROUP_PROTOCOL, as Kafka answers. A
// ShareGroupHeartbeat for a group of another type is GROUP_ID_NOT_FOUND.
//
// A share group's existence and epoch are durable: every change of epoch writes a
// ShareGroupMetadata record (key version 11, see records.go), and DeleteGroups its
// tombstone. Replay brings the group back empty at its last epoch, so that it is listed and
// described after a restart or a coordinator move, and its epoch never goes backwards; its
// members (not written, as Kafka's ShareGroupMemberMetadata records would be) rejoin. The
// write is not waited for: a heartbeat answers at once, and an epoch lost in a crash before
// the high watermark passed it is one a member saw but a restarted coordinator does not.

// shareConfig builds the share groups' settings from the broker's group.share.* configs.
func shareConfig(b config.Broker) sharegroup.Config {
	cfg := sharegroup.Config{
		SessionTimeout:    time.Duration(b.GroupShareSessionTimeoutMs) * time.Millisecond,
		HeartbeatInterval: time.Duration(b.GroupShareHeartbeatIntervalMs) * time.Millisecond,
		MaxSize:           int(b.GroupShareMaxSize),
	}
	if cfg.SessionTimeout <= 0 || cfg.HeartbeatInterval <= 0 || cfg.MaxSize < 1 {
		return sharegroup.DefaultConfig()
	}
	return cfg
}

// shareTopics converts the consumer groups' view of the topics to the share groups'.
func shareTopics(topics map[string]consumergroup.TopicInfo) map[string]sharegroup.TopicInfo {
	out := make(map[string]sharegroup.TopicInfo, len(topics))
	for n, t := range topics {
		out[n] = sharegroup.TopicInfo{ID: t.ID, Partitions: t.Partitions}
	}
	return out
}

// ShareGroupHeartbeat serves a ShareGroupHeartbeat: join, heartbeat, subscription change or
// leave. The response is complete but for the throttle time.
func (c *Coordinator) ShareGroupHeartbeat(req *kmsg.ShareGroupHeartbeatRequest, clientID, clientHost string) *kmsg.ShareGroupHeartbeatResponse {
	fail := func(err error) *kmsg.ShareGroupHeartbeatResponse {
		resp := kmsg.NewPtrShareGroupHeartbeatResponse()
		resp.Version = req.Version
		resp.ErrorCode, resp.ErrorMessage = sharegroup.ErrorCode(err)
		return resp
	}
	if err := sharegroup.ValidateHeartbeatRequest(req); err != nil {
		return fail(err)
	}
	g, err := c.shareGroupForHeartbeat(req)
	if err != nil {
		return fail(err)
	}
	resp := g.share.Heartbeat(c.clock.Now(), req, clientID, clientHost)
	g.storeShareEpochLocked()
	g.armShareTimerLocked()
	g.mu.Unlock()
	if req.MemberEpoch == -1 && resp.ErrorCode == 0 {
		c.shareMembersRemoved(req.GroupID, []string{req.MemberID})
	}
	return resp
}

// shareMembersRemoved tells OnShareMemberRemoved of members that left or timed out, with no
// group lock held.
func (c *Coordinator) shareMembersRemoved(groupID string, members []string) {
	if c.cfg.OnShareMemberRemoved == nil {
		return
	}
	for _, m := range members {
		c.cfg.OnShareMemberRemoved(groupID, m)
	}
}

// shareGroupForHeartbeat finds or creates the share group of a heartbeat; its mu is held on
// success.
func (c *Coordinator) shareGroupForHeartbeat(req *kmsg.ShareGroupHeartbeatRequest) (*Group, error) {
	s, err := c.shardFor(req.GroupID)
	if err != nil {
		return nil, err
	}
	defer s.Unlock()
	g := s.groups[req.GroupID]
	if g == nil {
		if req.MemberEpoch != 0 {
			return nil, kerr.UnknownMemberID
		}
		g = c.newGroup(s, req.GroupID)
		g.share = sharegroup.New(req.GroupID, c.shareCfg)
		g.share.SetTopics(shareTopics(c.currentTopics()))
		s.groups[req.GroupID] = g
	}
	g.mu.Lock()
	if g.share == nil {
		g.mu.Unlock()
		return nil, kerr.GroupIDNotFound
	}
	return g, nil
}

// armShareTimerLocked sets the group's timer to its next session deadline; when it fires,
// expired members are removed and the timer re-armed.
func (g *Group) armShareTimerLocked() {
	g.stopConsumerTimerLocked()
	next := g.share.NextDeadline()
	if next.IsZero() {
		return
	}
	g.consumerTimerSeq++
	seq, sg := g.consumerTimerSeq, g.share
	g.consumerTimerStop = g.c.afterFunc(next.Sub(g.c.clock.Now()), func() {
		g.mu.Lock()
		if g.consumerTimerSeq != seq || g.share != sg || g.state == Dead {
			g.mu.Unlock()
			return
		}
		g.consumerTimerStop = nil
		removed := sg.Expire(g.c.clock.Now())
		g.storeShareEpochLocked()
		g.armShareTimerLocked()
		g.mu.Unlock()
		if len(removed) > 0 {
			g.c.shareMembersRemoved(g.id, removed)
		}
	})
}

// ShareGroupDescribe describes one share group; a group that does not exist or is not a
// share group is GROUP_ID_NOT_FOUND, as Kafka answers.
func (c *Coordinator) ShareGroupDescribe(groupID string) kmsg.ShareGroupDescribeResponseGroup {
	fail := func(err error, msg string) kmsg.ShareGroupDescribeResponseGroup {
		d := kmsg.NewShareGroupDescribeResponseGroup()
		d.GroupID = groupID
		d.ErrorCode = errCode(err)
		if msg != "" {
			d.ErrorMessage = &msg
		}
		return d
	}
	g, err := c.group(groupID, false)
	if err != nil {
		return fail(err, "")
	}
	if g == nil {
		return fail(kerr.GroupIDNotFound, "Group "+groupID+" not found.")
	}
	defer g.mu.Unlock()
	if g.share == nil || g.state == Dead {
		return fail(kerr.GroupIDNotFound, "Group "+groupID+" is not a share group.")
	}
	return g.share.Describe()
}

// ShareMember reports whether memberID is a member of share group groupID, and whether it
// is assigned the partition; the error is the coordinator's (NOT_COORDINATOR, ...). A group
// that does not exist, or is not a share group, has no members.
func (c *Coordinator) ShareMember(groupID, memberID string, topicID [16]byte, partition int32) (member, assigned bool, err error) {
	g, err := c.group(groupID, false)
	if err != nil || g == nil {
		return false, false, err
	}
	defer g.mu.Unlock()
	if g.share == nil || g.state == Dead {
		return false, false, nil
	}
	member, assigned = g.share.IsMember(memberID, sharegroup.TopicPartition{Topic: topicID, Partition: partition})
	return member, assigned, nil
}

// ShareGroupOffsetsCheck checks that groupID is a share group whose offsets may be read
// (empty false) or changed (empty true: AlterShareGroupOffsets and DeleteShareGroupOffsets
// need a group without members, as Kafka's do): GROUP_ID_NOT_FOUND for a group that does
// not exist or is of another type, NON_EMPTY_GROUP for one with members, or the
// coordinator's own error (NOT_COORDINATOR, ...).
func (c *Coordinator) ShareGroupOffsetsCheck(groupID string, empty bool) error {
	g, err := c.group(groupID, false)
	if err != nil {
		return err
	}
	if g == nil {
		return kerr.GroupIDNotFound
	}
	defer g.mu.Unlock()
	if g.share == nil || g.state == Dead {
		return kerr.GroupIDNotFound
	}
	if empty && !g.share.Empty() {
		return kerr.NonEmptyGroup
	}
	return nil
}

// storeShareEpochLocked writes the share group's epoch when it moved since the last write.
// A failed write is logged and tried again at the next change.
func (g *Group) storeShareEpochLocked() {
	e := g.share.Epoch()
	if e == g.shareStoredEpoch || g.s.log == nil {
		return
	}
	if _, err := g.s.log.Append([]records.Record{shareGroupMetadataRecord(g.id, e)}); err != nil {
		g.c.log.Warn("writing share group metadata failed", "group", g.id, "err", err)
		return
	}
	g.shareStoredEpoch = e
}

// applyShareGroupRecord applies a replayed ShareGroupMetadata record: the share group exists,
// without members, at epoch; or, for a tombstone (epoch < 0), no longer exists.
func (c *Coordinator) applyShareGroupRecord(s *shard, groups map[string]*Group, id string, epoch int32) {
	g := groups[id]
	if epoch < 0 {
		if g != nil && g.share != nil {
			g.share, g.shareStoredEpoch = nil, 0
			if len(g.offsets) == 0 && len(g.pendingTxn) == 0 && g.protocolType == "" {
				delete(groups, id)
			}
		}
		return
	}
	if g == nil {
		g = c.newGroup(s, id)
		groups[id] = g
	}
	if g.share == nil {
		g.share = sharegroup.New(id, c.shareCfg)
		g.share.SetTopics(shareTopics(c.currentTopics()))
	}
	g.share.RestoreEpoch(epoch)
	g.shareStoredEpoch = g.share.Epoch()
}
