package api

// CreateTopics, versions 0-7.
//
//	v1: validate_only, error messages
//	v2: throttle time
//	v3: no change
//	v4: -1 partitions / replication factor take the broker defaults (KIP-464)
//	v5: flexible; the response carries partitions, replication factor and configs
//	v6: no change
//	v7: topic id in the response

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerCreateTopics(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.CreateTopics, MinVersion: 0, MaxVersion: 7, Handle: h.createTopics})
}

func (h *Handlers) createTopics(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.CreateTopicsRequest)
	specs := make([]controller.TopicSpec, 0, len(req.Topics))
	resp := kmsg.NewPtrCreateTopicsResponse()
	// Authorization, as Kafka: CREATE on the cluster, or on each topic.
	clusterCreate := h.allowedCluster(ctx, r, auth.OpCreate)
	for _, rt := range req.Topics {
		if !clusterCreate && !h.allowedTopic(ctx, r, auth.OpCreate, rt.Topic) {
			t := kmsg.NewCreateTopicsResponseTopic()
			t.Topic, t.ErrorCode = rt.Topic, kerr.TopicAuthorizationFailed.Code
			t.NumPartitions, t.ReplicationFactor = -1, -1
			resp.Topics = append(resp.Topics, t)
			continue
		}
		spec := controller.TopicSpec{
			Name:              rt.Topic,
			NumPartitions:     rt.NumPartitions,
			ReplicationFactor: rt.ReplicationFactor,
			Configs:           map[string]*string{},
		}
		if len(rt.ReplicaAssignment) > 0 {
			spec.Assignments = map[int32][]int32{}
			for _, a := range rt.ReplicaAssignment {
				spec.Assignments[a.Partition] = a.Replicas
			}
		}
		for _, c := range rt.Configs {
			spec.Configs[c.Name] = c.Value
		}
		specs = append(specs, spec)
	}
	results := h.Controller.CreateTopics(ctx, specs, req.ValidateOnly)
	if !req.ValidateOnly {
		h.syncReplicas()
	}
	for _, res := range results {
		rt := kmsg.NewCreateTopicsResponseTopic()
		rt.Topic = res.Name
		rt.ErrorCode = errorCode(res.Err)
		if res.Err != nil {
			msg := res.Message
			if msg == "" {
				msg = res.Err.Error()
			}
			rt.ErrorMessage = &msg
		} else {
			rt.TopicID = res.ID
			rt.NumPartitions = res.NumPartitions
			rt.ReplicationFactor = res.ReplicationFactor
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return wire.Reply{Msg: resp}, nil
}
