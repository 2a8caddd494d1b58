package consumergroup

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Group is one consumer group using the KIP-848 protocol. It is safe for concurrent use.
type Group struct {
	id  string
	cfg Config

	mu sync.Mutex
	// Guarded by mu.

	// groupEpoch is bumped by every change that calls for a new target assignment.
	// Invariant: assignmentEpoch <= groupEpoch; they are equal outside a ...Locked call,
	// because the target is recomputed as soon as the group epoch moves.
	groupEpoch      int32
	assignmentEpoch int32
	members         map[string]*member
	// staticMembers maps a group.instance.id to the id of the member holding it.
	staticMembers map[string]string
	// target is each member's target assignment at assignmentEpoch.
	target map[string]partSet
	// owner maps each partition owned by some member (assigned or pending revocation) to
	// that member. Invariant: owner[tp] == m.id iff tp is in m.assigned or
	// m.pendingRevocation, so no partition is owned by two members at once.
	owner map[TopicPartition]string
	// topics is the caller's latest view of the metadata image; never modified here.
	topics map[string]TopicInfo
	// subscribed is the metadata of the topics the members subscribe to (by name or regex)
	// as of the last target computation; a difference from what topics now says bumps the
	// group epoch.
	subscribed map[string]TopicInfo
	// assignorName is the assignor the last target was computed with.
	assignorName string
}

// New returns an empty group. cfg must have passed Validate.
func New(groupID string, cfg Config) *Group {
	return &Group{
		id:            groupID,
		cfg:           cfg,
		members:       map[string]*member{},
		staticMembers: map[string]string{},
		target:        map[string]partSet{},
		owner:         map[TopicPartition]string{},
		topics:        map[string]TopicInfo{},
		subscribed:    map[string]TopicInfo{},
		assignorName:  cfg.Assignors[0],
	}
}

// ID returns the group id.
func (g *Group) ID() string { return g.id }

// hbError is a heartbeat or validation failure: a Kafka error code and Kafka's message.
type hbError struct {
	err *kerr.Error
	msg string
}

func (e *hbError) Error() string { return e.err.Message + ": " + e.msg }
func (e *hbError) Unwrap() error { return e.err }

func fail(err *kerr.Error, format string, args ...any) *hbError {
	return &hbError{err: err, msg: fmt.Sprintf(format, args...)}
}

// ErrorCode splits an error returned by this package into the code and message a response
// carries. A nil error is code 0; an error of unknown kind is UNKNOWN_SERVER_ERROR.
func ErrorCode(err error) (int16, *string) {
	if err == nil {
		return 0, nil
	}
	if he, ok := err.(*hbError); ok {
		msg := he.msg
		return he.err.Code, &msg
	}
	if ke, ok := err.(*kerr.Error); ok {
		return ke.Code, nil
	}
	msg := err.Error()
	return kerr.UnknownServerError.Code, &msg
}

// ValidateHeartbeatRequest checks a ConsumerGroupHeartbeat request the way Kafka does before
// touching any group: required fields on join, legal epochs, a known server assignor and a
// valid regular expression. The coordinator calls it before creating a group for a join;
// Heartbeat calls it again.
func ValidateHeartbeatRequest(req *kmsg.ConsumerGroupHeartbeatRequest, cfg Config) error {
	// From v1 the client generates its member id, so it is always required.
	if req.Version >= 1 || req.MemberEpoch > 0 || req.MemberEpoch == leaveEpoch {
		if req.MemberID == "" {
			return fail(kerr.InvalidRequest, "MemberId can't be empty.")
		}
	}
	if req.Group == "" {
		return fail(kerr.InvalidRequest, "GroupId can't be empty.")
	}
	if req.InstanceID != nil && *req.InstanceID == "" {
		return fail(kerr.InvalidRequest, "InstanceId can't be empty.")
	}
	if req.RackID != nil && *req.RackID == "" {
		return fail(kerr.InvalidRequest, "RackId can't be empty.")
	}
	switch {
	case req.MemberEpoch == joinEpoch:
		if req.RebalanceTimeoutMillis == -1 {
			return fail(kerr.InvalidRequest, "RebalanceTimeoutMs must be provided in first request.")
		}
		if req.Topics == nil || len(req.Topics) > 0 {
			return fail(kerr.InvalidRequest, "TopicPartitions must be empty when (re-)joining.")
		}
		// An empty list of names or an empty regex is accepted: the member is in the group
		// but subscribes to nothing.
		if req.SubscribedTopicNames == nil && req.SubscribedTopicRegex == nil {
			return fail(kerr.InvalidRequest, "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.")
		}
	case req.MemberEpoch == staticLeaveEpoch:
		if req.InstanceID == nil {
			return fail(kerr.InvalidRequest, "InstanceId can't be null.")
		}
	case req.MemberEpoch < staticLeaveEpoch:
		return fail(kerr.InvalidRequest, "MemberEpoch is invalid.")
	}
	if req.ServerAssignor != nil && !slices.Contains(cfg.Assignors, *req.ServerAssignor) {
		return fail(kerr.UnsupportedAssignor, "ServerAssignor %s is not supported. Supported assignors: %s.",
			*req.ServerAssignor, strings.Join(cfg.Assignors, ", "))
	}
	if req.SubscribedTopicRegex != nil && *req.SubscribedTopicRegex != "" {
		if _, err := compileRegex(*req.SubscribedTopicRegex); err != nil {
			return fail(kerr.InvalidRegularExpression, "SubscribedTopicRegex `%s` is not a valid regular expression: %v.",
				*req.SubscribedTopicRegex, err)
		}
	}
	return nil
}

// compileRegex compiles a subscription regex. Kafka matches it against the whole topic name
// (Java's Matcher.matches). Go's RE2 syntax covers the patterns clients send (franz-go wraps
// its own RE2 pattern in .*), though not every Java construct, such as lookarounds.
func compileRegex(re string) (*regexp.Regexp, error) {
	return regexp.Compile(`^(?:` + re + `)$`)
}

// newMemberID generates a member id for a v0 join that sent none, as Kafka does: a random
// UUID in URL-safe base64.
func newMemberID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Heartbeat handles one ConsumerGroupHeartbeat for this group at time now: join, heartbeat,
// subscription change or leave. clientID and clientHost come from the request header and
// the connection, for Describe. The response is complete but for ThrottleMillis.
func (g *Group) Heartbeat(now time.Time, req *kmsg.ConsumerGroupHeartbeatRequest, clientID, clientHost string) *kmsg.ConsumerGroupHeartbeatResponse {
	resp := kmsg.NewPtrConsumerGroupHeartbeatResponse()
	resp.Version = req.Version
	if err := ValidateHeartbeatRequest(req, g.cfg); err != nil {
		resp.ErrorCode, resp.ErrorMessage = ErrorCode(err)
		return resp
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var err error
	if req.MemberEpoch == leaveEpoch || req.MemberEpoch == staticLeaveEpoch {
		err = g.leaveLocked(now, req)
		if err == nil {
			id := req.MemberID
			resp.MemberID = &id
			resp.MemberEpoch = req.MemberEpoch
		}
	} else {
		err = g.heartbeatLocked(now, req, clientID, clientHost, resp)
	}
	if err != nil {
		resp.ErrorCode, resp.ErrorMessage = ErrorCode(err)
		resp.MemberID, resp.MemberEpoch, resp.Assignment = nil, 0, nil
	}
	return resp
}

// heartbeatLocked is a join or a regular heartbeat; it fills resp on success.
func (g *Group) heartbeatLocked(now time.Time, req *kmsg.ConsumerGroupHeartbeatRequest, clientID, clientHost string, resp *kmsg.ConsumerGroupHeartbeatResponse) error {
	memberID := req.MemberID
	if memberID == "" { // only a v0 join gets here without one
		memberID = newMemberID()
	}
	owned := ownedFromRequest(req.Topics)

	// A member not yet in the group is refused once the group is full.
	if _, known := g.members[memberID]; !known && len(g.members) >= g.cfg.MaxSize {
		return fail(kerr.GroupMaxSizeReached, "The consumer group has reached its maximum capacity of %d members.", g.cfg.MaxSize)
	}

	m, replaced, err := g.lookupMemberLocked(memberID, req, owned)
	if err != nil {
		return err
	}
	isNew := m == nil && replaced == ""
	switch {
	case replaced != "":
		// A static member comes back under a new member id: it takes over the old member's
		// subscription, assignment and target, so unless the subscription changes no
		// rebalance is needed.
		m = g.replaceStaticMemberLocked(replaced, memberID)
	case isNew:
		m = &member{id: memberID, assigned: partSet{}, pendingRevocation: partSet{}}
	}
	before := *m
	beforeAssigned := m.assigned

	// Apply what the request changes; null fields mean "unchanged".
	if req.InstanceID != nil {
		m.instanceID = *req.InstanceID
	}
	if req.RackID != nil {
		m.rackID = *req.RackID
	}
	if req.RebalanceTimeoutMillis != -1 {
		m.rebalanceTimeout = time.Duration(req.RebalanceTimeoutMillis) * time.Millisecond
	}
	if req.SubscribedTopicNames != nil {
		m.subscribedNames = sortedStrings(req.SubscribedTopicNames)
	}
	if req.SubscribedTopicRegex != nil && *req.SubscribedTopicRegex != m.subscribedRegex {
		m.subscribedRegex, m.regex = *req.SubscribedTopicRegex, nil
		if m.subscribedRegex != "" {
			m.regex, _ = compileRegex(m.subscribedRegex) // validated by ValidateHeartbeatRequest
		}
	}
	if req.ServerAssignor != nil {
		m.serverAssignor = *req.ServerAssignor
	}
	m.clientID, m.clientHost = clientID, clientHost
	if isNew {
		g.members[m.id] = m
	}
	if m.instanceID != "" {
		g.staticMembers[m.instanceID] = m.id
	}

	// Topic metadata changes arrive through SetTopics, which bumps the epoch itself; here only
	// membership and subscriptions can.
	if isNew || !slices.Equal(before.subscribedNames, m.subscribedNames) ||
		before.subscribedRegex != m.subscribedRegex || before.serverAssignor != m.serverAssignor {
		g.bumpLocked()
	}

	// Reconcile this member towards its target.
	g.reconcileLocked(now, m, owned)
	m.sessionDeadline = now.Add(g.cfg.SessionTimeout)

	id := m.id
	resp.MemberID = &id
	resp.MemberEpoch = m.epoch
	resp.HeartbeatIntervalMillis = int32(g.cfg.HeartbeatInterval.Milliseconds())
	// Kafka sends the assignment on a full request (join, or a client resending every field
	// after an error, which is how it recovers from a lost response) or when it changed.
	full := req.MemberEpoch == joinEpoch || (req.RebalanceTimeoutMillis != -1 &&
		(req.SubscribedTopicNames != nil || req.SubscribedTopicRegex != nil) && req.Topics != nil)
	if full || !m.assigned.equal(beforeAssigned) {
		resp.Assignment = &kmsg.ConsumerGroupHeartbeatResponseAssignment{Topics: assignmentTopics(m.assigned)}
	}
	return nil
}

// lookupMemberLocked finds the member a join or heartbeat is from, applying Kafka's rules for
// static and dynamic members and for epochs. It returns a nil member for a new one, and the
// id of the static member being replaced, if any.
func (g *Group) lookupMemberLocked(memberID string, req *kmsg.ConsumerGroupHeartbeatRequest, owned partSet) (m *member, replaced string, err error) {
	if req.InstanceID != nil {
		instance := *req.InstanceID
		existing := g.members[g.staticMembers[instance]]
		if req.MemberEpoch == joinEpoch {
			switch {
			case existing == nil:
				return g.members[memberID], "", nil
			case existing.id == memberID:
				// The same member rejoining (it lost a response or was fenced): keep it, as
				// for a dynamic member, and resend its assignment.
				return existing, "", nil
			case existing.epoch != staticLeaveEpoch:
				return nil, "", fail(kerr.UnreleasedInstanceID,
					"Static member %s with instance id %s cannot join the group because the instance id is owned by %s member.",
					memberID, instance, existing.id)
			default:
				return nil, existing.id, nil
			}
		}
		if existing == nil {
			return nil, "", fail(kerr.UnknownMemberID, "Instance id %s is unknown.", instance)
		}
		if existing.id != memberID {
			return nil, "", fail(kerr.FencedInstanceID, "Static member %s with instance id %s was fenced by member %s.",
				memberID, instance, existing.id)
		}
		return existing, "", checkEpoch(existing, req.MemberEpoch, owned)
	}
	existing := g.members[memberID]
	if req.MemberEpoch == joinEpoch {
		return existing, "", nil
	}
	if existing == nil {
		return nil, "", fail(kerr.UnknownMemberID, "Member %s is not a member of group %s.", memberID, g.id)
	}
	return existing, "", checkEpoch(existing, req.MemberEpoch, owned)
}

// checkEpoch fences a heartbeat whose epoch is not the member's, except one at the previous
// epoch owning a subset of the assignment: its response with the new epoch was lost.
func checkEpoch(m *member, epoch int32, owned partSet) error {
	switch {
	case epoch > m.epoch:
		return fail(kerr.FencedMemberEpoch, "The consumer group member has a greater member epoch (%d) than the one known by the group coordinator (%d). The member must abandon all its partitions and rejoin.", epoch, m.epoch)
	case epoch < m.epoch && (epoch != m.previousEpoch || !isSubset(owned, m.assigned)):
		return fail(kerr.FencedMemberEpoch, "The consumer group member has a smaller member epoch (%d) than the one known by the group coordinator (%d). The member must abandon all its partitions and rejoin.", epoch, m.epoch)
	}
	return nil
}

// replaceStaticMemberLocked replaces the static member oldID, which had left for now
// (epoch -2), by a copy of it under newID at member epoch 0, keeping its assignment and
// target, and returns the copy.
func (g *Group) replaceStaticMemberLocked(oldID, newID string) *member {
	old := g.members[oldID]
	assigned := old.assigned
	g.setOwnershipLocked(old, partSet{}, partSet{})
	delete(g.members, oldID)
	m := &member{}
	*m = *old
	m.id = newID
	m.pendingRevocation = partSet{}
	m.state = stateStable
	m.epoch, m.previousEpoch = 0, 0
	m.rebalanceDeadline = time.Time{}
	g.setOwnershipLocked(m, assigned, partSet{})
	g.target[newID] = g.target[oldID]
	delete(g.target, oldID)
	g.members[newID] = m
	return m
}

// reconcileLocked moves m one step towards its target and keeps owner and the rebalance
// deadline in step with it.
func (g *Group) reconcileLocked(now time.Time, m *member, owned partSet) {
	ownerOf := func(tp TopicPartition) string { return g.owner[tp] }
	r, changed := m.reconcile(g.assignmentEpoch, g.target[m.id], owned, ownerOf)
	if !changed {
		return
	}
	g.setOwnershipLocked(m, r.assigned, r.pendingRevocation)
	epochChanged := m.epoch != r.epoch
	stateChanged := m.state != r.state
	m.previousEpoch, m.epoch = m.epoch, r.epoch
	m.state = r.state
	// Kafka arms the rebalance timeout when the member enters (or re-enters, at a new
	// epoch) the revoking state, and disarms it when it leaves that state.
	if m.state == stateUnrevokedPartitions {
		if stateChanged || epochChanged || m.rebalanceDeadline.IsZero() {
			m.rebalanceDeadline = now.Add(m.rebalanceTimeout)
		}
	} else {
		m.rebalanceDeadline = time.Time{}
	}
}

// setOwnershipLocked replaces m's assigned and pending-revocation partitions and updates
// owner to match.
func (g *Group) setOwnershipLocked(m *member, assigned, pending partSet) {
	for tp := range m.assigned {
		delete(g.owner, tp)
	}
	for tp := range m.pendingRevocation {
		delete(g.owner, tp)
	}
	m.assigned, m.pendingRevocation = assigned, pending
	for tp := range m.assigned {
		g.owner[tp] = m.id
	}
	for tp := range m.pendingRevocation {
		g.owner[tp] = m.id
	}
}

// leaveLocked handles member epoch -1 (leave) and -2 (static member leaving for now).
func (g *Group) leaveLocked(now time.Time, req *kmsg.ConsumerGroupHeartbeatRequest) error {
	if req.InstanceID == nil {
		m := g.members[req.MemberID]
		if m == nil {
			return fail(kerr.UnknownMemberID, "Member %s is not a member of group %s.", req.MemberID, g.id)
		}
		g.removeMemberLocked(m)
		return nil
	}
	instance := *req.InstanceID
	m := g.members[g.staticMembers[instance]]
	if m == nil {
		return fail(kerr.UnknownMemberID, "Instance id %s is unknown.", instance)
	}
	if m.id != req.MemberID {
		return fail(kerr.FencedInstanceID, "Static member %s with instance id %s was fenced by member %s.", req.MemberID, instance, m.id)
	}
	if req.MemberEpoch == leaveEpoch {
		g.removeMemberLocked(m)
		return nil
	}
	// The instance keeps its assignment, and its place, until its session times out: a
	// restart of a static consumer does not rebalance the group. What it was revoking it
	// has released by leaving.
	g.setOwnershipLocked(m, m.assigned, partSet{})
	m.previousEpoch, m.epoch = m.epoch, staticLeaveEpoch
	m.state = stateStable
	m.rebalanceDeadline = time.Time{}
	m.sessionDeadline = now.Add(g.cfg.SessionTimeout)
	return nil
}

// removeMemberLocked fences m out of the group: its partitions are released and the group
// epoch is bumped so the others share them.
func (g *Group) removeMemberLocked(m *member) {
	g.setOwnershipLocked(m, partSet{}, partSet{})
	delete(g.members, m.id)
	delete(g.target, m.id)
	if m.instanceID != "" && g.staticMembers[m.instanceID] == m.id {
		delete(g.staticMembers, m.instanceID)
	}
	g.bumpLocked()
}

// SetTopics gives the group the current metadata image's topics, by name. The map must not
// be modified afterwards. If a subscribed topic appeared, disappeared, or changed its id or
// partition count, the group epoch is bumped and a new target computed; SetTopics reports
// whether that happened.
func (g *Group) SetTopics(topics map[string]TopicInfo) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.topics = topics
	return g.maybeRefreshMetadataLocked()
}

// maybeRefreshMetadataLocked bumps the group epoch if the subscribed topics' metadata moved.
func (g *Group) maybeRefreshMetadataLocked() bool {
	sub := g.subscriptionMetadataLocked()
	if mapsEqual(sub, g.subscribed) {
		return false
	}
	g.bumpLocked()
	return true
}

func mapsEqual(a, b map[string]TopicInfo) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// subscribedTopicsLocked returns the names of the existing topics m subscribes to, by name
// or through its regex.
func (g *Group) subscribedTopicsLocked(m *member) []string {
	var names []string
	for _, n := range m.subscribedNames {
		if _, ok := g.topics[n]; ok {
			names = append(names, n)
		}
	}
	if m.regex != nil {
		for n := range g.topics {
			if m.regex.MatchString(n) && !slices.Contains(m.subscribedNames, n) {
				names = append(names, n)
			}
		}
	}
	slices.Sort(names)
	return names
}

func (g *Group) subscriptionMetadataLocked() map[string]TopicInfo {
	sub := map[string]TopicInfo{}
	for _, m := range g.members {
		for _, n := range g.subscribedTopicsLocked(m) {
			sub[n] = g.topics[n]
		}
	}
	return sub
}

// preferredAssignorLocked is the assignor most members name, ties going to the one listed
// first in group.consumer.assignors; with none named, the first listed.
func (g *Group) preferredAssignorLocked() string {
	count := map[string]int{}
	for _, m := range g.members {
		if m.serverAssignor != "" {
			count[m.serverAssignor]++
		}
	}
	best, bestN := g.cfg.Assignors[0], 0
	for _, name := range g.cfg.Assignors {
		if count[name] > bestN {
			best, bestN = name, count[name]
		}
	}
	return best
}

// bumpLocked starts a new group epoch and computes its target assignment.
func (g *Group) bumpLocked() {
	g.groupEpoch++
	g.subscribed = g.subscriptionMetadataLocked()
	g.assignorName = g.preferredAssignorLocked()

	ids := g.sortedMemberIDsLocked()
	spec := AssignmentSpec{Topics: map[TopicID]TopicSpec{}}
	for _, id := range ids {
		m := g.members[id]
		ms := MemberSpec{MemberID: id, InstanceID: m.instanceID, RackID: m.rackID, Current: toAssignment(g.target[id])}
		for _, n := range g.subscribedTopicsLocked(m) {
			t := g.topics[n]
			ms.Topics = append(ms.Topics, t.ID)
			spec.Topics[t.ID] = TopicSpec{Name: n, Partitions: t.Partitions}
		}
		spec.Members = append(spec.Members, ms)
	}
	result := AssignorByName(g.assignorName).Assign(spec)
	g.target = make(map[string]partSet, len(ids))
	for _, id := range ids {
		g.target[id] = setFromAssignment(result[id])
	}
	g.assignmentEpoch = g.groupEpoch
}

// Expire removes, at time now, every member whose session timed out and every member that
// did not revoke its partitions within its rebalance timeout, as Kafka's session and
// rebalance timers do. It reports whether any member was removed (and the group epoch
// bumped).
func (g *Group) Expire(now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	changed := false
	for _, id := range g.sortedMemberIDsLocked() {
		m := g.members[id]
		sessionOver := !now.Before(m.sessionDeadline)
		revokeOver := m.state == stateUnrevokedPartitions && !m.rebalanceDeadline.IsZero() && !now.Before(m.rebalanceDeadline)
		if sessionOver || revokeOver {
			g.removeMemberLocked(m)
			changed = true
		}
	}
	return changed
}

// NextDeadline returns the earliest time at which Expire may remove a member, or the zero
// time when the group has no members.
func (g *Group) NextDeadline() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	var next time.Time
	earlier := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, m := range g.members {
		earlier(m.sessionDeadline)
		if m.state == stateUnrevokedPartitions {
			earlier(m.rebalanceDeadline)
		}
	}
	return next
}

// sortedMemberIDsLocked returns the member ids in order.
func (g *Group) sortedMemberIDsLocked() []string {
	ids := make([]string, 0, len(g.members))
	for id := range g.members {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
