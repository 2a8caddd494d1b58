package consumergroup

import (
	"regexp"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// memberState is where a member is in its reconciliation, with Kafka's MemberState names.
type memberState int8

const (
	// stateStable: the member owns every partition of its target it can be given, at its
	// member epoch.
	stateStable memberState = iota
	// stateUnrevokedPartitions: the member must first release pendingRevocation; it stays at
	// its old epoch until a heartbeat shows it no longer owns them.
	stateUnrevokedPartitions
	// stateUnreleasedPartitions: the member is at the target epoch but some partitions of its
	// target are still owned by other members and are withheld.
	stateUnreleasedPartitions
)

func (s memberState) String() string {
	switch s {
	case stateStable:
		return "STABLE"
	case stateUnrevokedPartitions:
		return "UNREVOKED_PARTITIONS"
	case stateUnreleasedPartitions:
		return "UNRELEASED_PARTITIONS"
	}
	return "UNKNOWN"
}

// Member epochs with a meaning of their own in ConsumerGroupHeartbeat.
const (
	joinEpoch        int32 = 0  // a member joins, or rejoins after an error
	leaveEpoch       int32 = -1 // a member leaves for good
	staticLeaveEpoch int32 = -2 // a static member leaves for now, keeping its assignment
)

// partSet is a set of partitions.
type partSet map[TopicPartition]struct{}

func (s partSet) has(tp TopicPartition) bool { _, ok := s[tp]; return ok }

func (s partSet) clone() partSet {
	c := make(partSet, len(s))
	for tp := range s {
		c[tp] = struct{}{}
	}
	return c
}

func (s partSet) equal(o partSet) bool {
	if len(s) != len(o) {
		return false
	}
	for tp := range s {
		if !o.has(tp) {
			return false
		}
	}
	return true
}

func setFromAssignment(a Assignment) partSet {
	s := partSet{}
	for t, ps := range a {
		for _, p := range ps {
			s[TopicPartition{t, p}] = struct{}{}
		}
	}
	return s
}

// ownedFromRequest is the set of partitions a heartbeat says the member owns; nil when the
// request left Topics null ("unchanged"), which is not the same as owning nothing.
func ownedFromRequest(topics []kmsg.ConsumerGroupHeartbeatRequestTopic) partSet {
	if topics == nil {
		return nil
	}
	s := partSet{}
	for _, t := range topics {
		for _, p := range t.Partitions {
			s[TopicPartition{t.TopicID, p}] = struct{}{}
		}
	}
	return s
}

// member is one consumer of a Group. All fields are guarded by the Group's mu.
type member struct {
	id         string
	instanceID string // "" for a dynamic member
	rackID     string
	clientID   string
	clientHost string

	rebalanceTimeout time.Duration
	subscribedNames  []string       // sorted
	subscribedRegex  string         // "" for none
	regex            *regexp.Regexp // subscribedRegex compiled; nil for none
	serverAssignor   string         // "" when the member names none

	state         memberState
	epoch         int32
	previousEpoch int32
	// assigned are the partitions the member has been given; pendingRevocation the ones it
	// was told to give up and has not yet confirmed giving up. Invariant: the two are
	// disjoint, and every partition in either has this member as Group.owner.
	assigned          partSet
	pendingRevocation partSet

	// sessionDeadline is when the member is removed unless it heartbeats again.
	sessionDeadline time.Time
	// rebalanceDeadline, when non-zero, is when the member is removed unless it has left
	// stateUnrevokedPartitions by then.
	rebalanceDeadline time.Time
}

// reconciledTo reports whether the member is done with target assignment epoch e.
func (m *member) reconciledTo(e int32) bool {
	return m.state == stateStable && m.epoch == e
}

// reconciliation is the outcome of one reconcile step, applied by the Group.
type reconciliation struct {
	state             memberState
	epoch             int32
	assigned          partSet
	pendingRevocation partSet
}

// reconcile computes the member's next state towards target at targetEpoch, as Kafka's
// CurrentAssignmentBuilder does. owned is what the member's heartbeat says it owns (nil if
// not sent); ownerOf reports the member currently owning a partition, "" if none. It returns
// false when nothing changes.
func (m *member) reconcile(targetEpoch int32, target partSet, owned partSet, ownerOf func(TopicPartition) string) (reconciliation, bool) {
	switch m.state {
	case stateStable:
		if m.epoch == targetEpoch {
			return reconciliation{}, false
		}
	case stateUnrevokedPartitions:
		// Wait until the member reports it released every partition pending revocation.
		if ownsAny(owned, m.pendingRevocation) {
			return reconciliation{}, false
		}
	case stateUnreleasedPartitions:
		// Re-run: some withheld partitions may have been released since.
	}
	return m.nextAssignment(targetEpoch, target, owned, ownerOf), true
}

// nextAssignment is CurrentAssignmentBuilder.computeNextAssignment: keep what is still in the
// target, revoke the rest first, then take what the target adds and nobody else owns.
func (m *member) nextAssignment(targetEpoch int32, target partSet, owned partSet, ownerOf func(TopicPartition) string) reconciliation {
	keep := partSet{}
	revoke := partSet{}
	for tp := range m.assigned {
		if target.has(tp) {
			keep[tp] = struct{}{}
		} else {
			revoke[tp] = struct{}{}
		}
	}
	add := partSet{}
	unreleased := false
	for tp := range target {
		if keep.has(tp) {
			continue
		}
		// A partition this member itself still has pending revocation may be taken back
		// at once: only one member owns a partition at a time, and it is this one.
		if o := ownerOf(tp); o != "" && !(o == m.id && m.pendingRevocation.has(tp)) {
			unreleased = true
			continue
		}
		add[tp] = struct{}{}
	}

	switch {
	case len(revoke) > 0 && ownsAny(owned, revoke):
		// The member must give partitions up before it may move to the new epoch.
		return reconciliation{state: stateUnrevokedPartitions, epoch: m.epoch, assigned: keep, pendingRevocation: revoke}
	default:
		for tp := range add {
			keep[tp] = struct{}{}
		}
		st := stateStable
		if unreleased {
			st = stateUnreleasedPartitions
		}
		return reconciliation{state: st, epoch: targetEpoch, assigned: keep, pendingRevocation: partSet{}}
	}
}

// ownsAny reports whether owned includes any of ps; an unknown owned set (nil: the request
// did not say) is taken to include them all.
func ownsAny(owned partSet, ps partSet) bool {
	if owned == nil {
		return len(ps) > 0
	}
	for tp := range ps {
		if owned.has(tp) {
			return true
		}
	}
	return false
}

// assignmentTopics renders a set of partitions for a heartbeat response, sorted by topic id
// and partition so the bytes are stable.
func assignmentTopics(s partSet) []kmsg.ConsumerGroupHeartbeatResponseAssignmentTopic {
	a := toAssignment(s)
	out := make([]kmsg.ConsumerGroupHeartbeatResponseAssignmentTopic, 0, len(a))
	for _, t := range sortedKeys(a) {
		rt := kmsg.NewConsumerGroupHeartbeatResponseAssignmentTopic()
		rt.TopicID = t
		rt.Partitions = a[t]
		out = append(out, rt)
	}
	return out
}

// isSubset reports whether every partition the request says the member owns is in assigned;
// a request that does not say is no subset.
func isSubset(owned partSet, assigned partSet) bool {
	if owned == nil {
		return false
	}
	for tp := range owned {
		if !assigned.has(tp) {
			return false
		}
	}
	return true
}

func sortedStrings(ss []string) []string {
	c := slices.Clone(ss)
	slices.Sort(c)
	return slices.Compact(c)
}
