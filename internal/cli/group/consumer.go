package group

import (
	"context"

	"github.com/twmb/franz-go/pkg/kadm"
)

// completeConsumerGroups fills in the KIP-848 consumer groups among lags. DescribeGroups
// describes classic groups only and answers Dead for a consumer group, so kadm.Lag returns
// one with its committed offsets and lag but without state or members; those come from
// ConsumerGroupDescribe. Groups it does not describe (really dead ones, or a broker without
// the API) are left as they are.
func completeConsumerGroups(ctx context.Context, adm *kadm.Client, lags kadm.DescribedGroupLags) {
	var dead []string
	for name, l := range lags {
		if l.Error() == nil && l.State == "Dead" {
			dead = append(dead, name)
		}
	}
	if len(dead) == 0 {
		return
	}
	described, _ := adm.DescribeConsumerGroups(ctx, dead...)
	var uncommitted []string // topics with assigned partitions that have no commit
	for name, d := range described {
		l, ok := lags[name]
		if !ok || d.Err != nil {
			continue
		}
		l.State, l.ProtocolType, l.Protocol, l.Coordinator = d.State, "consumer", d.AssignorName, d.Coordinator
		l.Members = make([]kadm.DescribedGroupMember, len(d.Members))
		if l.Lag == nil {
			l.Lag = kadm.GroupLag{}
		}
		for i, m := range d.Members {
			l.Members[i] = kadm.DescribedGroupMember{MemberID: m.MemberID, InstanceID: m.InstanceID, ClientID: m.ClientID, ClientHost: m.ClientHost}
			member := &l.Members[i]
			for _, tp := range m.Assignment.Sorted() {
				for _, p := range tp.Partitions {
					if l.Lag[tp.Topic] == nil {
						l.Lag[tp.Topic] = map[int32]kadm.GroupMemberLag{}
					}
					ml, ok := l.Lag[tp.Topic][p]
					if !ok {
						ml = kadm.GroupMemberLag{Topic: tp.Topic, Partition: p, Lag: -1,
							Commit: kadm.Offset{Topic: tp.Topic, Partition: p, At: -1}, End: kadm.ListedOffset{Offset: -1}}
						uncommitted = append(uncommitted, tp.Topic)
					}
					ml.Member = member
					l.Lag[tp.Topic][p] = ml
				}
			}
		}
		lags[name] = l
	}
	if len(uncommitted) == 0 {
		return
	}
	// Show the log-end offset of assigned partitions without a commit, as Kafka's tool does.
	ends, err := adm.ListEndOffsets(ctx, uncommitted...)
	if err != nil {
		return
	}
	for name, l := range lags {
		for t, ps := range l.Lag {
			for p, ml := range ps {
				if e, ok := ends.Lookup(t, p); ok && ml.Commit.At < 0 && ml.End.Offset < 0 && e.Err == nil {
					ml.End = e
					ps[p] = ml
				}
			}
		}
		lags[name] = l
	}
}

// assignedFromLag is a member's assignment as the lag map records it, for members whose
// assignment is not in the classic encoding (members of consumer groups).
func assignedFromLag(lag kadm.GroupLag, memberID string) kadm.TopicsSet {
	s := kadm.TopicsSet{}
	for t, ps := range lag {
		for p, ml := range ps {
			if ml.Member != nil && ml.Member.MemberID == memberID {
				s.Add(t, p)
			}
		}
	}
	return s
}
