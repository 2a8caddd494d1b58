package consumergroup

import (
	"cmp"
	"slices"
)

// TopicID is a topic's 16-byte id, as in the metadata image and on the wire.
type TopicID = [16]byte

// TopicInfo is what a group needs to know of a topic from the metadata image.
type TopicInfo struct {
	ID         TopicID
	Partitions int32
}

// TopicPartition names one partition by topic id.
type TopicPartition struct {
	Topic     TopicID
	Partition int32
}

// Assignment is a member's partitions by topic id. Partition slices are sorted and hold no
// duplicates.
type Assignment map[TopicID][]int32

// AssignmentSpec is the input of a server assignor: the group's members and the topics they
// subscribe to.
type AssignmentSpec struct {
	// Members is sorted by MemberID.
	Members []MemberSpec
	// Topics holds every topic some member subscribes to and that exists.
	Topics map[TopicID]TopicSpec
}

// TopicSpec describes one subscribed topic.
type TopicSpec struct {
	Name       string
	Partitions int32
}

// MemberSpec is one member as the assignor sees it.
type MemberSpec struct {
	MemberID   string
	InstanceID string
	RackID     string
	// Topics are the ids of the subscribed topics that exist, sorted by topic name.
	Topics []TopicID
	// Current is the member's present target assignment, which sticky assignors keep where
	// balance allows. It may name partitions that no longer exist or topics the member no
	// longer subscribes to; assignors drop those.
	Current Assignment
}

// Assignor is a server-side partition assignor. Assign must be deterministic (same spec,
// same result), must assign every partition of every topic in spec.Topics that has at least
// one subscriber to exactly one subscriber, and must return an entry for every member.
type Assignor interface {
	Name() string
	Assign(spec AssignmentSpec) map[string]Assignment
}

// Names of the server assignors, as members send them in ServerAssignor.
const (
	UniformAssignorName = "uniform"
	RangeAssignorName   = "range"
)

// AssignorByName returns the assignor a member or group.consumer.assignors names, by its
// short name or by the class name Kafka also accepts, or nil.
func AssignorByName(name string) Assignor {
	switch name {
	case UniformAssignorName, "org.apache.kafka.coordinator.group.assignor.UniformAssignor":
		return UniformAssignor{}
	case RangeAssignorName, "org.apache.kafka.coordinator.group.assignor.RangeAssignor":
		return RangeAssignor{}
	}
	return nil
}

// sortedTopics returns spec's topic ids ordered by name then id, the order every assignor
// walks topics in so its result does not depend on map iteration.
func sortedTopics(spec AssignmentSpec) []TopicID {
	ids := make([]TopicID, 0, len(spec.Topics))
	for id := range spec.Topics {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b TopicID) int {
		if c := cmp.Compare(spec.Topics[a].Name, spec.Topics[b].Name); c != 0 {
			return c
		}
		return compareIDs(a, b)
	})
	return ids
}

func compareIDs(a, b TopicID) int {
	for i := range a {
		if c := cmp.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

// toAssignment turns a set of partitions into an Assignment with sorted partition lists.
func toAssignment(set map[TopicPartition]struct{}) Assignment {
	a := Assignment{}
	for tp := range set {
		a[tp.Topic] = append(a[tp.Topic], tp.Partition)
	}
	for id := range a {
		slices.Sort(a[id])
	}
	return a
}
