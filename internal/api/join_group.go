package api

// JoinGroup, versions 0-9.
//
//	v1: rebalance timeout (v0 uses the session timeout for both)
//	v2: throttle time
//	v3: no change
//	v4: a member without an id gets MEMBER_ID_REQUIRED and an id to rejoin with (KIP-394)
//	v5: group instance id, static membership (KIP-345)
//	v6: flexible
//	v7: protocol type in the response
//	v8: reason (KIP-800)
//	v9: skip_assignment for a static leader that rejoined without a rebalance (KIP-814)

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerJoinGroup(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.JoinGroup, MinVersion: 0, MaxVersion: 9, Handle: h.joinGroup})
}

func (h *Handlers) joinGroup(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.JoinGroupRequest)
	if h.Groups == nil {
		resp := kmsg.NewPtrJoinGroupResponse()
		resp.ErrorCode, resp.Generation = kerr.CoordinatorNotAvailable.Code, -1
		return wire.Reply{Msg: resp}, nil
	}
	if !h.allowedGroup(ctx, r, auth.OpRead, req.Group) {
		resp := kmsg.NewPtrJoinGroupResponse()
		resp.ErrorCode, resp.Generation = kerr.GroupAuthorizationFailed.Code, -1
		if req.Version >= 7 {
			pt := req.ProtocolType
			resp.ProtocolType = &pt
		}
		return wire.Reply{Msg: resp}, nil
	}
	clientID := ""
	if r.Header.ClientID != nil {
		clientID = *r.Header.ClientID
	}
	resp := h.Groups.JoinGroup(ctx, req, clientID, clientHost(r))
	if req.Version < 7 {
		resp.ProtocolType = nil
	}
	if resp.Protocol == nil && req.Version < 7 {
		empty := ""
		resp.Protocol = &empty // not nullable before v7
	}
	return wire.Reply{Msg: resp}, nil
}

// clientHost is the client's address as Kafka reports it in group descriptions ("/1.2.3.4").
func clientHost(r *wire.Request) string {
	if r.Remote == nil {
		return ""
	}
	host := r.Remote.String()
	if i := lastColon(host); i >= 0 {
		host = host[:i]
	}
	return "/" + host
}

func lastColon(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ':' {
			return i
		}
	}
	return -1
}
