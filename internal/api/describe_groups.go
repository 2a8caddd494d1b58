package api

// DescribeGroups, versions 0-5.
//
//	v1: throttle time
//	v2: no change
//	v3: authorized operations (KIP-430)
//	v4: group instance id of members (KIP-345)
//	v5: flexible
//
// A group that does not exist is described as Dead with no error (v6 would answer
// GROUP_ID_NOT_FOUND; it is not served).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerDescribeGroups(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.DescribeGroups, MinVersion: 0, MaxVersion: 5, Handle: h.describeGroups})
}

func (h *Handlers) describeGroups(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.DescribeGroupsRequest)
	resp := kmsg.NewPtrDescribeGroupsResponse()
	for _, id := range req.Groups {
		var g kmsg.DescribeGroupsResponseGroup
		switch {
		case !h.allowedGroup(ctx, r, auth.OpDescribe, id):
			g = kmsg.NewDescribeGroupsResponseGroup()
			g.Group, g.ErrorCode = id, kerr.GroupAuthorizationFailed.Code
		case h.Groups == nil:
			g = kmsg.NewDescribeGroupsResponseGroup()
			g.Group, g.ErrorCode = id, kerr.CoordinatorNotAvailable.Code
		default:
			g = h.Groups.DescribeGroup(id)
		}
		g.AuthorizedOperations = h.groupAuthorizedOperations(ctx, r, req.Version >= 3 && req.IncludeAuthorizedOperations, g.ErrorCode, id)
		resp.Groups = append(resp.Groups, g)
	}
	return wire.Reply{Msg: resp}, nil
}
