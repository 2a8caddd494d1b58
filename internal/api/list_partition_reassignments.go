package api

// ListPartitionReassignments, version 0 (flexible).
//
// A null topic list lists every reassignment in progress; otherwise only those of the named
// partitions that are being reassigned (unknown ones are left out, as in Kafka). Each shows
// the partition's replicas (target first, then those being removed) and the adding and
// removing replicas, from this node's metadata image.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerListPartitionReassignments(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.ListPartitionReassignments, MinVersion: 0, MaxVersion: 0, Handle: h.listPartitionReassignments})
}

func (h *Handlers) listPartitionReassignments(_ context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.ListPartitionReassignmentsRequest)
	resp := kmsg.NewPtrListPartitionReassignmentsResponse()
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
	for _, ra := range h.Controller.ListPartitionReassignments(parts) {
		i, ok := idx[ra.Topic]
		if !ok {
			i = len(resp.Topics)
			idx[ra.Topic] = i
			rt := kmsg.NewListPartitionReassignmentsResponseTopic()
			rt.Topic = ra.Topic
			resp.Topics = append(resp.Topics, rt)
		}
		rp := kmsg.NewListPartitionReassignmentsResponseTopicPartition()
		rp.Partition, rp.Replicas = ra.Partition, ra.Replicas
		rp.AddingReplicas, rp.RemovingReplicas = nonNil(ra.Adding), nonNil(ra.Removing)
		resp.Topics[i].Partitions = append(resp.Topics[i].Partitions, rp)
	}
	return wire.Reply{Msg: resp}, nil
}

// nonNil is ids, or an empty list for nil (the arrays are not nullable on the wire).
func nonNil(ids []int32) []int32 {
	if ids == nil {
		return []int32{}
	}
	return ids
}
