// Package sharegroup is the KIP-932 share group protocol: the per-group membership state
// machine behind ShareGroupHeartbeat and ShareGroupDescribe, and its server-side assignor
// ("simple", Kafka's SimpleAssignor).
//
// # Model
//
// A share group has members, each subscribed to topic names and holding a member epoch.
// Unlike a consumer group, a partition may be assigned to several members at once: records
// are handed out one by one by the share-partition (package share), not by partition, so
// there is nothing to revoke before a partition moves. The group epoch is bumped by every
// change that calls for a new assignment (a member joins or leaves, a subscription changes,
// a subscribed topic changes in the metadata); the target assignment is then recomputed and
// every member moves to it, and to the group epoch, on its next heartbeat.
//
// The simple assignor gives every subscribed partition to ceil(members/partitions) of the
// members subscribed to its topic (at least one), spreading members round-robin so that
// every partition is covered and, when members outnumber partitions, each partition is
// shared by a balanced number of members.
//
// Time is passed in (now): the coordinator keeps one timer per group at NextDeadline and
// calls Expire when it fires, so a fake clock drives the session timeout in tests.
//
// Membership is kept in memory only: after a coordinator restart, members get
// UNKNOWN_MEMBER_ID and rejoin with epoch 0. (The share-partition state, which is what
// must survive, is durable; see package share.)
//
// # Locking
//
// Each Group has one mutex, Group.mu; functions named ...Locked need it held. Nothing in this
// package takes any other lock.
package sharegroup

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ProtocolType is the protocol type ListGroups reports for share groups.
const ProtocolType = "share"

// AssignorName is the name of the one server assignor of share groups.
const AssignorName = "simple"

// Group states, by Kafka's names (ShareGroup.ShareGroupState).
const (
	StateEmpty  = "Empty"
	StateStable = "Stable"
)

// Member epochs with a meaning of their own.
const (
	joinEpoch  int32 = 0
	leaveEpoch int32 = -1
)

// Config holds the broker settings of share groups, under Kafka's names.
type Config struct {
	// SessionTimeout is group.share.session.timeout.ms.
	SessionTimeout time.Duration
	// HeartbeatInterval is group.share.heartbeat.interval.ms.
	HeartbeatInterval time.Duration
	// MaxSize is group.share.max.size: joins past it get GROUP_MAX_SIZE_REACHED.
	MaxSize int
}

// DefaultConfig returns Kafka's defaults.
func DefaultConfig() Config {
	return Config{SessionTimeout: 45 * time.Second, HeartbeatInterval: 5 * time.Second, MaxSize: 200}
}

// TopicInfo is what the group needs of a topic in the metadata image.
type TopicInfo struct {
	ID         [16]byte
	Partitions int32
}

// TopicPartition names a partition by topic id.
type TopicPartition struct {
	Topic     [16]byte
	Partition int32
}

type member struct {
	id, rackID, clientID, clientHost string
	subscribed                       []string // sorted
	epoch                            int32
	// assigned is what the member was last sent; the target may differ until it heartbeats.
	assigned        map[TopicPartition]bool
	sessionDeadline time.Time
}

// Group is one share group. It is safe for concurrent use.
type Group struct {
	id  string
	cfg Config

	mu sync.Mutex
	// Guarded by mu.

	// groupEpoch is bumped by every change that calls for a new target; the target is
	// recomputed at once, so assignmentEpoch == groupEpoch outside a ...Locked call.
	groupEpoch      int32
	assignmentEpoch int32
	members         map[string]*member
	target          map[string]map[TopicPartition]bool
	topics          map[string]TopicInfo
	// subscribed is the metadata of the subscribed topics as of the last target computation.
	subscribed map[string]TopicInfo
}

// New returns an empty share group.
func New(groupID string, cfg Config) *Group {
	return &Group{id: groupID, cfg: cfg, members: map[string]*member{}, target: map[string]map[TopicPartition]bool{},
		topics: map[string]TopicInfo{}, subscribed: map[string]TopicInfo{}}
}

// hbError is a failure with Kafka's code and message.
type hbError struct {
	err *kerr.Error
	msg string
}

func (e *hbError) Error() string { return e.err.Message + ": " + e.msg }
func (e *hbError) Unwrap() error { return e.err }

func fail(err *kerr.Error, format string, args ...any) *hbError {
	return &hbError{err: err, msg: fmt.Sprintf(format, args...)}
}

// ErrorCode splits an error of this package into a response's code and message.
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

// ValidateHeartbeatRequest checks a request as Kafka does before touching any group.
func ValidateHeartbeatRequest(req *kmsg.ShareGroupHeartbeatRequest) error {
	switch {
	case req.GroupID == "":
		return fail(kerr.InvalidRequest, "GroupId can't be empty.")
	case req.MemberID == "":
		return fail(kerr.InvalidRequest, "MemberId can't be empty.")
	case req.RackID != nil && *req.RackID == "":
		return fail(kerr.InvalidRequest, "RackId can't be empty.")
	case req.MemberEpoch < leaveEpoch:
		return fail(kerr.InvalidRequest, "MemberEpoch is invalid.")
	case req.MemberEpoch == joinEpoch && len(req.SubscribedTopicNames) == 0:
		return fail(kerr.InvalidRequest, "SubscribedTopicNames must be set in first request.")
	}
	return nil
}

// Heartbeat handles one ShareGroupHeartbeat at time now. The response is complete but for
// ThrottleMillis.
func (g *Group) Heartbeat(now time.Time, req *kmsg.ShareGroupHeartbeatRequest, clientID, clientHost string) *kmsg.ShareGroupHeartbeatResponse {
	resp := kmsg.NewPtrShareGroupHeartbeatResponse()
	resp.Version = req.Version
	err := ValidateHeartbeatRequest(req)
	if err == nil {
		g.mu.Lock()
		err = g.heartbeatLocked(now, req, clientID, clientHost, resp)
		g.mu.Unlock()
	}
	if err != nil {
		resp.ErrorCode, resp.ErrorMessage = ErrorCode(err)
		resp.MemberID, resp.MemberEpoch, resp.Assignment = nil, 0, nil
	}
	return resp
}

func (g *Group) heartbeatLocked(now time.Time, req *kmsg.ShareGroupHeartbeatRequest, clientID, clientHost string, resp *kmsg.ShareGroupHeartbeatResponse) error {
	m := g.members[req.MemberID]
	if req.MemberEpoch == leaveEpoch {
		if m == nil {
			return fail(kerr.UnknownMemberID, "Member %s is not a member of group %s.", req.MemberID, g.id)
		}
		g.removeLocked(m)
		id := req.MemberID
		resp.MemberID, resp.MemberEpoch = &id, leaveEpoch
		return nil
	}
	isNew := false
	switch {
	case m == nil && req.MemberEpoch != joinEpoch:
		return fail(kerr.UnknownMemberID, "Member %s is not a member of group %s.", req.MemberID, g.id)
	case m == nil:
		if len(g.members) >= g.cfg.MaxSize {
			return fail(kerr.GroupMaxSizeReached, "The share group has reached its maximum capacity of %d members.", g.cfg.MaxSize)
		}
		m = &member{id: req.MemberID}
		g.members[m.id] = m
		isNew = true
	case req.MemberEpoch != joinEpoch && req.MemberEpoch != m.epoch:
		// Kafka fences a member whose epoch is neither its current one nor a rejoin.
		return fail(kerr.FencedMemberEpoch, "The share group member has a smaller or larger member epoch (%d) than the one known by the group coordinator (%d).", req.MemberEpoch, m.epoch)
	}
	if req.RackID != nil {
		m.rackID = *req.RackID
	}
	m.clientID, m.clientHost = clientID, clientHost
	changed := isNew
	if req.SubscribedTopicNames != nil {
		s := slices.Clone(req.SubscribedTopicNames)
		slices.Sort(s)
		s = slices.Compact(s)
		if !slices.Equal(s, m.subscribed) {
			m.subscribed, changed = s, true
		}
	}
	if changed {
		g.bumpLocked()
	}
	m.sessionDeadline = now.Add(g.cfg.SessionTimeout)
	target := g.target[m.id]
	full := req.MemberEpoch == joinEpoch
	if full || m.epoch != g.assignmentEpoch || !equalSets(target, m.assigned) {
		m.epoch = g.assignmentEpoch
		if full || !equalSets(target, m.assigned) {
			m.assigned = target
			resp.Assignment = &kmsg.ShareGroupHeartbeatResponseAssignment{TopicPartitions: assignmentTopics(target)}
		}
	}
	id := m.id
	resp.MemberID = &id
	resp.MemberEpoch = m.epoch
	resp.HeartbeatIntervalMillis = int32(g.cfg.HeartbeatInterval.Milliseconds())
	return nil
}

func equalSets(a, b map[TopicPartition]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func assignmentTopics(s map[TopicPartition]bool) []kmsg.ShareGroupHeartbeatResponseAssignmentTopicPartition {
	by := map[[16]byte][]int32{}
	for tp := range s {
		by[tp.Topic] = append(by[tp.Topic], tp.Partition)
	}
	ids := make([][16]byte, 0, len(by))
	for id := range by {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b [16]byte) int { return slices.Compare(a[:], b[:]) })
	out := make([]kmsg.ShareGroupHeartbeatResponseAssignmentTopicPartition, 0, len(ids))
	for _, id := range ids {
		t := kmsg.NewShareGroupHeartbeatResponseAssignmentTopicPartition()
		t.TopicID = id
		t.Partitions = by[id]
		slices.Sort(t.Partitions)
		out = append(out, t)
	}
	return out
}

func (g *Group) removeLocked(m *member) {
	delete(g.members, m.id)
	delete(g.target, m.id)
	g.bumpLocked()
}

// SetTopics gives the group the current image's topics (never modified afterwards); a
// change to a subscribed topic bumps the group epoch.
func (g *Group) SetTopics(topics map[string]TopicInfo) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.topics = topics
	sub := g.subscriptionLocked()
	if len(sub) != len(g.subscribed) {
		g.bumpLocked()
		return
	}
	for k, v := range sub {
		if w, ok := g.subscribed[k]; !ok || w != v {
			g.bumpLocked()
			return
		}
	}
}

func (g *Group) subscriptionLocked() map[string]TopicInfo {
	sub := map[string]TopicInfo{}
	for _, m := range g.members {
		for _, n := range m.subscribed {
			if t, ok := g.topics[n]; ok {
				sub[n] = t
			}
		}
	}
	return sub
}

func (g *Group) sortedIDsLocked() []string {
	ids := make([]string, 0, len(g.members))
	for id := range g.members {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// bumpLocked starts a new group epoch and computes its target with the simple assignor.
func (g *Group) bumpLocked() {
	g.groupEpoch++
	g.subscribed = g.subscriptionLocked()
	ids := g.sortedIDsLocked()
	subs := make(map[string][]string, len(ids))
	for _, id := range ids {
		subs[id] = g.members[id].subscribed
	}
	g.target = Assign(ids, subs, g.topics)
	g.assignmentEpoch = g.groupEpoch
}

// Assign is the simple assignor: for each topic, the members subscribed to it (in the order
// of ids) are spread over its partitions so that each partition gets max(1,
// ceil(members/partitions)) of them, and members' loads differ by at most one.
func Assign(ids []string, subs map[string][]string, topics map[string]TopicInfo) map[string]map[TopicPartition]bool {
	out := make(map[string]map[TopicPartition]bool, len(ids))
	for _, id := range ids {
		out[id] = map[TopicPartition]bool{}
	}
	byTopic := map[string][]string{}
	for _, id := range ids {
		for _, t := range subs[id] {
			byTopic[t] = append(byTopic[t], id)
		}
	}
	names := make([]string, 0, len(byTopic))
	for n := range byTopic {
		names = append(names, n)
	}
	slices.Sort(names)
	offset := 0 // rotates the starting member across topics, so single-partition topics spread
	for _, n := range names {
		t, ok := topics[n]
		if !ok || t.Partitions <= 0 {
			continue
		}
		ms := byTopic[n]
		p := int(t.Partitions)
		per := (len(ms) + p - 1) / p
		if per < 1 {
			per = 1
		}
		for k := 0; k < p*per; k++ {
			id := ms[(k+offset)%len(ms)]
			out[id][TopicPartition{t.ID, int32(k % p)}] = true
		}
		offset += p * per
	}
	return out
}

// Expire removes every member whose session timed out at now, and returns their ids (the
// share-partitions must release what they hold).
func (g *Group) Expire(now time.Time) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var removed []string
	for _, id := range g.sortedIDsLocked() {
		if m := g.members[id]; !now.Before(m.sessionDeadline) {
			g.removeLocked(m)
			removed = append(removed, id)
		}
	}
	return removed
}

// NextDeadline is the earliest session deadline, zero without members.
func (g *Group) NextDeadline() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	var next time.Time
	for _, m := range g.members {
		if next.IsZero() || m.sessionDeadline.Before(next) {
			next = m.sessionDeadline
		}
	}
	return next
}

// State is the group's state by Kafka's names.
func (g *Group) State() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.members) == 0 {
		return StateEmpty
	}
	return StateStable
}

// IsMember reports whether memberID is in the group, and whether it is assigned tp.
func (g *Group) IsMember(memberID string, tp TopicPartition) (member, assigned bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.members[memberID]
	if m == nil {
		return false, false
	}
	return true, g.target[memberID][tp]
}

// Describe returns the group for ShareGroupDescribe; AuthorizedOperations is left to the
// caller. names maps topic ids back to names.
func (g *Group) Describe() kmsg.ShareGroupDescribeResponseGroup {
	g.mu.Lock()
	defer g.mu.Unlock()
	d := kmsg.NewShareGroupDescribeResponseGroup()
	d.GroupID = g.id
	d.GroupState = StateStable
	if len(g.members) == 0 {
		d.GroupState = StateEmpty
	}
	d.GroupEpoch, d.AssignmentEpoch, d.Assignor = g.groupEpoch, g.assignmentEpoch, AssignorName
	for _, id := range g.sortedIDsLocked() {
		m := g.members[id]
		dm := kmsg.NewShareGroupDescribeResponseGroupMember()
		dm.MemberID, dm.MemberEpoch, dm.ClientID, dm.ClientHost = m.id, m.epoch, m.clientID, m.clientHost
		if m.rackID != "" {
			r := m.rackID
			dm.RackID = &r
		}
		dm.SubscribedTopicNames = slices.Clone(m.subscribed)
		if dm.SubscribedTopicNames == nil {
			dm.SubscribedTopicNames = []string{}
		}
		for _, t := range assignmentTopics(m.assigned) {
			at := kmsg.NewShareGroupDescribeResponseGroupMemberAssignmentTopicPartition()
			at.TopicID = t.TopicID
			at.Partitions = t.Partitions
			for n, ti := range g.topics {
				if ti.ID == t.TopicID {
					at.Topic = n
				}
			}
			dm.Assignment.TopicPartitions = append(dm.Assignment.TopicPartitions, at)
		}
		d.Members = append(d.Members, dm)
	}
	return d
}

// Empty reports whether the group has no members (DeleteGroups accepts only empty groups).
func (g *Group) Empty() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.members) == 0
}

// Epoch is the group epoch.
func (g *Group) Epoch() int32 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.groupEpoch
}

// RestoreEpoch sets the epoch of a group without members to the one it had before a
// coordinator restart or move, so that the epoch never goes backwards; a smaller epoch
// changes nothing.
func (g *Group) RestoreEpoch(epoch int32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if epoch > g.groupEpoch {
		g.groupEpoch, g.assignmentEpoch = epoch, epoch
	}
}
