package api

// AddOffsetsToTxn, versions 0-4.
//
//	v0: transactional id, producer id and epoch, group id
//	v1: no change
//	v2: no change (PRODUCER_FENCED may be answered; older versions get INVALID_PRODUCER_EPOCH)
//	v3: flexible
//	v4: no change (KIP-890 marker)
//
// The group's __consumer_offsets partition (group.OffsetsPartition: by the topic's partition
// count, as the group coordinator finds it) joins the transaction, so that the offsets a TxnOffsetCommit
// writes there are committed or aborted with it.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/group"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerAddOffsetsToTxn(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.AddOffsetsToTxn, MinVersion: 0, MaxVersion: 4, Handle: h.addOffsetsToTxn})
}

func (h *Handlers) addOffsetsToTxn(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.AddOffsetsToTxnRequest)
	resp := kmsg.NewPtrAddOffsetsToTxnResponse()
	switch {
	case h.Txns == nil:
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
	case req.TransactionalID == "" || req.Group == "":
		resp.ErrorCode = kerr.InvalidRequest.Code
	// Authorization, as Kafka: WRITE on the transactional id, READ on the group.
	case !h.allowed(ctx, r, auth.OpWrite, metadata.ACLResourceTransactionalID, req.TransactionalID):
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
	case !h.allowedGroup(ctx, r, auth.OpRead, req.Group):
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
	default:
		var img *metadata.Image
		if h.Controller != nil {
			img = h.Controller.Image()
		}
		p := group.OffsetsPartition(img, req.Group, h.Config.OffsetsTopicNumPartitions)
		err := h.Txns.AddPartitions(ctx, req.TransactionalID, req.ProducerID, req.ProducerEpoch,
			map[string][]int32{group.OffsetsTopic: {p}})
		resp.ErrorCode = fencedCode(err, req.Version, 2)
	}
	return wire.Reply{Msg: resp}, nil
}
