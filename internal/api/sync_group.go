package api

// SyncGroup, versions 0-5.
//
//	v1: throttle time
//	v2: no change
//	v3: group instance id (KIP-345)
//	v4: flexible
//	v5: protocol type and name in request and response, checked against the group's

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerSyncGroup(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.SyncGroup, MinVersion: 0, MaxVersion: 5, Handle: h.syncGroup})
}

func (h *Handlers) syncGroup(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.SyncGroupRequest)
	if h.Groups == nil {
		resp := kmsg.NewPtrSyncGroupResponse()
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return wire.Reply{Msg: resp}, nil
	}
	if !h.allowedGroup(ctx, r, auth.OpRead, req.Group) {
		resp := kmsg.NewPtrSyncGroupResponse()
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return wire.Reply{Msg: resp}, nil
	}
	return wire.Reply{Msg: h.Groups.SyncGroup(ctx, req)}, nil
}
