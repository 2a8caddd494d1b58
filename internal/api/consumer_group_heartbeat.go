package api

// ConsumerGroupHeartbeat, versions 0-1 (KIP-848: the consumer group protocol).
//
//	v0: join (member epoch 0), heartbeat, subscription change and leave (epoch -1, or -2
//	    for a static member leaving for now); the coordinator generates the member id
//	v1: the client generates its member id, so it is required on every request; regex
//	    subscriptions are resolved by the broker
//
// Always flexible. Sending this API in ApiVersions is what makes clients configured for
// group.protocol=consumer use it.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerConsumerGroupHeartbeat(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.ConsumerGroupHeartbeat, MinVersion: 0, MaxVersion: 1, Handle: h.consumerGroupHeartbeat})
}

func (h *Handlers) consumerGroupHeartbeat(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.ConsumerGroupHeartbeatRequest)
	if h.Groups == nil {
		resp := kmsg.NewPtrConsumerGroupHeartbeatResponse()
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return wire.Reply{Msg: resp}, nil
	}
	// Authorization, as Kafka: READ on the group, DESCRIBE on the subscribed topics.
	deny := int16(0)
	if !h.allowedGroup(ctx, r, auth.OpRead, req.Group) {
		deny = kerr.GroupAuthorizationFailed.Code
	} else {
		for _, topic := range req.SubscribedTopicNames {
			if !h.allowedTopic(ctx, r, auth.OpDescribe, topic) {
				deny = kerr.TopicAuthorizationFailed.Code
				break
			}
		}
	}
	if deny != 0 {
		resp := kmsg.NewPtrConsumerGroupHeartbeatResponse()
		resp.ErrorCode = deny
		return wire.Reply{Msg: resp}, nil
	}
	clientID := ""
	if r.Header.ClientID != nil {
		clientID = *r.Header.ClientID
	}
	resp := h.Groups.ConsumerGroupHeartbeat(req, clientID, clientHost(r))
	resp.ThrottleMillis = 0 // the request quota (request_quota.go) sets it after the handler
	return wire.Reply{Msg: resp}, nil
}
