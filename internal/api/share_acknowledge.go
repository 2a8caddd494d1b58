package api

// ShareAcknowledge, versions 0-2 (KIP-932: share groups).
//
//	v0: the early-access version (Kafka 4.0)
//	v1: the version of KIP-932 as released (Kafka 4.1): same fields
//	v2: IsRenewAck (KIP-1222), AcquisitionLockTimeoutMs in the response
//
// Always flexible. ShareSessionEpoch -1 acknowledges and closes the share session, releasing
// what the member still holds.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerShareAcknowledge(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.ShareAcknowledge, MinVersion: 0, MaxVersion: 2, Handle: h.shareAcknowledge})
}

func (h *Handlers) shareAcknowledge(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.ShareAcknowledgeRequest)
	// Authorization, as Kafka: READ on the share group, or the whole request fails; then
	// READ on each topic, a denied topic's partitions answered TOPIC_AUTHORIZATION_FAILED
	// and their acknowledgements not applied.
	if req.GroupID != nil && !h.allowedGroup(ctx, r, auth.OpRead, *req.GroupID) {
		resp := kmsg.NewPtrShareAcknowledgeResponse()
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return wire.Reply{Msg: resp}, nil
	}
	var denied []kmsg.ShareAcknowledgeResponseTopic
	allowed := req.Topics[:0:0]
	for _, rt := range req.Topics {
		if h.shareTopicAllowed(ctx, r, rt.TopicID) {
			allowed = append(allowed, rt)
			continue
		}
		dt := kmsg.NewShareAcknowledgeResponseTopic()
		dt.TopicID = rt.TopicID
		for _, rp := range rt.Partitions {
			dp := kmsg.NewShareAcknowledgeResponseTopicPartition()
			dp.Partition, dp.ErrorCode = rp.Partition, kerr.TopicAuthorizationFailed.Code
			dt.Partitions = append(dt.Partitions, dp)
		}
		denied = append(denied, dt)
	}
	ackReq := *req
	ackReq.Topics = allowed
	resp := h.Shares.ShareAcknowledge(&ackReq)
	if resp.ErrorCode == 0 {
		resp.Topics = append(resp.Topics, denied...)
	}
	return wire.Reply{Msg: resp}, nil
}
