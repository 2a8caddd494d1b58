package api

// OffsetDelete, version 0 (KIP-496): deletes a group's committed offsets of topics the group
// does not consume.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerOffsetDelete(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.OffsetDelete, MinVersion: 0, MaxVersion: 0, Handle: h.offsetDelete})
}

func (h *Handlers) offsetDelete(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.OffsetDeleteRequest)
	if h.Groups == nil {
		resp := kmsg.NewPtrOffsetDeleteResponse()
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return wire.Reply{Msg: resp}, nil
	}
	return wire.Reply{Msg: h.Groups.OffsetDelete(ctx, req)}, nil
}
