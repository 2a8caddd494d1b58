package consumergroup

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// GroupType and ProtocolType are what ListGroups reports for these groups.
const (
	GroupType    = "consumer"
	ProtocolType = "consumer"
)

// Group states, as Kafka names them in ListGroups, DescribeGroups and ConsumerGroupDescribe.
// ListGroups' states filter compares them lowercased.
const (
	StateEmpty       = "Empty"
	StateAssigning   = "Assigning"
	StateReconciling = "Reconciling"
	StateStable      = "Stable"
	StateDead        = "Dead"
)

// State returns the group's state: Empty without members, Assigning while the target lags the
// group epoch, Reconciling while some member has not reached the target, else Stable.
func (g *Group) State() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stateLocked()
}

func (g *Group) stateLocked() string {
	switch {
	case len(g.members) == 0:
		return StateEmpty
	case g.groupEpoch > g.assignmentEpoch:
		return StateAssigning
	}
	for _, m := range g.members {
		if !m.reconciledTo(g.assignmentEpoch) {
			return StateReconciling
		}
	}
	return StateStable
}

// IsEmpty reports whether the group has no members (so DeleteGroups may delete it).
func (g *Group) IsEmpty() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.members) == 0
}

// Epochs returns the group epoch and the target assignment epoch.
func (g *Group) Epochs() (groupEpoch, assignmentEpoch int32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.groupEpoch, g.assignmentEpoch
}

// Describe answers ConsumerGroupDescribe for this group. Topic names come from the last
// SetTopics; a topic no longer in it is left out of assignments, as Kafka does.
// AuthorizedOperations is left for the caller.
func (g *Group) Describe() kmsg.ConsumerGroupDescribeResponseGroup {
	g.mu.Lock()
	defer g.mu.Unlock()
	names := make(map[TopicID]string, len(g.topics))
	for n, t := range g.topics {
		names[t.ID] = n
	}
	d := kmsg.NewConsumerGroupDescribeResponseGroup()
	d.Group = g.id
	d.State = g.stateLocked()
	d.Epoch = g.groupEpoch
	d.AssignmentEpoch = g.assignmentEpoch
	d.AssignorName = g.assignorName
	for _, id := range g.sortedMemberIDsLocked() {
		m := g.members[id]
		dm := kmsg.NewConsumerGroupDescribeResponseGroupMember()
		dm.MemberID = m.id
		if m.instanceID != "" {
			s := m.instanceID
			dm.InstanceID = &s
		}
		if m.rackID != "" {
			s := m.rackID
			dm.RackID = &s
		}
		dm.MemberEpoch = m.epoch
		dm.ClientID = m.clientID
		dm.ClientHost = m.clientHost
		dm.SubscribedTopics = append([]string{}, m.subscribedNames...)
		if m.subscribedRegex != "" {
			s := m.subscribedRegex
			dm.SubscribedTopicRegex = &s
		}
		dm.Assignment = describeAssignment(m.assigned, names)
		dm.TargetAssignment = describeAssignment(g.target[m.id], names)
		dm.MemberType = 1 // a member using the consumer protocol
		d.Members = append(d.Members, dm)
	}
	return d
}

func describeAssignment(s partSet, names map[TopicID]string) kmsg.Assignment {
	a := toAssignment(s)
	out := kmsg.NewAssignment()
	out.TopicPartitions = []kmsg.AssignmentTopicPartition{}
	for _, t := range sortedKeys(a) {
		name, ok := names[t]
		if !ok {
			continue
		}
		tp := kmsg.NewAssignmentTopicPartition()
		tp.TopicID = t
		tp.Topic = name
		tp.Partitions = a[t]
		out.TopicPartitions = append(out.TopicPartitions, tp)
	}
	return out
}

// ValidateOffsetCommit applies Kafka's rules to an OffsetCommit (or, with transactional set,
// a TxnOffsetCommit) for this group:
//
//   - a negative member epoch commits only while the group is empty (admin tools and
//     consumers without group management);
//   - a TxnOffsetCommit that names no member, generation or instance is accepted;
//   - otherwise the member must exist (UNKNOWN_MEMBER_ID), must use OffsetCommit v9 or later
//     (UNSUPPORTED_VERSION), and must send exactly its current member epoch
//     (STALE_MEMBER_EPOCH): an older epoch is refused even if it owned the partitions, and the
//     client retries with the epoch its next heartbeat brings.
func (g *Group) ValidateOffsetCommit(memberID string, instanceID *string, memberEpoch int32, transactional bool, apiVersion int16) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if memberEpoch < 0 && len(g.members) == 0 {
		return nil
	}
	if transactional && memberEpoch == -1 && memberID == "" && instanceID == nil {
		return nil
	}
	m := g.members[memberID]
	if m == nil {
		return fail(kerr.UnknownMemberID, "Member %s is not a member of group %s.", memberID, g.id)
	}
	if !transactional && apiVersion < 9 {
		return fail(kerr.UnsupportedVersion, "OffsetCommit version 9 or above must be used by members using the modern group protocol")
	}
	return validateMemberEpoch(memberEpoch, m.epoch)
}

// ValidateOffsetFetch applies Kafka's rules to an OffsetFetch for this group: a request with
// no member id and a negative epoch (admin tools, older clients) is accepted; otherwise the
// member must exist and send its current epoch.
func (g *Group) ValidateOffsetFetch(memberID *string, memberEpoch int32) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if memberID == nil && memberEpoch < 0 {
		return nil
	}
	id := ""
	if memberID != nil {
		id = *memberID
	}
	m := g.members[id]
	if m == nil {
		return fail(kerr.UnknownMemberID, "Member %s is not a member of group %s.", id, g.id)
	}
	return validateMemberEpoch(memberEpoch, m.epoch)
}

// ValidateDelete refuses DeleteGroups for a group that still has members.
func (g *Group) ValidateDelete() error {
	if !g.IsEmpty() {
		return kerr.NonEmptyGroup
	}
	return nil
}

func validateMemberEpoch(received, expected int32) error {
	if received != expected {
		return fail(kerr.StaleMemberEpoch, "The received member epoch %d does not match the expected member epoch %d.", received, expected)
	}
	return nil
}
