package api

// ConsumerGroupDescribe, versions 0-1 (KIP-848).
//
//	v0: groups with their epochs, assignor, and members with their subscriptions, current
//	    and target assignments
//	v1: member type (whether a member uses the classic or the consumer protocol)
//
// Always flexible. A group that does not exist, or is a classic group, is
// GROUP_ID_NOT_FOUND.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerConsumerGroupDescribe(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.ConsumerGroupDescribe, MinVersion: 0, MaxVersion: 1, Handle: h.consumerGroupDescribe})
}

func (h *Handlers) consumerGroupDescribe(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.ConsumerGroupDescribeRequest)
	resp := kmsg.NewPtrConsumerGroupDescribeResponse()
	for _, id := range req.Groups {
		var g kmsg.ConsumerGroupDescribeResponseGroup
		switch {
		case !h.allowedGroup(ctx, r, auth.OpDescribe, id):
			g = kmsg.NewConsumerGroupDescribeResponseGroup()
			g.Group, g.ErrorCode = id, kerr.GroupAuthorizationFailed.Code
		case h.Groups == nil:
			g = kmsg.NewConsumerGroupDescribeResponseGroup()
			g.Group, g.ErrorCode = id, kerr.CoordinatorNotAvailable.Code
		default:
			g = h.Groups.ConsumerGroupDescribe(id)
		}
		g.AuthorizedOperations = h.groupAuthorizedOperations(ctx, r, req.IncludeAuthorizedOperations, g.ErrorCode, id)
		resp.Groups = append(resp.Groups, g)
	}
	return wire.Reply{Msg: resp}, nil
}
