package api

// ListTransactions, versions 0-1.
//
//	v0: state and producer id filters (KIP-664)
//	v1: duration filter: only transactions running at least that many milliseconds (KIP-994)
//
// v2 (a transactional id pattern, KIP-1152) is not served. Lists the transactional ids of the
// __transaction_state partitions this broker leads; unknown state names come back in
// unknown_state_filters.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerListTransactions(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.ListTransactions, MinVersion: 0, MaxVersion: 1, Handle: h.listTransactions})
}

func (h *Handlers) listTransactions(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.ListTransactionsRequest)
	resp := kmsg.NewPtrListTransactionsResponse()
	resp.TransactionStates = []kmsg.ListTransactionsResponseTransactionState{}
	resp.UnknownStateFilters = []string{}
	if h.Txns == nil {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return wire.Reply{Msg: resp}, nil
	}
	duration := int64(-1)
	if req.Version >= 1 {
		duration = req.DurationFilterMillis
	}
	list, unknown, err := h.Txns.ListTransactions(req.StateFilters, req.ProducerIDFilters, duration)
	resp.ErrorCode = errorCode(err)
	resp.UnknownStateFilters = append(resp.UnknownStateFilters, unknown...)
	for _, l := range list {
		// Only the transactional ids the client may DESCRIBE, as Kafka.
		if !h.allowed(ctx, r, auth.OpDescribe, metadata.ACLResourceTransactionalID, l.TransactionalID) {
			continue
		}
		s := kmsg.NewListTransactionsResponseTransactionState()
		s.TransactionalID, s.ProducerID, s.TransactionState = l.TransactionalID, l.ProducerID, l.State
		resp.TransactionStates = append(resp.TransactionStates, s)
	}
	return wire.Reply{Msg: resp}, nil
}
