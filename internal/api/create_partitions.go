package api

// CreatePartitions, versions 0-3.
//
//	v1: no change
//	v2: flexible
//	v3: no change
//
// Partitions can only be added, never removed (INVALID_PARTITIONS).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerCreatePartitions(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.CreatePartitions, MinVersion: 0, MaxVersion: 3, Handle: h.createPartitions})
}

func (h *Handlers) createPartitions(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.CreatePartitionsRequest)
	specs := make([]controller.PartitionsSpec, 0, len(req.Topics))
	resp := kmsg.NewPtrCreatePartitionsResponse()
	for _, rt := range req.Topics {
		// Authorization, as Kafka: ALTER on each topic.
		if !h.allowedTopic(ctx, r, auth.OpAlter, rt.Topic) {
			t := kmsg.NewCreatePartitionsResponseTopic()
			t.Topic, t.ErrorCode = rt.Topic, kerr.TopicAuthorizationFailed.Code
			resp.Topics = append(resp.Topics, t)
			continue
		}
		spec := controller.PartitionsSpec{Topic: rt.Topic, Count: rt.Count}
		for _, a := range rt.Assignment {
			spec.Assignments = append(spec.Assignments, a.Replicas)
		}
		specs = append(specs, spec)
	}
	results := h.Controller.CreatePartitions(ctx, specs, req.ValidateOnly)
	if !req.ValidateOnly {
		h.syncReplicas()
	}
	for _, res := range results {
		rt := kmsg.NewCreatePartitionsResponseTopic()
		rt.Topic = res.Topic
		rt.ErrorCode = errorCode(res.Err)
		rt.ErrorMessage = errorMessage(res.Err)
		resp.Topics = append(resp.Topics, rt)
	}
	return wire.Reply{Msg: resp}, nil
}
