package api

// IncrementalAlterConfigs, versions 0-1.
//
//	v1: flexible
//
// Changes configs key by key: SET (0), DELETE (1), APPEND (2) and SUBTRACT (3), the last two
// for list configs only (cleanup.policy, say). Resources as in AlterConfigs; BROKER_LOGGER
// (8) is not served and gets INVALID_REQUEST.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerIncrementalAlterConfigs(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.IncrementalAlterConfigs, MinVersion: 0, MaxVersion: 1, Handle: h.incrementalAlterConfigs})
}

func (h *Handlers) incrementalAlterConfigs(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.IncrementalAlterConfigsRequest)
	resources := make([]controller.ConfigResource, len(req.Resources))
	for i, rr := range req.Resources {
		cr := controller.ConfigResource{Type: metadata.ConfigResourceType(rr.ResourceType), Name: rr.ResourceName}
		for _, c := range rr.Configs {
			cr.Changes = append(cr.Changes, controller.ConfigChange{Name: c.Name, Op: controller.ConfigOp(c.Op), Value: c.Value})
		}
		resources[i] = cr
	}
	results := h.changeConfigs(ctx, r, resources, func(rs []controller.ConfigResource) []controller.ConfigResult {
		return h.Controller.IncrementalAlterConfigs(ctx, rs, req.ValidateOnly)
	})
	if !req.ValidateOnly {
		h.syncReplicas()
	}
	resp := kmsg.NewPtrIncrementalAlterConfigsResponse()
	for i, res := range results {
		rr := kmsg.NewIncrementalAlterConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = req.Resources[i].ResourceType, req.Resources[i].ResourceName
		rr.ErrorCode, rr.ErrorMessage = resultError(res)
		resp.Resources = append(resp.Resources, rr)
	}
	return wire.Reply{Msg: resp}, nil
}
