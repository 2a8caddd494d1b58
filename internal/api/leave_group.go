package api

// LeaveGroup, versions 0-5.
//
//	v1: throttle time
//	v2: no change
//	v3: a batch of members, by member id or group instance id, each with its own error (KIP-345)
//	v4: flexible
//	v5: reason per member (KIP-800)

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerLeaveGroup(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.LeaveGroup, MinVersion: 0, MaxVersion: 5, Handle: h.leaveGroup})
}

func (h *Handlers) leaveGroup(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.LeaveGroupRequest)
	resp := kmsg.NewPtrLeaveGroupResponse()
	if h.Groups == nil {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return wire.Reply{Msg: resp}, nil
	}
	if !h.allowedGroup(ctx, r, auth.OpRead, req.Group) {
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return wire.Reply{Msg: resp}, nil
	}
	members := req.Members
	if req.Version < 3 {
		m := kmsg.NewLeaveGroupRequestMember()
		m.MemberID = req.MemberID
		members = []kmsg.LeaveGroupRequestMember{m}
	}
	code, results := h.Groups.LeaveGroup(ctx, req.Group, members)
	resp.ErrorCode = code
	if req.Version < 3 {
		if code == 0 && len(results) == 1 {
			resp.ErrorCode = results[0].ErrorCode // one member: its error is the response's
		}
		return wire.Reply{Msg: resp}, nil
	}
	resp.Members = results
	return wire.Reply{Msg: resp}, nil
}
