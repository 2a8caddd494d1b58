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

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/controller"
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
	resp := kmsg.NewPtrDeleteTopicsResponse()
	// Authorization, as Kafka: DELETE on each topic (a topic named by id is checked under
	// its name; an unknown id is left to the controller).
	img := h.Controller.Image()
	deny := func(name *string, id metadata.UUID) {
		rt := kmsg.NewDeleteTopicsResponseTopic()
		rt.Topic, rt.TopicID, rt.ErrorCode = name, id, kerr.TopicAuthorizationFailed.Code
		resp.Topics = append(resp.Topics, rt)
	}
	var allowedNames []string
	for _, n := range names {
		if h.allowedTopic(ctx, r, auth.OpDelete, n) {
			allowedNames = append(allowedNames, n)
		} else {
			deny(&n, metadata.ZeroUUID)
		}
	}
	var allowedIDs []metadata.UUID
	for _, id := range ids {
		if t := img.TopicsByID[id]; t != nil && !h.allowedTopic(ctx, r, auth.OpDelete, t.Name) {
			deny(nil, id)
		} else {
			allowedIDs = append(allowedIDs, id)
		}
	}
	var results []controller.DeleteResult
	if len(allowedNames)+len(allowedIDs) > 0 {
		results = h.Controller.DeleteTopics(ctx, allowedNames, allowedIDs)
		h.syncReplicas()
	}
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
