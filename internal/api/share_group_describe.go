package api

// ShareGroupDescribe, versions 0-1 (KIP-932).
//
//	v0: groups with their state, epochs, assignor, and members with their subscriptions and
//	    assignments
//	v1: the version of KIP-932 as released (Kafka 4.1): same fields
//
// Always flexible. A group that does not exist, or is not a share group, is
// GROUP_ID_NOT_FOUND.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerShareGroupDescribe(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.ShareGroupDescribe, MinVersion: 0, MaxVersion: 1, Handle: h.shareGroupDescribe})
}

func (h *Handlers) shareGroupDescribe(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.ShareGroupDescribeRequest)
	resp := kmsg.NewPtrShareGroupDescribeResponse()
	for _, id := range req.GroupIDs {
		var g kmsg.ShareGroupDescribeResponseGroup
		switch {
		case !h.allowedGroup(ctx, r, auth.OpDescribe, id):
			g = kmsg.NewShareGroupDescribeResponseGroup()
			g.GroupID, g.ErrorCode = id, kerr.GroupAuthorizationFailed.Code
		case h.Groups == nil:
			g = kmsg.NewShareGroupDescribeResponseGroup()
			g.GroupID, g.ErrorCode = id, kerr.CoordinatorNotAvailable.Code
		default:
			g = h.Groups.ShareGroupDescribe(id)
		}
		g.AuthorizedOperations = h.groupAuthorizedOperations(ctx, r, req.IncludeAuthorizedOperations, g.ErrorCode, id)
		resp.Groups = append(resp.Groups, g)
	}
	return wire.Reply{Msg: resp}, nil
}
