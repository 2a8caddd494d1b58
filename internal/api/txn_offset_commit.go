package api

// TxnOffsetCommit, versions 0-4: a transactional producer's offsets for its consumer group,
// pending until the transaction ends (see package group, txn.go).
//
//	v1: no change (throttling after the response)
//	v2: leader epoch per partition
//	v3: flexible; generation, member id and group instance id (KIP-447), checked when sent
//	v4: a commit whose __consumer_offsets partition is not in the transaction (no
//	    AddOffsetsToTxn before it, or the transaction ended) is TRANSACTION_ABORTABLE where
//	    older versions get INVALID_TXN_STATE (KIP-890 part 1)
//
// As for Produce (produce_verify.go), the first commit of a transaction to its group's
// __consumer_offsets partition is verified with the transaction coordinator, in-process;
// later ones find the transaction open in the partition's producer state. Unlike Produce, the
// group coordinator's append does not carry the verification guard, so a marker that lands
// between the verification and the append is not caught.
//
// v5 (KIP-890 part 2: the offsets partition joins the transaction without AddOffsetsToTxn)
// and v6 (topic ids) are not served; franz-go then sends AddOffsetsToTxn first.

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/group"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/records"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerTxnOffsetCommit(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.TxnOffsetCommit, MinVersion: 0, MaxVersion: 4, Handle: h.txnOffsetCommit})
}

func (h *Handlers) txnOffsetCommit(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.TxnOffsetCommitRequest)
	if h.Groups == nil {
		return wire.Reply{Msg: txnOffsetCommitFailed(req.Topics, kerr.CoordinatorNotAvailable.Code)}, nil
	}
	// Authorization, as Kafka: WRITE on the transactional id and READ on the group, or the
	// whole request fails; then READ on each topic, a denied topic failing only its own
	// partitions with TOPIC_AUTHORIZATION_FAILED while the others are committed.
	code := int16(0)
	switch {
	case !h.allowed(ctx, r, auth.OpWrite, metadata.ACLResourceTransactionalID, req.TransactionalID):
		code = kerr.TransactionalIDAuthorizationFailed.Code
	case !h.allowedGroup(ctx, r, auth.OpRead, req.Group):
		code = kerr.GroupAuthorizationFailed.Code
	}
	if code != 0 {
		return wire.Reply{Msg: txnOffsetCommitFailed(req.Topics, code)}, nil
	}
	var allowedTopics, deniedTopics []kmsg.TxnOffsetCommitRequestTopic
	for _, rt := range req.Topics {
		if h.allowedTopic(ctx, r, auth.OpRead, rt.Topic) {
			allowedTopics = append(allowedTopics, rt)
		} else {
			deniedTopics = append(deniedTopics, rt)
		}
	}
	denied := txnOffsetCommitFailed(deniedTopics, kerr.TopicAuthorizationFailed.Code)
	if len(allowedTopics) == 0 {
		return wire.Reply{Msg: denied}, nil
	}
	commit := *req
	commit.Topics = allowedTopics
	var resp *kmsg.TxnOffsetCommitResponse
	if code := h.verifyTxnOffsetCommit(&commit); code != 0 {
		resp = txnOffsetCommitFailed(allowedTopics, code)
	} else {
		resp = h.Groups.TxnOffsetCommit(ctx, &commit)
	}
	resp.Topics = append(resp.Topics, denied.Topics...)
	return wire.Reply{Msg: resp}, nil
}

// txnOffsetCommitFailed is the response failing every partition of topics with code.
func txnOffsetCommitFailed(topics []kmsg.TxnOffsetCommitRequestTopic, code int16) *kmsg.TxnOffsetCommitResponse {
	resp := kmsg.NewPtrTxnOffsetCommitResponse()
	for _, rt := range topics {
		st := kmsg.NewTxnOffsetCommitResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			sp.Partition, sp.ErrorCode = rp.Partition, code
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// verifyTxnOffsetCommit checks with the transaction coordinator that the group's
// __consumer_offsets partition is in the producer's ongoing transaction, and returns the
// error code for every partition of the request, 0 when it is (or cannot be checked here:
// the group coordinator then answers for itself).
func (h *Handlers) verifyTxnOffsetCommit(req *kmsg.TxnOffsetCommitRequest) int16 {
	if h.TxnVerifier == nil || !h.Config.TransactionPartitionVerificationEnable || h.Controller == nil ||
		req.Group == "" || req.ProducerID < 0 || req.ProducerEpoch < 0 {
		return 0
	}
	t := h.Controller.Image().Topics[group.OffsetsTopic]
	if t == nil || len(t.Partitions) == 0 {
		return 0
	}
	part := group.PartitionFor(req.Group, int32(len(t.Partitions)))
	p, err := h.Replicas.Partition(group.OffsetsTopic, part)
	if err != nil {
		return 0
	}
	g := p.StartTxnVerification(req.ProducerID, req.ProducerEpoch)
	if g == nil {
		return 0 // the transaction is open in the partition already
	}
	defer p.AbandonTxnVerification(g) // the group coordinator's append does not use it
	hdr := records.Header{ProducerID: req.ProducerID, ProducerEpoch: req.ProducerEpoch}
	err = h.verifyTxnPartition(req.Version, req.TransactionalID, hdr, group.OffsetsTopic, part)
	var ke *kerr.Error
	switch {
	case err == nil, errors.Is(err, errNotVerified):
		return 0
	case errors.Is(err, kerr.InvalidTxnState):
		if req.Version >= 4 {
			return kerr.TransactionAbortable.Code
		}
		return kerr.InvalidTxnState.Code
	case errors.Is(err, kerr.NotEnoughReplicas):
		// Kafka's group coordinator answers a failed append this way: retriable.
		return kerr.CoordinatorNotAvailable.Code
	case errors.As(err, &ke):
		return ke.Code
	}
	return kerr.UnknownServerError.Code
}
