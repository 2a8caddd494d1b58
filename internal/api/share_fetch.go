package api

// ShareFetch, versions 0-2 (KIP-932: share groups).
//
//	v0: the early-access version (Kafka 4.0)
//	v1: MaxRecords and BatchSize (KIP-1206 soft limit), AcquisitionLockTimeoutMs in the
//	    response; v0 requests get the default of 500 records
//	v2: ShareAcquireMode (record-limit mode, KIP-1206) and IsRenewAck (KIP-1222)
//
// Always flexible. The share session (ShareSessionEpoch 0 opens, -1 closes), piggy-backed
// acknowledgements and the long poll are package share's.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerShareFetch(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.ShareFetch, MinVersion: 0, MaxVersion: 2, Handle: h.shareFetch})
}

func (h *Handlers) shareFetch(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.ShareFetchRequest)
	// Authorization: READ on the share group (topic ACLs are not checked yet).
	if req.GroupID != nil && !h.allowedGroup(ctx, r, auth.OpRead, *req.GroupID) {
		resp := kmsg.NewPtrShareFetchResponse()
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return wire.Reply{Msg: resp}, nil
	}
	resp := h.Shares.ShareFetch(ctx, req)
	resp.ThrottleMillis = 0 // no quotas
	return wire.Reply{Msg: resp}, nil
}
