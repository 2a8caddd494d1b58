package api

// DeleteTopics, versions 0-6.
//
//	v1: throttle time
//	v2-v3: no change
//	v4: flexible
//	v5: error messages
//	v6: topics named by name or by id

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerDeleteTopics(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.DeleteTopics, MinVersion: 0, MaxVersion: 6, Handle: h.deleteTopics})
}

func (h *Handlers) deleteTopics(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.DeleteTopicsRequest)
	var names []string
	var ids []metadata.UUID
	if req.Version >= 6 {
		for _, t := range req.Topics {
			if t.Topic != nil {
				names = append(names, *t.Topic)
			} else {
				ids = append(ids, metadata.UUID(t.TopicID))
			}
		}
	} else {
		names = req.TopicNames
	}
	results := h.Controller.DeleteTopics(ctx, names, ids)
	h.syncReplicas()
	resp := kmsg.NewPtrDeleteTopicsResponse()
	for _, res := range results {
		rt := kmsg.NewDeleteTopicsResponseTopic()
		if res.Name != "" {
			name := res.Name
			rt.Topic = &name
		}
		rt.TopicID = res.ID
		rt.ErrorCode = errorCode(res.Err)
		rt.ErrorMessage = errorMessage(res.Err)
		resp.Topics = append(resp.Topics, rt)
	}
	return wire.Reply{Msg: resp}, nil
}
