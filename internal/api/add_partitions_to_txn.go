package api

// AddPartitionsToTxn, versions 0-5.
//
//	v0: transactional id, producer id and epoch, topics and partitions
//	v1: no change
//	v2: no change (PRODUCER_FENCED may be answered; older versions get INVALID_PRODUCER_EPOCH)
//	v3: flexible
//	v4: batched: several transactions, each with verify_only (KIP-890: a broker asks whether
//	    partitions are in the ongoing transaction before it appends a transactional batch),
//	    a top-level error code and per-transaction results
//	v5: no change (KIP-890 marker)
//
// A partition of a topic that does not exist (or a partition beyond its count) is
// UNKNOWN_TOPIC_OR_PARTITION, and the other partitions of that transaction are then
// OPERATION_NOT_ATTEMPTED, as Kafka answers; otherwise the coordinator's answer is every
// partition's.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerAddPartitionsToTxn(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.AddPartitionsToTxn, MinVersion: 0, MaxVersion: 5, Handle: h.addPartitionsToTxn})
}

func (h *Handlers) addPartitionsToTxn(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.AddPartitionsToTxnRequest)
	resp := kmsg.NewPtrAddPartitionsToTxnResponse()
	if req.Version < 4 {
		parts := map[string][]int32{}
		for _, t := range req.Topics {
			parts[t.Topic] = append(parts[t.Topic], t.Partitions...)
		}
		codes := h.authorizedAddTxnPartitions(ctx, r, req.Version, req.TransactionalID, req.ProducerID, req.ProducerEpoch, false, parts)
		for _, t := range req.Topics {
			rt := kmsg.NewAddPartitionsToTxnResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p, codes[t.Topic][p]
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return wire.Reply{Msg: resp}, nil
	}
	for _, tx := range req.Transactions {
		parts := map[string][]int32{}
		for _, t := range tx.Topics {
			parts[t.Topic] = append(parts[t.Topic], t.Partitions...)
		}
		codes := h.authorizedAddTxnPartitions(ctx, r, req.Version, tx.TransactionalID, tx.ProducerID, tx.ProducerEpoch, tx.VerifyOnly, parts)
		rtx := kmsg.NewAddPartitionsToTxnResponseTransaction()
		rtx.TransactionalID = tx.TransactionalID
		for _, t := range tx.Topics {
			rt := kmsg.NewAddPartitionsToTxnResponseTransactionTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewAddPartitionsToTxnResponseTransactionTopicPartition()
				rp.Partition, rp.ErrorCode = p, codes[t.Topic][p]
				rt.Partitions = append(rt.Partitions, rp)
			}
			rtx.Topics = append(rtx.Topics, rt)
		}
		resp.Transactions = append(resp.Transactions, rtx)
	}
	return wire.Reply{Msg: resp}, nil
}

// addTxnPartitions adds (or, verifyOnly, checks) one transaction's partitions and returns the
// error code of each.
// authorizedAddTxnPartitions authorizes as Kafka does, then adds: without WRITE on the
// transactional id every partition gets TRANSACTIONAL_ID_AUTHORIZATION_FAILED; without WRITE
// on a topic its partitions get TOPIC_AUTHORIZATION_FAILED and the others
// OPERATION_NOT_ATTEMPTED.
func (h *Handlers) authorizedAddTxnPartitions(ctx context.Context, r *wire.Request, version int16, id string, producerID int64, producerEpoch int16,
	verifyOnly bool, parts map[string][]int32) map[string]map[int32]int16 {
	codes := map[string]map[int32]int16{}
	fill := func(topic string, code int16) {
		codes[topic] = map[int32]int16{}
		for _, p := range parts[topic] {
			codes[topic][p] = code
		}
	}
	if !h.allowed(ctx, r, auth.OpWrite, metadata.ACLResourceTransactionalID, id) {
		for t := range parts {
			fill(t, kerr.TransactionalIDAuthorizationFailed.Code)
		}
		return codes
	}
	denied := false
	for t := range parts {
		if !h.allowedTopic(ctx, r, auth.OpWrite, t) {
			fill(t, kerr.TopicAuthorizationFailed.Code)
			denied = true
		}
	}
	if denied {
		for t := range parts {
			if codes[t] == nil {
				fill(t, kerr.OperationNotAttempted.Code)
			}
		}
		return codes
	}
	return h.addTxnPartitions(ctx, version, id, producerID, producerEpoch, verifyOnly, parts)
}

func (h *Handlers) addTxnPartitions(ctx context.Context, version int16, id string, producerID int64, producerEpoch int16,
	verifyOnly bool, parts map[string][]int32) map[string]map[int32]int16 {
	codes := map[string]map[int32]int16{}
	all := func(code int16) map[string]map[int32]int16 {
		for t, ps := range parts {
			codes[t] = map[int32]int16{}
			for _, p := range ps {
				codes[t][p] = code
			}
		}
		return codes
	}
	if h.Txns == nil {
		return all(kerr.CoordinatorNotAvailable.Code)
	}
	if id == "" {
		return all(kerr.InvalidRequest.Code)
	}
	// Partitions that do not exist fail the whole request, as in Kafka.
	unknown := false
	if h.Controller != nil {
		img := h.Controller.Image()
		all(kerr.OperationNotAttempted.Code)
		for t, ps := range parts {
			topic := img.Topics[t]
			for _, p := range ps {
				if topic == nil || p < 0 || int(p) >= len(topic.Partitions) {
					codes[t][p] = kerr.UnknownTopicOrPartition.Code
					unknown = true
				}
			}
		}
	}
	if unknown {
		return codes
	}
	if verifyOnly {
		res, err := h.Txns.VerifyPartitions(id, producerID, producerEpoch, parts)
		if err != nil {
			return all(fencedCode(err, version, 2))
		}
		all(0)
		for t, ps := range res {
			for p, err := range ps {
				codes[t][p] = errorCode(err)
			}
		}
		return codes
	}
	return all(fencedCode(h.Txns.AddPartitions(ctx, id, producerID, producerEpoch, parts), version, 2))
}
