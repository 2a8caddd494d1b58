package group

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/wire"
)

// SyncGroup serves a classic SyncGroup: the leader hands in the assignment, which is stored and
// given to every member; the others wait for it.
func (c *Coordinator) SyncGroup(ctx context.Context, req *kmsg.SyncGroupRequest) *kmsg.SyncGroupResponse {
	fail := func(code int16) *kmsg.SyncGroupResponse {
		resp := kmsg.NewPtrSyncGroupResponse()
		resp.ErrorCode = code
		return resp
	}
	if req.Group == "" {
		return fail(kerr.InvalidGroupID.Code)
	}
	g, err := c.group(req.Group, false)
	if err != nil {
		return fail(errCode(err))
	}
	if g == nil {
		return fail(kerr.UnknownMemberID.Code)
	}
	resp, wait, next := g.syncLocked(req)
	l := g.s.log
	g.mu.Unlock()
	if resp == nil {
		// The wait for the leader's assignment is not handler time (the request-time quota).
		defer wire.Waited(ctx, time.Now())
		select {
		case resp = <-wait:
		case <-ctx.Done():
			return fail(kerr.CoordinatorNotAvailable.Code)
		}
	}
	if resp.ErrorCode == 0 && next > 0 {
		if err := c.waitCommitted(ctx, l, next); err != nil {
			return fail(kerr.CoordinatorNotAvailable.Code)
		}
	}
	return resp
}

func (g *Group) syncLocked(req *kmsg.SyncGroupRequest) (*kmsg.SyncGroupResponse, chan *kmsg.SyncGroupResponse, int64) {
	fail := func(code int16) (*kmsg.SyncGroupResponse, chan *kmsg.SyncGroupResponse, int64) {
		resp := kmsg.NewPtrSyncGroupResponse()
		resp.ErrorCode = code
		return resp, nil, 0
	}
	if g.state == Dead {
		return fail(kerr.CoordinatorNotAvailable.Code)
	}
	if err := g.validateMemberLocked(req.MemberID, req.InstanceID); err != nil {
		return fail(errCode(err))
	}
	if req.Generation != g.generation {
		return fail(kerr.IllegalGeneration.Code)
	}
	if (req.ProtocolType != nil && *req.ProtocolType != g.protocolType) ||
		(req.Protocol != nil && (g.protocol == nil || *req.Protocol != *g.protocol)) {
		return fail(kerr.InconsistentGroupProtocol.Code)
	}
	m := g.members[req.MemberID]
	switch g.state {
	case Empty:
		return fail(kerr.UnknownMemberID.Code)
	case PreparingRebalance:
		return fail(kerr.RebalanceInProgress.Code)
	case Stable:
		g.scheduleSessionLocked(m)
		return g.syncResponseLocked(m), nil, 0
	}
	// CompletingRebalance.
	g.scheduleSessionLocked(m)
	if m.syncCh != nil {
		resp := kmsg.NewPtrSyncGroupResponse()
		resp.ErrorCode = kerr.RebalanceInProgress.Code
		m.syncCh <- resp
	}
	m.syncCh = make(chan *kmsg.SyncGroupResponse, 1)
	if m.id != g.leader {
		return nil, m.syncCh, 0
	}
	assigned := map[string][]byte{}
	for _, a := range req.GroupAssignment {
		assigned[a.MemberID] = a.MemberAssignment
	}
	for _, o := range g.members {
		o.assignment = assigned[o.id] // members the leader left out get an empty assignment
	}
	ch := m.syncCh
	next, err := g.storeLocked()
	if err != nil {
		// As Kafka: the assignment is lost; everyone is told and a new rebalance starts.
		for _, o := range g.members {
			o.assignment = nil
			if o.syncCh != nil {
				resp := kmsg.NewPtrSyncGroupResponse()
				resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
				o.syncCh <- resp
				o.syncCh = nil
			}
		}
		g.prepareRebalanceLocked()
		return nil, ch, 0 // answered above: the channel holds the reply
	}
	g.transitionLocked(Stable)
	for _, o := range g.members {
		if o.syncCh != nil {
			o.syncCh <- g.syncResponseLocked(o)
			o.syncCh = nil
		}
	}
	return nil, ch, next
}

func (g *Group) syncResponseLocked(m *member) *kmsg.SyncGroupResponse {
	resp := kmsg.NewPtrSyncGroupResponse()
	pt := g.protocolType
	resp.ProtocolType = &pt
	resp.Protocol = g.protocol
	resp.MemberAssignment = m.assignment
	if resp.MemberAssignment == nil {
		resp.MemberAssignment = []byte{}
	}
	return resp
}

// Heartbeat serves a classic Heartbeat and returns its error code: REBALANCE_IN_PROGRESS tells
// the member to rejoin.
func (c *Coordinator) Heartbeat(ctx context.Context, req *kmsg.HeartbeatRequest) int16 {
	if req.Group == "" {
		return kerr.InvalidGroupID.Code
	}
	g, err := c.group(req.Group, false)
	if err != nil {
		return errCode(err)
	}
	if g == nil {
		return kerr.UnknownMemberID.Code
	}
	defer g.mu.Unlock()
	if g.state == Dead {
		return kerr.CoordinatorNotAvailable.Code
	}
	if err := g.validateMemberLocked(req.MemberID, req.InstanceID); err != nil {
		return errCode(err)
	}
	if req.Generation != g.generation {
		return kerr.IllegalGeneration.Code
	}
	m := g.members[req.MemberID]
	switch g.state {
	case Empty:
		return kerr.UnknownMemberID.Code
	case PreparingRebalance:
		g.scheduleSessionLocked(m)
		return kerr.RebalanceInProgress.Code
	default: // CompletingRebalance (a member may heartbeat before it syncs), Stable
		g.scheduleSessionLocked(m)
		return 0
	}
}

// LeaveGroup removes members (by member id, or by instance id for static members) and starts a
// rebalance of those that remain. It returns the top-level error and one result per member.
func (c *Coordinator) LeaveGroup(ctx context.Context, groupID string, leaving []kmsg.LeaveGroupRequestMember) (int16, []kmsg.LeaveGroupResponseMember) {
	if groupID == "" {
		return kerr.InvalidGroupID.Code, nil
	}
	g, err := c.group(groupID, false)
	if err != nil {
		return errCode(err), nil
	}
	if g == nil {
		return kerr.UnknownMemberID.Code, nil
	}
	defer g.mu.Unlock()
	if g.state == Dead {
		return kerr.CoordinatorNotAvailable.Code, nil
	}
	var out []kmsg.LeaveGroupResponseMember
	removed := false
	for _, l := range leaving {
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID, rm.InstanceID = l.MemberID, l.InstanceID
		id := l.MemberID
		switch {
		case l.InstanceID != nil:
			sid, ok := g.static[*l.InstanceID]
			switch {
			case !ok:
				rm.ErrorCode = kerr.UnknownMemberID.Code
			case l.MemberID != "" && l.MemberID != sid:
				rm.ErrorCode = kerr.FencedInstanceID.Code
			default:
				id = sid
			}
		case g.pending[id] != nil:
			g.pending[id]()
			delete(g.pending, id)
			removed = true
			out = append(out, rm)
			continue
		case g.members[id] == nil:
			rm.ErrorCode = kerr.UnknownMemberID.Code
		}
		if rm.ErrorCode == 0 {
			g.removeMemberLocked(g.members[id], kerr.UnknownMemberID.Code)
			removed = true
		}
		out = append(out, rm)
	}
	if removed {
		g.rebalanceAfterRemovalLocked()
	}
	return 0, out
}
