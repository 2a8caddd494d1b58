package api

// FindCoordinator, versions 0-6.
//
//	v0: one group key
//	v1: key type (0 = group, 1 = transaction), throttle time, error message
//	v2: no change
//	v3: flexible
//	v4: batched coordinator keys, one result each (KIP-699)
//	v5-v6: no change (new error codes; share-group keys in v6 are not served)
//
// A group key is answered with the leader of its __consumer_offsets partition; the topic is
// created on first use. A transaction key is answered likewise with the leader of its
// __transaction_state partition (package txn).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerFindCoordinator(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.FindCoordinator, MinVersion: 0, MaxVersion: 6, Handle: h.findCoordinator})
}

func (h *Handlers) findCoordinator(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.FindCoordinatorRequest)
	resp := kmsg.NewPtrFindCoordinatorResponse()
	keys := req.CoordinatorKeys
	if req.Version < 4 {
		keys = []string{req.CoordinatorKey}
	}
	for _, key := range keys {
		var c kmsg.FindCoordinatorResponseCoordinator
		// Authorization, as Kafka: DESCRIBE on the group or the transactional id.
		switch {
		case req.CoordinatorType == 0 && !h.allowedGroup(ctx, r, auth.OpDescribe, key):
			c = kmsg.NewFindCoordinatorResponseCoordinator()
			c.Key, c.NodeID, c.Port, c.ErrorCode = key, -1, -1, kerr.GroupAuthorizationFailed.Code
		case req.CoordinatorType == 1 && !h.allowed(ctx, r, auth.OpDescribe, metadata.ACLResourceTransactionalID, key):
			c = kmsg.NewFindCoordinatorResponseCoordinator()
			c.Key, c.NodeID, c.Port, c.ErrorCode = key, -1, -1, kerr.TransactionalIDAuthorizationFailed.Code
		default:
			c = h.coordinatorFor(ctx, req.CoordinatorType, key)
		}
		if req.Version < 4 {
			resp.ErrorCode, resp.NodeID, resp.Host, resp.Port = c.ErrorCode, c.NodeID, c.Host, c.Port
			if req.Version >= 1 {
				resp.ErrorMessage = c.ErrorMessage
			}
			break
		}
		resp.Coordinators = append(resp.Coordinators, c)
	}
	return wire.Reply{Msg: resp}, nil
}

func (h *Handlers) coordinatorFor(ctx context.Context, keyType int8, key string) kmsg.FindCoordinatorResponseCoordinator {
	c := kmsg.NewFindCoordinatorResponseCoordinator()
	c.Key, c.NodeID, c.Port = key, -1, -1
	var err error
	switch {
	case keyType != 0 && keyType != 1:
		err = kerr.InvalidRequest
	case keyType == 1 && h.Txns == nil, keyType == 0 && h.Groups == nil:
		err = kerr.CoordinatorNotAvailable
	case key == "":
		err = kerr.InvalidRequest
	default:
		var node int32
		if keyType == 1 {
			node, err = h.Txns.FindCoordinator(ctx, key)
		} else {
			node, err = h.Groups.FindCoordinator(ctx, key)
		}
		if err == nil {
			err = kerr.CoordinatorNotAvailable
			for _, b := range h.brokers(ctx, h.Controller.Image()) {
				if b.NodeID == node {
					c.NodeID, c.Host, c.Port, err = b.NodeID, b.Host, b.Port, nil
				}
			}
		}
	}
	if err != nil {
		c.ErrorCode = errorCode(err)
		c.ErrorMessage = errorMessage(err)
	}
	return c
}
