package api

// ElectLeaders, versions 0-2.
//
//	v1: ElectionType (0 PREFERRED, 1 UNCLEAN; v0 is always PREFERRED); a top-level ErrorCode
//	v2: flexible
//
// A null topic list elects every partition, and the response then lists only the partitions
// whose leader changed. The election itself is the controller's (forwarded when this node is
// not the active controller).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerElectLeaders(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.ElectLeaders, MinVersion: 0, MaxVersion: 2, Handle: h.electLeaders})
}

func (h *Handlers) electLeaders(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.ElectLeadersRequest)
	typ := controller.ElectionType(req.ElectionType)
	if req.Version == 0 {
		typ = controller.ElectPreferred
	}
	resp := kmsg.NewPtrElectLeadersResponse()
	if typ != controller.ElectPreferred && typ != controller.ElectUnclean {
		resp.ErrorCode = kerr.InvalidRequest.Code
		return wire.Reply{Msg: resp}, nil
	}
	var parts []controller.TopicPartition
	if req.Topics != nil {
		parts = []controller.TopicPartition{}
		for _, t := range req.Topics {
			for _, p := range t.Partitions {
				parts = append(parts, controller.TopicPartition{Topic: t.Topic, Partition: p})
			}
		}
	}
	idx := map[string]int{}
	for _, res := range h.Controller.ElectLeaders(ctx, typ, parts) {
		i, ok := idx[res.Topic]
		if !ok {
			i = len(resp.Topics)
			idx[res.Topic] = i
			rt := kmsg.NewElectLeadersResponseTopic()
			rt.Topic = res.Topic
			resp.Topics = append(resp.Topics, rt)
		}
		rp := kmsg.NewElectLeadersResponseTopicPartition()
		rp.Partition = res.Partition
		rp.ErrorCode = errorCode(res.Err)
		if res.Err != nil && res.Message != "" {
			msg := res.Message
			rp.ErrorMessage = &msg
		}
		resp.Topics[i].Partitions = append(resp.Topics[i].Partitions, rp)
	}
	h.syncReplicas()
	return wire.Reply{Msg: resp}, nil
}
