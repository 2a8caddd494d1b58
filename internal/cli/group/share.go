package group

import (
	"context"

	"github.com/twmb/franz-go/pkg/kadm"
)

// shareAssignments is, per share group and member, the partitions the member is assigned;
// in a share group several members may share a partition, so the lag map, which has one
// member per partition, cannot hold it.
type shareAssignments map[string]map[string]kadm.TopicsSet

// completeShareGroups fills in the KIP-932 share groups among lags: DescribeGroups answers
// Dead for them, and ShareGroupDescribe has their state, assignor and members. Groups it
// does not describe are left as they are.
func completeShareGroups(ctx context.Context, adm *kadm.Client, lags kadm.DescribedGroupLags) shareAssignments {
	var dead []string
	for name, l := range lags {
		if l.Error() == nil && l.State == "Dead" {
			dead = append(dead, name)
		}
	}
	out := shareAssignments{}
	if len(dead) == 0 {
		return out
	}
	described, _ := adm.DescribeShareGroups(ctx, dead...)
	for name, d := range described {
		l, ok := lags[name]
		if !ok || d.Err != nil {
			continue
		}
		l.State, l.ProtocolType, l.Protocol, l.Coordinator = d.GroupState, "share", d.Assignor, d.Coordinator
		l.Members = make([]kadm.DescribedGroupMember, len(d.Members))
		out[name] = map[string]kadm.TopicsSet{}
		for i, m := range d.Members {
			l.Members[i] = kadm.DescribedGroupMember{MemberID: m.MemberID, ClientID: m.ClientID, ClientHost: m.ClientHost}
			out[name][m.MemberID] = m.Assignment
		}
		lags[name] = l
	}
	return out
}
