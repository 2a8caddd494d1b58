package api

// InitProducerId, versions 0-5.
//
//	v0: transactional id, transaction timeout
//	v1: no change
//	v2: flexible
//	v3: the producer's current id and epoch (KIP-360), so an idempotent producer can recover
//	    from a fenced or unknown state
//	v4: no change (PRODUCER_FENCED may be answered)
//	v5: no change (KIP-890 marker)
//
// Without a transactional id the broker answers as Kafka's transaction coordinator does for
// idempotent producers: a new producer id, epoch 0, whatever id and epoch the request names
// (a producer that re-initializes after OUT_OF_ORDER_SEQUENCE_NUMBER starts afresh; its old
// id is never handed out again). Ids come from blocks the controller allocates (package txn).
//
// A transactional id is the transaction coordinator's (package txn): the id's producer id with
// its epoch bumped, fencing earlier producers; an empty one is INVALID_REQUEST, a timeout
// above transaction.max.timeout.ms INVALID_TRANSACTION_TIMEOUT. PRODUCER_FENCED is answered
// as INVALID_PRODUCER_EPOCH before v4.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerInitProducerID(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.InitProducerID, MinVersion: 0, MaxVersion: 5, Handle: h.initProducerID})
}

func (h *Handlers) initProducerID(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.InitProducerIDRequest)
	resp := kmsg.NewPtrInitProducerIDResponse()
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	switch {
	case (req.ProducerID == -1) != (req.ProducerEpoch == -1):
		// Kafka: the id and the epoch are given together or not at all.
		resp.ErrorCode = kerr.InvalidRequest.Code
	case req.TransactionalID != nil && *req.TransactionalID == "":
		resp.ErrorCode = kerr.InvalidRequest.Code
	// Authorization, as Kafka: WRITE on the transactional id; an idempotent producer needs
	// IDEMPOTENT_WRITE on the cluster or WRITE on some topic.
	case req.TransactionalID != nil && !h.allowed(ctx, r, auth.OpWrite, metadata.ACLResourceTransactionalID, *req.TransactionalID):
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
	case req.TransactionalID == nil && !h.allowedCluster(ctx, r, auth.OpIdempotentWrite) && !h.allowedAny(ctx, r, auth.OpWrite, metadata.ACLResourceTopic):
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
	case req.TransactionalID != nil && h.Txns == nil:
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
	case req.TransactionalID != nil:
		id, epoch, err := h.Txns.InitProducerID(ctx, *req.TransactionalID, req.TransactionTimeoutMillis, req.ProducerID, req.ProducerEpoch)
		if err != nil {
			resp.ErrorCode = fencedCode(err, req.Version, 4)
			break
		}
		resp.ProducerID, resp.ProducerEpoch = id, epoch
	case h.ProducerIDs == nil:
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
	default:
		id, err := h.ProducerIDs.NextID(ctx)
		if err != nil {
			// No block yet (the controller is busy or moving): retriable, as Kafka answers
			// while its next producer id block loads.
			h.Logger.Warn("no producer id block", "err", err)
			resp.ErrorCode = kerr.CoordinatorLoadInProgress.Code
			break
		}
		resp.ProducerID, resp.ProducerEpoch = id, 0
	}
	return wire.Reply{Msg: resp}, nil
}
