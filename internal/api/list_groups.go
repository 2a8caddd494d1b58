package api

// ListGroups, versions 0-5.
//
//	v1: throttle time
//	v2: no change
//	v3: flexible
//	v4: states filter, group state in the response (KIP-518)
//	v5: types filter, group type in the response (KIP-848)

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerListGroups(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.ListGroups, MinVersion: 0, MaxVersion: 5, Handle: h.listGroups})
}

func (h *Handlers) listGroups(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.ListGroupsRequest)
	resp := kmsg.NewPtrListGroupsResponse()
	if h.Groups != nil {
		resp.ErrorCode, resp.Groups = h.Groups.ListGroups(req.StatesFilter, req.TypesFilter)
	}
	// Authorization, as Kafka: DESCRIBE on the cluster lists every group, otherwise only the
	// groups the client may DESCRIBE.
	if !h.allowedCluster(ctx, r, auth.OpDescribe) {
		kept := resp.Groups[:0]
		for _, g := range resp.Groups {
			if h.allowedGroup(ctx, r, auth.OpDescribe, g.Group) {
				kept = append(kept, g)
			}
		}
		resp.Groups = kept
	}
	if resp.Groups == nil {
		resp.Groups = []kmsg.ListGroupsResponseGroup{}
	}
	return wire.Reply{Msg: resp}, nil
}
