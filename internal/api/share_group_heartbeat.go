package api

// ShareGroupHeartbeat, versions 0-1 (KIP-932: share groups).
//
//	v0: join (member epoch 0, client-generated member id), heartbeat, subscription change,
//	    leave (epoch -1); the assignment may give a partition to several members
//	v1: the version of KIP-932 as released (Kafka 4.1): same fields; v0 was the early-access
//	    version
//
// Always flexible.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerShareGroupHeartbeat(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.ShareGroupHeartbeat, MinVersion: 0, MaxVersion: 1, Handle: h.shareGroupHeartbeat})
}

func (h *Handlers) shareGroupHeartbeat(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.ShareGroupHeartbeatRequest)
	if h.Groups == nil {
		resp := kmsg.NewPtrShareGroupHeartbeatResponse()
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return wire.Reply{Msg: resp}, nil
	}
	if !h.allowedGroup(ctx, r, auth.OpRead, req.GroupID) {
		resp := kmsg.NewPtrShareGroupHeartbeatResponse()
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return wire.Reply{Msg: resp}, nil
	}
	clientID := ""
	if r.Header.ClientID != nil {
		clientID = *r.Header.ClientID
	}
	resp := h.Groups.ShareGroupHeartbeat(req, clientID, clientHost(r))
	resp.ThrottleMillis = 0 // the request quota (request_quota.go) sets it after the handler
	return wire.Reply{Msg: resp}, nil
}
