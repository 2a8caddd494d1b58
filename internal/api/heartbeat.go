package api

// Heartbeat, versions 0-4.
//
//	v1: throttle time
//	v2: no change
//	v3: group instance id (KIP-345)
//	v4: flexible

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerHeartbeat(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.Heartbeat, MinVersion: 0, MaxVersion: 4, Handle: h.heartbeat})
}

func (h *Handlers) heartbeat(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.HeartbeatRequest)
	resp := kmsg.NewPtrHeartbeatResponse()
	resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
	switch {
	case !h.allowedGroup(ctx, r, auth.OpRead, req.Group):
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
	case h.Groups != nil:
		resp.ErrorCode = h.Groups.Heartbeat(ctx, req)
	}
	return wire.Reply{Msg: resp}, nil
}
