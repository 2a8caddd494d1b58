package api

// OffsetDelete, version 0 (KIP-496): deletes a group's committed offsets of topics the group
// does not consume.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerOffsetDelete(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.OffsetDelete, MinVersion: 0, MaxVersion: 0, Handle: h.offsetDelete})
}

func (h *Handlers) offsetDelete(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.OffsetDeleteRequest)
	if h.Groups == nil {
		resp := kmsg.NewPtrOffsetDeleteResponse()
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return wire.Reply{Msg: resp}, nil
	}
	if !h.allowedGroup(ctx, r, auth.OpDelete, req.Group) {
		resp := kmsg.NewPtrOffsetDeleteResponse()
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return wire.Reply{Msg: resp}, nil
	}
	var allowed []kmsg.OffsetDeleteRequestTopic
	var denied []kmsg.OffsetDeleteResponseTopic
	for _, t := range req.Topics {
		if h.allowedTopic(ctx, r, auth.OpRead, t.Topic) {
			allowed = append(allowed, t)
			continue
		}
		rt := kmsg.NewOffsetDeleteResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetDeleteResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, kerr.TopicAuthorizationFailed.Code
			rt.Partitions = append(rt.Partitions, rp)
		}
		denied = append(denied, rt)
	}
	req.Topics = allowed
	resp := h.Groups.OffsetDelete(ctx, req)
	resp.Topics = append(resp.Topics, denied...)
	return wire.Reply{Msg: resp}, nil
}
