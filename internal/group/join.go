package group

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/wire"
)

// JoinGroup serves a classic JoinGroup: it adds or updates the member and answers once the
// rebalance it takes part in completes (or at once when nothing needs to change).
func (c *Coordinator) JoinGroup(ctx context.Context, req *kmsg.JoinGroupRequest, clientID, clientHost string) *kmsg.JoinGroupResponse {
	fail := func(code int16) *kmsg.JoinGroupResponse {
		resp := kmsg.NewPtrJoinGroupResponse()
		resp.ErrorCode, resp.Generation, resp.MemberID = code, -1, req.MemberID
		return resp
	}
	if req.Group == "" {
		return fail(kerr.InvalidGroupID.Code)
	}
	b := c.cfg.Broker
	if req.SessionTimeoutMillis < b.GroupMinSessionTimeoutMs || req.SessionTimeoutMillis > b.GroupMaxSessionTimeoutMs {
		return fail(kerr.InvalidSessionTimeout.Code)
	}
	g, err := c.group(req.Group, req.MemberID == "")
	if err != nil {
		return fail(errCode(err))
	}
	if g == nil {
		return fail(kerr.UnknownMemberID.Code)
	}
	resp, wait := g.joinLocked(req, clientID, clientHost)
	g.mu.Unlock()
	if resp != nil {
		return resp
	}
	// The wait for the rebalance is not handler time (the request-time quota).
	defer wire.Waited(ctx, time.Now())
	select {
	case resp := <-wait:
		return resp
	case <-ctx.Done():
		return fail(kerr.CoordinatorNotAvailable.Code)
	}
}

// joinLocked applies a JoinGroup; it returns either the response or the channel the response
// will come on.
func (g *Group) joinLocked(req *kmsg.JoinGroupRequest, clientID, clientHost string) (*kmsg.JoinGroupResponse, chan *kmsg.JoinGroupResponse) {
	fail := func(code int16, memberID string) (*kmsg.JoinGroupResponse, chan *kmsg.JoinGroupResponse) {
		resp := kmsg.NewPtrJoinGroupResponse()
		resp.ErrorCode, resp.Generation, resp.MemberID = code, -1, memberID
		return resp, nil
	}
	if g.state == Dead {
		return fail(kerr.CoordinatorNotAvailable.Code, req.MemberID)
	}
	if g.share != nil {
		// A share group keeps its type for as long as it exists (Kafka: a share group
		// is never converted).
		return fail(kerr.InconsistentGroupProtocol.Code, req.MemberID)
	}
	if g.consumer != nil {
		// A classic member may take over only an empty consumer group (Kafka's offline
		// downgrade); members of both protocols in one group are not supported.
		if !g.consumer.IsEmpty() {
			return fail(kerr.InconsistentGroupProtocol.Code, req.MemberID)
		}
		g.toClassicLocked()
	}
	if !g.supportsProtocolsLocked(req.ProtocolType, req.Protocols) {
		return fail(kerr.InconsistentGroupProtocol.Code, req.MemberID)
	}
	rebalance := time.Duration(req.RebalanceTimeoutMillis) * time.Millisecond
	if req.Version == 0 || req.RebalanceTimeoutMillis <= 0 {
		rebalance = time.Duration(req.SessionTimeoutMillis) * time.Millisecond // v0 has none
	}
	update := func(m *member) {
		m.clientID, m.clientHost = clientID, clientHost
		m.sessionTimeout = time.Duration(req.SessionTimeoutMillis) * time.Millisecond
		m.rebalanceTimeout = rebalance
		m.protocolType = req.ProtocolType
		m.protocols = req.Protocols
	}
	maxSize := int(g.c.cfg.Broker.GroupMaxSize)

	if req.MemberID == "" {
		newID := clientID + "-" + newUUID()
		if req.InstanceID != nil {
			if oldID, ok := g.static[*req.InstanceID]; ok {
				return g.replaceStaticMemberLocked(req, g.members[oldID], newID, update)
			}
		} else if req.Version >= 4 {
			// KIP-394: hand out the id and make the client come back with it, so that a client
			// that times out before it learns its id does not leave a phantom member behind.
			if len(g.members)+len(g.pending) >= maxSize {
				return fail(kerr.GroupMaxSizeReached.Code, "")
			}
			g.addPendingLocked(newID, time.Duration(req.SessionTimeoutMillis)*time.Millisecond)
			return fail(kerr.MemberIDRequired.Code, newID)
		}
		if len(g.members) >= maxSize {
			return fail(kerr.GroupMaxSizeReached.Code, "")
		}
		m := &member{id: newID, instanceID: req.InstanceID}
		update(m)
		return nil, g.addMemberAndRebalanceLocked(m)
	}

	if stop, ok := g.pending[req.MemberID]; ok {
		stop()
		delete(g.pending, req.MemberID)
		if len(g.members) >= maxSize {
			return fail(kerr.GroupMaxSizeReached.Code, req.MemberID)
		}
		m := &member{id: req.MemberID, instanceID: req.InstanceID}
		update(m)
		return nil, g.addMemberAndRebalanceLocked(m)
	}
	if err := g.validateMemberLocked(req.MemberID, req.InstanceID); err != nil {
		return fail(errCode(err), req.MemberID)
	}
	m := g.members[req.MemberID]
	switch g.state {
	case PreparingRebalance:
		update(m)
		ch := g.awaitJoinLocked(m)
		g.tryCompleteJoinLocked()
		return nil, ch
	case CompletingRebalance:
		if sameProtocols(m, req) {
			// A retried join: tell it the generation it is already in.
			return g.joinResponseLocked(m, m.id == g.leader), nil
		}
		update(m)
		ch := g.awaitJoinLocked(m)
		g.prepareRebalanceLocked()
		g.tryCompleteJoinLocked() // all may have rejoined (a group of one): no waiting out the timeout
		return nil, ch
	case Stable:
		if m.id != g.leader && sameProtocols(m, req) {
			g.scheduleSessionLocked(m)
			return g.joinResponseLocked(m, false), nil
		}
		// The leader rejoining, or a changed subscription, starts a new rebalance.
		update(m)
		ch := g.awaitJoinLocked(m)
		g.prepareRebalanceLocked()
		g.tryCompleteJoinLocked() // all may have rejoined (a group of one): no waiting out the timeout
		return nil, ch
	default: // Empty
		return fail(kerr.UnknownMemberID.Code, req.MemberID)
	}
}

// replaceStaticMemberLocked gives a known group.instance.id a new member id (KIP-345): the old
// id is fenced. A Stable group keeps its generation and assignment, with no rebalance, when the
// protocol the members would select is unchanged (as Kafka decides; the metadata bytes may
// differ, e.g. in the owned partitions a restarted consumer no longer lists).
func (g *Group) replaceStaticMemberLocked(req *kmsg.JoinGroupRequest, old *member, newID string, update func(*member)) (*kmsg.JoinGroupResponse, chan *kmsg.JoinGroupResponse) {
	g.stopSessionLocked(old)
	g.failWaitersLocked(old, kerr.FencedInstanceID.Code)
	delete(g.members, old.id)
	m := &member{id: newID, instanceID: req.InstanceID, assignment: old.assignment}
	update(m)
	g.members[newID] = m
	g.static[*req.InstanceID] = newID
	wasLeader := g.leader == old.id
	if wasLeader {
		g.leader = newID
	}
	switch g.state {
	case Stable:
		if g.protocol != nil && g.selectProtocolLocked() == *g.protocol {
			g.scheduleSessionLocked(m)
			if _, err := g.storeLocked(); err != nil {
				return g.errorJoinLocked(m, errCode(err)), nil
			}
			// KIP-814: a v9 leader gets the members but is told to skip the assignment.
			skip := wasLeader && req.Version >= 9
			resp := g.joinResponseLocked(m, skip)
			resp.SkipAssignment = skip
			return resp, nil
		}
		ch := g.awaitJoinLocked(m)
		g.prepareRebalanceLocked()
		g.tryCompleteJoinLocked() // all may have rejoined (a group of one): no waiting out the timeout
		return nil, ch
	case CompletingRebalance:
		ch := g.awaitJoinLocked(m)
		g.prepareRebalanceLocked()
		g.tryCompleteJoinLocked() // all may have rejoined (a group of one): no waiting out the timeout
		return nil, ch
	default: // PreparingRebalance
		ch := g.awaitJoinLocked(m)
		g.tryCompleteJoinLocked()
		return nil, ch
	}
}

func (g *Group) errorJoinLocked(m *member, code int16) *kmsg.JoinGroupResponse {
	resp := kmsg.NewPtrJoinGroupResponse()
	resp.ErrorCode, resp.Generation, resp.MemberID = code, -1, m.id
	return resp
}

// sameProtocols reports whether a join carries the member's current protocols.
func sameProtocols(m *member, req *kmsg.JoinGroupRequest) bool {
	if m.protocolType != req.ProtocolType || len(m.protocols) != len(req.Protocols) {
		return false
	}
	for i, p := range m.protocols {
		q := req.Protocols[i]
		if p.Name != q.Name || string(p.Metadata) != string(q.Metadata) {
			return false
		}
	}
	return true
}

// supportsProtocolsLocked is Kafka's check that a member may join: the first member sets the
// protocol type; later ones must have it and share a protocol with every member.
func (g *Group) supportsProtocolsLocked(protocolType string, protocols []kmsg.JoinGroupRequestProtocol) bool {
	if len(g.members) == 0 {
		return protocolType != "" && len(protocols) > 0
	}
	if protocolType != g.protocolType {
		return false
	}
	for _, p := range protocols {
		all := true
		for _, m := range g.members {
			if !hasProtocol(m, p.Name) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func hasProtocol(m *member, name string) bool {
	for _, p := range m.protocols {
		if p.Name == name {
			return true
		}
	}
	return false
}

// validateMemberLocked checks a member id and instance id, as Kafka's validateMember: a known
// instance id held by another member id is fenced.
func (g *Group) validateMemberLocked(memberID string, instanceID *string) error {
	if instanceID != nil {
		id, ok := g.static[*instanceID]
		if !ok {
			return kerr.UnknownMemberID
		}
		if id != memberID {
			return kerr.FencedInstanceID
		}
	}
	if g.members[memberID] == nil {
		return kerr.UnknownMemberID
	}
	return nil
}

func (g *Group) addPendingLocked(id string, session time.Duration) {
	var stop func() bool
	stop = g.c.afterFunc(session, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if _, ok := g.pending[id]; !ok {
			return
		}
		delete(g.pending, id)
		g.tryCompleteJoinLocked()
	})
	g.pending[id] = stop
}

// addMemberAndRebalanceLocked adds a member that waits for the rebalance it starts (or joins).
func (g *Group) addMemberAndRebalanceLocked(m *member) chan *kmsg.JoinGroupResponse {
	if len(g.members) == 0 {
		g.protocolType = m.protocolType
	}
	g.members[m.id] = m
	if m.instanceID != nil {
		g.static[*m.instanceID] = m.id
	}
	g.newMemberJoined = true
	ch := g.awaitJoinLocked(m)
	if g.state == PreparingRebalance {
		g.tryCompleteJoinLocked()
	} else {
		g.prepareRebalanceLocked()
	}
	return ch
}

// awaitJoinLocked makes m wait for the rebalance; a JoinGroup it had waiting already is told to
// rejoin.
func (g *Group) awaitJoinLocked(m *member) chan *kmsg.JoinGroupResponse {
	if m.joinCh != nil {
		resp := g.errorJoinLocked(m, kerr.RebalanceInProgress.Code)
		m.joinCh <- resp
	}
	m.joinCh = make(chan *kmsg.JoinGroupResponse, 1)
	return m.joinCh
}

// prepareRebalanceLocked starts a rebalance: members must rejoin within the rebalance timeout.
// The first rebalance of an empty group waits group.initial.rebalance.delay.ms (again while
// members keep arriving, up to the rebalance timeout) so that a group starting up rebalances
// once rather than once per member.
func (g *Group) prepareRebalanceLocked() {
	if g.state == CompletingRebalance {
		for _, m := range g.members {
			m.assignment = nil
			if m.syncCh != nil {
				resp := kmsg.NewPtrSyncGroupResponse()
				resp.ErrorCode = kerr.RebalanceInProgress.Code
				m.syncCh <- resp
				m.syncCh = nil
			}
		}
	}
	timeout := time.Duration(0)
	for _, m := range g.members {
		timeout = max(timeout, m.rebalanceTimeout)
	}
	if g.state == Empty {
		delay := time.Duration(g.c.cfg.Broker.GroupInitialRebalanceDelayMs) * time.Millisecond
		g.initialDelay = true
		g.initialRemaining = max(timeout-delay, 0)
		g.newMemberJoined = false
		g.transitionLocked(PreparingRebalance)
		g.startJoinTimerLocked(delay)
		return
	}
	g.initialDelay = false
	g.transitionLocked(PreparingRebalance)
	g.startJoinTimerLocked(timeout)
}

func (g *Group) startJoinTimerLocked(d time.Duration) {
	g.stopJoinTimerLocked()
	g.joinTimerSeq++
	seq := g.joinTimerSeq
	g.joinTimerStop = g.c.afterFunc(d, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if seq != g.joinTimerSeq || g.state != PreparingRebalance {
			return
		}
		if g.initialDelay && g.newMemberJoined && g.initialRemaining > 0 {
			d := min(time.Duration(g.c.cfg.Broker.GroupInitialRebalanceDelayMs)*time.Millisecond, g.initialRemaining)
			g.initialRemaining -= d
			g.newMemberJoined = false
			g.startJoinTimerLocked(d)
			return
		}
		g.completeJoinLocked()
	})
}

func (g *Group) stopJoinTimerLocked() {
	if g.joinTimerStop != nil {
		g.joinTimerStop()
		g.joinTimerStop = nil
	}
	g.joinTimerSeq++
}

// tryCompleteJoinLocked completes the rebalance once every member has rejoined and no member
// id handed out by MEMBER_ID_REQUIRED is outstanding (not during the initial delay).
func (g *Group) tryCompleteJoinLocked() {
	if g.state != PreparingRebalance || g.initialDelay || len(g.pending) > 0 {
		return
	}
	for _, m := range g.members {
		if m.joinCh == nil {
			return
		}
	}
	g.completeJoinLocked()
}

// completeJoinLocked ends the join phase: dynamic members that did not rejoin are removed, a new
// generation starts with the protocol the members vote for, and every joined member gets its
// answer (the leader with the member list, to compute the assignment).
func (g *Group) completeJoinLocked() {
	g.stopJoinTimerLocked()
	g.initialDelay = false
	for _, m := range g.members {
		if m.joinCh == nil && m.instanceID == nil {
			g.removeMemberLocked(m, kerr.UnknownMemberID.Code)
		}
	}
	g.generation++
	g.c.rebalances.Add(1)
	if len(g.members) == 0 {
		g.protocol, g.leader = nil, ""
		g.transitionLocked(Empty)
		if _, err := g.storeLocked(); err != nil {
			g.c.log.Warn("storing empty group failed", "group", g.id, "err", err)
		}
		return
	}
	p := g.selectProtocolLocked()
	g.protocol = &p
	if l := g.members[g.leader]; l == nil || l.joinCh == nil {
		g.leader = ""
		for _, id := range g.memberIDsLocked() {
			if g.members[id].joinCh != nil {
				g.leader = id
				break
			}
		}
		if g.leader == "" {
			g.leader = g.memberIDsLocked()[0]
		}
	}
	g.transitionLocked(CompletingRebalance)
	for _, m := range g.members {
		if m.joinCh == nil {
			continue
		}
		m.joinCh <- g.joinResponseLocked(m, m.id == g.leader)
		m.joinCh = nil
		g.scheduleSessionLocked(m)
	}
}

// joinResponseLocked is a successful JoinGroup answer for m; withMembers adds the member list.
func (g *Group) joinResponseLocked(m *member, withMembers bool) *kmsg.JoinGroupResponse {
	resp := kmsg.NewPtrJoinGroupResponse()
	resp.Generation = g.generation
	pt := g.protocolType
	resp.ProtocolType = &pt
	resp.Protocol = g.protocol
	resp.LeaderID = g.leader
	resp.MemberID = m.id
	if withMembers {
		for _, id := range g.memberIDsLocked() {
			o := g.members[id]
			rm := kmsg.NewJoinGroupResponseMember()
			rm.MemberID = o.id
			rm.InstanceID = o.instanceID
			rm.ProtocolMetadata = o.metadataFor(g.protocol)
			resp.Members = append(resp.Members, rm)
		}
	}
	return resp
}

// selectProtocolLocked is Kafka's vote: of the protocols every member supports, each member
// votes for the first in its own order of preference; the most votes win (ties go to the
// protocol named first).
func (g *Group) selectProtocolLocked() string {
	var candidates []string
	for _, m := range g.members {
		for _, p := range m.protocols {
			all := true
			for _, o := range g.members {
				if !hasProtocol(o, p.Name) {
					all = false
					break
				}
			}
			if all {
				candidates = append(candidates, p.Name)
			}
		}
		break
	}
	votes := map[string]int{}
	for _, m := range g.members {
		for _, p := range m.protocols {
			if containsString(candidates, p.Name) {
				votes[p.Name]++
				break
			}
		}
	}
	sort.Strings(candidates)
	best := ""
	for _, c := range candidates {
		if best == "" || votes[c] > votes[best] {
			best = c
		}
	}
	return best
}

func containsString(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// scheduleSessionLocked (re)starts m's session timer: m is removed unless it heartbeats
// (or joins, syncs, commits) within its session timeout.
func (g *Group) scheduleSessionLocked(m *member) {
	g.stopSessionLocked(m)
	seq := m.sessionSeq
	m.sessionStop = g.c.afterFunc(m.sessionTimeout, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.members[m.id] != m || m.sessionSeq != seq || g.state == Dead {
			return
		}
		if m.joinCh != nil || m.syncCh != nil {
			// A member waiting on the group is alive; the rebalance timeout covers it.
			g.scheduleSessionLocked(m)
			return
		}
		g.c.log.Info("group member session expired", "group", g.id, "member", m.id)
		g.removeMemberLocked(m, kerr.UnknownMemberID.Code)
		g.rebalanceAfterRemovalLocked()
	})
}

func (g *Group) stopSessionLocked(m *member) {
	if m.sessionStop != nil {
		m.sessionStop()
		m.sessionStop = nil
	}
	m.sessionSeq++
}

// removeMemberLocked drops m; its waiting requests get code.
func (g *Group) removeMemberLocked(m *member, code int16) {
	g.stopSessionLocked(m)
	g.failWaitersLocked(m, code)
	delete(g.members, m.id)
	if m.instanceID != nil && g.static[*m.instanceID] == m.id {
		delete(g.static, *m.instanceID)
	}
	if g.leader == m.id {
		g.leader = ""
	}
}

// rebalanceAfterRemovalLocked reacts to members leaving: the others rebalance.
func (g *Group) rebalanceAfterRemovalLocked() {
	switch g.state {
	case Stable, CompletingRebalance:
		g.prepareRebalanceLocked()
		g.tryCompleteJoinLocked()
	case PreparingRebalance:
		g.tryCompleteJoinLocked()
	}
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// errCode is the Kafka error code of err (UNKNOWN_SERVER_ERROR for a non-Kafka error).
func errCode(err error) int16 {
	if err == nil {
		return 0
	}
	if ke, ok := err.(*kerr.Error); ok {
		return ke.Code
	}
	return kerr.UnknownServerError.Code
}
