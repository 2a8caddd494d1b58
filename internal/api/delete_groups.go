package api

// DeleteGroups, versions 0-2.
//
//	v1: no change
//	v2: flexible
//
// Only empty groups can be deleted (NON_EMPTY_GROUP otherwise); their offsets go with them.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerDeleteGroups(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.DeleteGroups, MinVersion: 0, MaxVersion: 2, Handle: h.deleteGroups})
}

func (h *Handlers) deleteGroups(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.DeleteGroupsRequest)
	resp := kmsg.NewPtrDeleteGroupsResponse()
	if h.Groups == nil {
		for _, id := range req.Groups {
			g := kmsg.NewDeleteGroupsResponseGroup()
			g.Group, g.ErrorCode = id, kerr.CoordinatorNotAvailable.Code
			resp.Groups = append(resp.Groups, g)
		}
		return wire.Reply{Msg: resp}, nil
	}
	// Authorization, as Kafka: DELETE on each group, else GROUP_AUTHORIZATION_FAILED.
	var allowed []string
	for _, id := range req.Groups {
		if h.allowedGroup(ctx, r, auth.OpDelete, id) {
			allowed = append(allowed, id)
			continue
		}
		g := kmsg.NewDeleteGroupsResponseGroup()
		g.Group, g.ErrorCode = id, kerr.GroupAuthorizationFailed.Code
		resp.Groups = append(resp.Groups, g)
	}
	if len(allowed) > 0 {
		resp.Groups = append(resp.Groups, h.Groups.DeleteGroups(ctx, allowed)...)
	}
	return wire.Reply{Msg: resp}, nil
}
