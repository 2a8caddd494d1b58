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
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerShareFetch(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.ShareFetch, MinVersion: 0, MaxVersion: 2, Handle: h.shareFetch})
}

func (h *Handlers) shareFetch(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.ShareFetchRequest)
	// Authorization, as Kafka: READ on the share group, or the whole request fails; then
	// READ on each topic, a denied topic's partitions answered TOPIC_AUTHORIZATION_FAILED
	// and left out of the share session (their acknowledgements are not applied).
	if req.GroupID != nil && !h.allowedGroup(ctx, r, auth.OpRead, *req.GroupID) {
		resp := kmsg.NewPtrShareFetchResponse()
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return wire.Reply{Msg: resp}, nil
	}
	var denied []kmsg.ShareFetchResponseTopic
	allowed := req.Topics[:0:0]
	for _, rt := range req.Topics {
		if h.shareTopicAllowed(ctx, r, rt.TopicID) {
			allowed = append(allowed, rt)
			continue
		}
		dt := kmsg.NewShareFetchResponseTopic()
		dt.TopicID = rt.TopicID
		for _, rp := range rt.Partitions {
			dp := kmsg.NewShareFetchResponseTopicPartition()
			dp.Partition, dp.ErrorCode = rp.Partition, kerr.TopicAuthorizationFailed.Code
			dp.AcknowledgeErrorCode = kerr.TopicAuthorizationFailed.Code
			dt.Partitions = append(dt.Partitions, dp)
		}
		denied = append(denied, dt)
	}
	shareReq := *req
	shareReq.Topics = allowed
	resp := h.Shares.ShareFetch(ctx, &shareReq)
	if resp.ErrorCode == 0 {
		resp.Topics = append(resp.Topics, denied...)
	}
	return wire.Reply{Msg: resp}, nil
}

// shareTopicAllowed reports whether the sender of r may READ the topic of id; an unknown id
// is left to the share-partition manager (UNKNOWN_TOPIC_ID).
func (h *Handlers) shareTopicAllowed(ctx context.Context, r *wire.Request, id [16]byte) bool {
	if h.Authorizer == nil {
		return true
	}
	t := h.Controller.Image().TopicsByID[metadata.UUID(id)]
	return t == nil || h.allowedTopic(ctx, r, auth.OpRead, t.Name)
}
