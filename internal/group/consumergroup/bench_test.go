package consumergroup

import (
	"fmt"
	"testing"
)

// BenchmarkUniformJoin measures a member joining a large balanced group: 500 members, 20
// topics of 250 partitions.
func BenchmarkUniformJoin(b *testing.B) { benchJoin(b, UniformAssignor{}) }

// BenchmarkRangeJoin is the same for the range assignor.
func BenchmarkRangeJoin(b *testing.B) { benchJoin(b, RangeAssignor{}) }

func benchJoin(b *testing.B, as Assignor) {
	spec := AssignmentSpec{Topics: map[TopicID]TopicSpec{}}
	var topics []TopicID
	for i := range 20 {
		name := fmt.Sprintf("topic-%02d", i)
		spec.Topics[topicID(name)] = TopicSpec{Name: name, Partitions: 250}
		topics = append(topics, topicID(name))
	}
	for i := range 500 {
		spec.Members = append(spec.Members, MemberSpec{MemberID: fmt.Sprintf("m%04d", i), Topics: topics})
	}
	next := withCurrent(spec, as.Assign(spec))
	next.Members = append(next.Members, MemberSpec{MemberID: "zzzz", Topics: topics})
	b.ResetTimer()
	for b.Loop() {
		as.Assign(next)
	}
}
