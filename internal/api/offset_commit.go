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

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerOffsetCommit(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.OffsetCommit, MinVersion: 0, MaxVersion: 9, Handle: h.offsetCommit})
}

func (h *Handlers) offsetCommit(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.OffsetCommitRequest)
	// failAll answers every partition with code.
	failAll := func(topics []kmsg.OffsetCommitRequestTopic, code int16) []kmsg.OffsetCommitResponseTopic {
		var out []kmsg.OffsetCommitResponseTopic
		for _, rt := range topics {
			st := kmsg.NewOffsetCommitResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewOffsetCommitResponseTopicPartition()
				sp.Partition, sp.ErrorCode = rp.Partition, code
				st.Partitions = append(st.Partitions, sp)
			}
			out = append(out, st)
		}
		return out
	}
	if h.Groups == nil || !h.allowedGroup(ctx, r, auth.OpRead, req.Group) {
		code := kerr.GroupAuthorizationFailed.Code
		if h.Groups == nil {
			code = kerr.CoordinatorNotAvailable.Code
		}
		resp := kmsg.NewPtrOffsetCommitResponse()
		resp.Topics = failAll(req.Topics, code)
		return wire.Reply{Msg: resp}, nil
	}
	// Authorization, as Kafka: READ on the group (above), READ on each topic.
	var allowed, denied []kmsg.OffsetCommitRequestTopic
	for _, rt := range req.Topics {
		if h.allowedTopic(ctx, r, auth.OpRead, rt.Topic) {
			allowed = append(allowed, rt)
		} else {
			denied = append(denied, rt)
		}
	}
	req.Topics = allowed
	resp := h.Groups.OffsetCommit(ctx, req)
	resp.Topics = append(resp.Topics, failAll(denied, kerr.TopicAuthorizationFailed.Code)...)
	return wire.Reply{Msg: resp}, nil
}
