package api

// OffsetCommit, versions 0-9.
//
//	v1: generation and member id; a per-partition commit timestamp (v1 only)
//	v2: retention time (v2-v4; -1 = broker default); no per-partition timestamp
//	v3: throttle time
//	v4: no change
//	v5: no retention time
//	v6: leader epoch per partition
//	v7: group instance id (KIP-345)
//	v8: flexible
//	v9: no change here (consumer groups of KIP-848 may commit with their member epoch)

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerOffsetCommit(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.OffsetCommit, MinVersion: 0, MaxVersion: 9, Handle: h.offsetCommit})
}

func (h *Handlers) offsetCommit(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.OffsetCommitRequest)
	if h.Groups == nil {
		resp := kmsg.NewPtrOffsetCommitResponse()
		for _, rt := range req.Topics {
			st := kmsg.NewOffsetCommitResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewOffsetCommitResponseTopicPartition()
				sp.Partition, sp.ErrorCode = rp.Partition, kerr.CoordinatorNotAvailable.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return wire.Reply{Msg: resp}, nil
	}
	return wire.Reply{Msg: h.Groups.OffsetCommit(ctx, req)}, nil
}
