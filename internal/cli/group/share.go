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

// completeShareOffsets fills in the lag of the share groups among lags (completeShareGroups
// has set their protocol type): a share group commits no offsets, so its CURRENT-OFFSET is
// each share-partition's start offset (DescribeShareGroupOffsets), LOG-END-OFFSET the high
// watermark, and LAG the broker's (records below the high watermark not yet acknowledged or
// archived), or the end minus the start offset when the broker does not say.
func completeShareOffsets(ctx context.Context, adm *kadm.Client, lags kadm.DescribedGroupLags) {
	for name, l := range lags {
		if l.ProtocolType != "share" {
			continue
		}
		d, err := adm.DescribeShareGroupOffsets(ctx, name)
		if err == nil {
			err = d[name].Err
		}
		if err != nil {
			l.FetchErr = err
			lags[name] = l
			continue
		}
		var topics []string
		for t := range d[name].Offsets {
			topics = append(topics, t)
		}
		var ends kadm.ListedOffsets
		if len(topics) > 0 {
			ends, _ = adm.ListEndOffsets(ctx, topics...)
		}
		l.FetchErr, l.Lag = nil, kadm.GroupLag{}
		d[name].Offsets.Each(func(so kadm.ShareOffset) {
			ml := kadm.GroupMemberLag{Topic: so.Topic, Partition: so.Partition, Err: so.Err, Lag: -1,
				Commit: kadm.Offset{Topic: so.Topic, Partition: so.Partition, At: so.StartOffset}}
			ml.End.Offset = -1
			if e, ok := ends.Lookup(so.Topic, so.Partition); ok && e.Err == nil {
				ml.End = e
				if so.StartOffset >= 0 {
					ml.Lag = max(e.Offset-so.StartOffset, 0)
				}
			}
			if so.Lag >= 0 {
				ml.Lag = so.Lag
			}
			if l.Lag[so.Topic] == nil {
				l.Lag[so.Topic] = map[int32]kadm.GroupMemberLag{}
			}
			l.Lag[so.Topic][so.Partition] = ml
		})
		lags[name] = l
	}
}

// isShareGroup reports whether group is a share group (ShareGroupDescribe knows it).
func isShareGroup(ctx context.Context, adm *kadm.Client, group string) bool {
	d, err := adm.DescribeShareGroups(ctx, group)
	return err == nil && d[group].Err == nil && d[group].GroupID == group
}
