package group

import (
	"context"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/coordinator"
	"github.com/gregorhq/gregor/internal/group/consumergroup"
	"github.com/gregorhq/gregor/internal/group/sharegroup"
	"github.com/gregorhq/gregor/internal/records"
)

// ListGroups lists the groups of the partitions this broker leads, filtered by state and type
// (case-insensitive; empty filters match all). While a partition loads, the error is
// COORDINATOR_LOAD_IN_PROGRESS, with the groups of the partitions already loaded.
func (c *Coordinator) ListGroups(states, types []string) (int16, []kmsg.ListGroupsResponseGroup) {
	match := func(filter []string, v string) bool {
		if len(filter) == 0 {
			return true
		}
		for _, f := range filter {
			if strings.EqualFold(f, v) {
				return true
			}
		}
		return false
	}
	var code int16
	var out []kmsg.ListGroupsResponseGroup
	for _, s := range c.loadedShards() {
		s.Lock()
		if s.StateLocked() == coordinator.Loading {
			code = kerr.CoordinatorLoadInProgress.Code
		}
		for _, g := range s.groups {
			g.mu.Lock()
			typ, protocolType, state := TypeClassic, g.protocolType, string(g.state)
			if g.consumer != nil {
				typ, protocolType, state = TypeConsumer, consumergroup.ProtocolType, g.consumer.State()
			}
			if g.share != nil {
				typ, protocolType, state = TypeShare, sharegroup.ProtocolType, g.share.State()
			}
			if g.state != Dead && match(states, state) && match(types, typ) {
				lg := kmsg.NewListGroupsResponseGroup()
				lg.Group, lg.ProtocolType, lg.GroupState, lg.GroupType = g.id, protocolType, state, typ
				out = append(out, lg)
			}
			g.mu.Unlock()
		}
		s.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	return code, out
}

// DescribeGroup describes one group; a group that does not exist is Dead, as Kafka answers.
// So is a consumer group: Kafka's DescribeGroups describes classic groups only, and says
// GROUP_ID_NOT_FOUND for the others only from version 6 (not served), Dead before it.
func (c *Coordinator) DescribeGroup(groupID string) kmsg.DescribeGroupsResponseGroup {
	dg := kmsg.NewDescribeGroupsResponseGroup()
	dg.Group = groupID
	g, err := c.group(groupID, false)
	if err != nil {
		dg.ErrorCode = errCode(err)
		return dg
	}
	if g == nil {
		dg.State = string(Dead)
		return dg
	}
	defer g.mu.Unlock()
	if g.consumer != nil || g.share != nil {
		dg.State = string(Dead)
		return dg
	}
	dg.State = string(g.state)
	dg.ProtocolType = g.protocolType
	stable := g.state == Stable
	if stable && g.protocol != nil {
		dg.Protocol = *g.protocol
	}
	for _, id := range g.memberIDsLocked() {
		m := g.members[id]
		dm := kmsg.NewDescribeGroupsResponseGroupMember()
		dm.MemberID, dm.InstanceID, dm.ClientID, dm.ClientHost = m.id, m.instanceID, m.clientID, m.clientHost
		dm.ProtocolMetadata, dm.MemberAssignment = []byte{}, []byte{}
		if stable {
			dm.ProtocolMetadata = m.metadataFor(g.protocol)
			dm.MemberAssignment = m.assignment
		}
		dg.Members = append(dg.Members, dm)
	}
	return dg
}

// DeleteGroups deletes empty groups and their offsets (tombstones for each); a group with
// members is NON_EMPTY_GROUP. Pending transactional offsets go too, as in Kafka: a tombstone
// deletes a partition's pending offsets, so a later commit of their transaction finds nothing.
func (c *Coordinator) DeleteGroups(ctx context.Context, ids []string) []kmsg.DeleteGroupsResponseGroup {
	var out []kmsg.DeleteGroupsResponseGroup
	for _, id := range ids {
		dg := kmsg.NewDeleteGroupsResponseGroup()
		dg.Group = id
		dg.ErrorCode = c.deleteGroup(ctx, id)
		out = append(out, dg)
	}
	return out
}

func (c *Coordinator) deleteGroup(ctx context.Context, id string) int16 {
	if id == "" {
		return kerr.InvalidGroupID.Code
	}
	s, err := c.shardFor(id)
	if err != nil {
		return errCode(err)
	}
	g := s.groups[id]
	if g == nil {
		s.Unlock()
		return kerr.GroupIDNotFound.Code
	}
	g.mu.Lock()
	code, next := g.deleteLocked()
	if code == 0 {
		delete(s.groups, id)
	}
	l := s.log
	g.mu.Unlock()
	s.Unlock()
	if code != 0 {
		return code
	}
	if c.cfg.OnGroupDeleted != nil {
		c.cfg.OnGroupDeleted(id)
	}
	return errCode(c.waitCommitted(ctx, l, next))
}

func (g *Group) deleteLocked() (int16, int64) {
	if g.share != nil && g.state != Dead && !g.share.Empty() {
		return kerr.NonEmptyGroup.Code, 0
	}
	if g.consumer != nil && g.state != Dead {
		if err := g.consumer.ValidateDelete(); err != nil {
			return errCode(err), 0
		}
	}
	switch g.state {
	case Dead:
		return kerr.GroupIDNotFound.Code, 0
	case Empty:
	default:
		return kerr.NonEmptyGroup.Code, 0
	}
	var recs []records.Record
	for _, t := range sortedKeys(g.offsets) {
		for _, p := range sortedPartitions(g.offsets[t]) {
			recs = append(recs, offsetCommitRecord(g.id, t, p, nil))
		}
	}
	// One tombstone per partition: those of the pending offsets without a committed one.
	for _, t := range g.pendingTxnTopicsLocked() {
		for _, p := range g.pendingTxnPartitionsLocked(t) {
			if _, ok := g.offsets[t][p]; !ok {
				recs = append(recs, offsetCommitRecord(g.id, t, p, nil))
			}
		}
	}
	recs = append(recs, groupMetadataRecord(g.id, nil))
	if g.share != nil {
		recs = append(recs, shareGroupMetadataRecord(g.id, -1))
	}
	next, err := g.s.log.Append(recs)
	if err != nil {
		return kerr.CoordinatorNotAvailable.Code, 0
	}
	g.offsets = map[string]map[int32]offset{}
	g.pendingTxn = nil // the shard's index entries go at the transactions' markers
	g.shutdownLocked(kerr.NotCoordinator.Code)
	return 0, next
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedPartitions(m map[int32]offset) []int32 {
	out := make([]int32, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
