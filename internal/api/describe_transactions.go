package api

// DescribeTransactions, version 0 (KIP-664): per transactional id its state, producer id and
// epoch, timeout, start time and the partitions of its ongoing transaction.
// TRANSACTIONAL_ID_NOT_FOUND for an id the coordinator does not know, NOT_COORDINATOR for one
// another broker coordinates.

import (
	"context"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerDescribeTransactions(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.DescribeTransactions, MinVersion: 0, MaxVersion: 0, Handle: h.describeTransactions})
}

func (h *Handlers) describeTransactions(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.DescribeTransactionsRequest)
	resp := kmsg.NewPtrDescribeTransactionsResponse()
	for _, id := range req.TransactionalIDs {
		s := kmsg.NewDescribeTransactionsResponseTransactionState()
		s.TransactionalID, s.ProducerID, s.ProducerEpoch, s.StartTimestamp = id, -1, -1, -1
		s.Topics = []kmsg.DescribeTransactionsResponseTransactionStateTopic{}
		if !h.allowed(ctx, r, auth.OpDescribe, metadata.ACLResourceTransactionalID, id) {
			s.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code // DESCRIBE, as Kafka
			resp.TransactionStates = append(resp.TransactionStates, s)
			continue
		}
		if h.Txns == nil {
			s.ErrorCode = kerr.CoordinatorNotAvailable.Code
			resp.TransactionStates = append(resp.TransactionStates, s)
			continue
		}
		d, err := h.Txns.DescribeTransaction(id)
		if err != nil {
			s.ErrorCode = errorCode(err)
			resp.TransactionStates = append(resp.TransactionStates, s)
			continue
		}
		s.State, s.ProducerID, s.ProducerEpoch = d.State, d.ProducerID, d.ProducerEpoch
		s.TimeoutMillis, s.StartTimestamp = d.TimeoutMs, d.StartMs
		topics := make([]string, 0, len(d.Partitions))
		for t := range d.Partitions {
			topics = append(topics, t)
		}
		sort.Strings(topics)
		for _, t := range topics {
			rt := kmsg.NewDescribeTransactionsResponseTransactionStateTopic()
			rt.Topic, rt.Partitions = t, d.Partitions[t]
			s.Topics = append(s.Topics, rt)
		}
		resp.TransactionStates = append(resp.TransactionStates, s)
	}
	return wire.Reply{Msg: resp}, nil
}
