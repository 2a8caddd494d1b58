package api

// OffsetFetch, versions 0-9.
//
//	v1: no change (offsets from Kafka rather than ZooKeeper)
//	v2: a top-level error code; a null topic list fetches every committed partition
//	v3: throttle time
//	v4: no change
//	v5: leader epoch per partition
//	v6: flexible
//	v7: require_stable (KIP-447)
//	v8: many groups in one request, each with its own error (KIP-709)
//	v9: member id and epoch (KIP-848): checked for consumer groups, not for classic groups

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerOffsetFetch(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.OffsetFetch, MinVersion: 0, MaxVersion: 9, Handle: h.offsetFetch})
}

func (h *Handlers) offsetFetch(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.OffsetFetchRequest)
	resp := kmsg.NewPtrOffsetFetchResponse()
	fetch := func(group string, memberID *string, memberEpoch int32, topics []kmsg.OffsetFetchRequestGroupTopic) (int16, []kmsg.OffsetFetchResponseGroupTopic) {
		if h.Groups == nil {
			return kerr.CoordinatorNotAvailable.Code, nil
		}
		// Authorization, as Kafka: DESCRIBE on the group; topics the client may not
		// DESCRIBE are left out of an all-topics answer and fail when named.
		if !h.allowedGroup(ctx, r, auth.OpDescribe, group) {
			return kerr.GroupAuthorizationFailed.Code, nil
		}
		code, got := h.Groups.OffsetFetch(ctx, group, memberID, memberEpoch, topics, req.RequireStable)
		kept := got[:0]
		for _, t := range got {
			if !h.allowedTopic(ctx, r, auth.OpDescribe, t.Topic) {
				if topics == nil {
					continue
				}
				for i := range t.Partitions {
					t.Partitions[i].Offset, t.Partitions[i].Metadata = -1, nil
					t.Partitions[i].ErrorCode = kerr.TopicAuthorizationFailed.Code
				}
			}
			kept = append(kept, t)
		}
		return code, kept
	}
	if req.Version >= 8 {
		for _, rg := range req.Groups {
			memberID, memberEpoch := rg.MemberID, rg.MemberEpoch
			if req.Version < 9 {
				memberID, memberEpoch = nil, -1
			}
			code, topics := fetch(rg.Group, memberID, memberEpoch, rg.Topics)
			g := kmsg.NewOffsetFetchResponseGroup()
			g.Group, g.ErrorCode, g.Topics = rg.Group, code, topics
			resp.Groups = append(resp.Groups, g)
		}
		return wire.Reply{Msg: resp}, nil
	}

	var topics []kmsg.OffsetFetchRequestGroupTopic
	if req.Topics != nil || req.Version < 2 {
		topics = []kmsg.OffsetFetchRequestGroupTopic{}
		for _, rt := range req.Topics {
			t := kmsg.NewOffsetFetchRequestGroupTopic()
			t.Topic, t.Partitions = rt.Topic, rt.Partitions
			topics = append(topics, t)
		}
	}
	code, got := fetch(req.Group, nil, -1, topics)
	if code != 0 && req.Version < 2 {
		// v0-v1 have no top-level error: every partition asked for carries it.
		for _, rt := range req.Topics {
			t := kmsg.NewOffsetFetchResponseTopic()
			t.Topic = rt.Topic
			for _, p := range rt.Partitions {
				tp := kmsg.NewOffsetFetchResponseTopicPartition()
				tp.Partition, tp.Offset, tp.ErrorCode = p, -1, code
				t.Partitions = append(t.Partitions, tp)
			}
			resp.Topics = append(resp.Topics, t)
		}
		return wire.Reply{Msg: resp}, nil
	}
	resp.ErrorCode = code
	for _, gt := range got {
		t := kmsg.NewOffsetFetchResponseTopic()
		t.Topic = gt.Topic
		for _, gp := range gt.Partitions {
			tp := kmsg.NewOffsetFetchResponseTopicPartition()
			tp.Partition, tp.Offset, tp.LeaderEpoch, tp.Metadata, tp.ErrorCode = gp.Partition, gp.Offset, gp.LeaderEpoch, gp.Metadata, gp.ErrorCode
			t.Partitions = append(t.Partitions, tp)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return wire.Reply{Msg: resp}, nil
}
