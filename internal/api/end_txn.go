package api

// EndTxn, versions 0-4.
//
//	v0: transactional id, producer id and epoch, commit or abort
//	v1: no change
//	v2: no change (PRODUCER_FENCED may be answered; older versions get INVALID_PRODUCER_EPOCH)
//	v3: flexible
//	v4: no change (TRANSACTION_ABORTABLE may be answered, KIP-890)
//
// v5 (KIP-890 part 2: the epoch bumped on every transaction, in the response) is not served.
// The answer follows the PrepareCommit or PrepareAbort record; the markers and the Complete
// record are written afterwards (package txn).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerEndTxn(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.EndTxn, MinVersion: 0, MaxVersion: 4, Handle: h.endTxn})
}

func (h *Handlers) endTxn(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.EndTxnRequest)
	resp := kmsg.NewPtrEndTxnResponse()
	switch {
	case h.Txns == nil:
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
	case req.TransactionalID == "":
		resp.ErrorCode = kerr.InvalidRequest.Code
	// Authorization, as Kafka: WRITE on the transactional id.
	case !h.allowed(ctx, r, auth.OpWrite, metadata.ACLResourceTransactionalID, req.TransactionalID):
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
	default:
		err := h.Txns.EndTxn(ctx, req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit)
		resp.ErrorCode = fencedCode(err, req.Version, 2)
	}
	return wire.Reply{Msg: resp}, nil
}
