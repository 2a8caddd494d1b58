package api

// OffsetForLeaderEpoch, versions 0-4.
//
//	v0: topics and partitions with a leader epoch; the end offset of that epoch
//	v1: the epoch answered (the largest at or below the one asked)
//	v2: current_leader_epoch (fencing) and throttle time
//	v3: replica_id: followers ask it for their truncation; consumers send -1
//	v4: flexible
//
// The leader answers from its leader epoch cache (leader-epoch-checkpoint): for the epoch
// asked, the largest epoch it has at or below it and the start offset of the next epoch
// after that, or its log end offset when the epoch is the current one; -1, -1 for an epoch
// newer than any it knows. Only the partition's leader answers (NOT_LEADER_OR_FOLLOWER); a
// current_leader_epoch older than the partition's is FENCED_LEADER_EPOCH, newer
// UNKNOWN_LEADER_EPOCH.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerOffsetForLeaderEpoch(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.OffsetForLeaderEpoch, MinVersion: 0, MaxVersion: 4, Handle: h.offsetForLeaderEpoch})
}

func (h *Handlers) offsetForLeaderEpoch(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.OffsetForLeaderEpochRequest)
	resp := kmsg.NewPtrOffsetForLeaderEpochResponse()
	for _, rt := range req.Topics {
		st := kmsg.NewOffsetForLeaderEpochResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.LeaderEpoch, sp.EndOffset = -1, -1
			p, err := h.Replicas.Partition(rt.Topic, rp.Partition)
			if err == nil {
				sp.LeaderEpoch, sp.EndOffset, err = p.LeaderEpochEnd(rp.CurrentLeaderEpoch, rp.LeaderEpoch)
			}
			sp.ErrorCode = errorCode(err)
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return wire.Reply{Msg: resp}, nil
}
