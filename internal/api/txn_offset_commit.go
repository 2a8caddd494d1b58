package api

// TxnOffsetCommit, versions 0-4: a transactional producer's offsets for its consumer group,
// pending until the transaction ends (see package group, txn.go).
//
//	v1: no change (throttling after the response)
//	v2: leader epoch per partition
//	v3: flexible; generation, member id and group instance id (KIP-447), checked when sent
//	v4: no change here (KIP-890 part 1: the transaction verification is the partition's)
//
// v5 (KIP-890 part 2: the offsets partition joins the transaction without AddOffsetsToTxn)
// and v6 (topic ids) are not served; franz-go then sends AddOffsetsToTxn first.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerTxnOffsetCommit(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.TxnOffsetCommit, MinVersion: 0, MaxVersion: 4, Handle: h.txnOffsetCommit})
}

func (h *Handlers) txnOffsetCommit(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.TxnOffsetCommitRequest)
	if h.Groups == nil {
		resp := kmsg.NewPtrTxnOffsetCommitResponse()
		for _, rt := range req.Topics {
			st := kmsg.NewTxnOffsetCommitResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
				sp.Partition, sp.ErrorCode = rp.Partition, kerr.CoordinatorNotAvailable.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return wire.Reply{Msg: resp}, nil
	}
	return wire.Reply{Msg: h.Groups.TxnOffsetCommit(ctx, req)}, nil
}
