package api

// AlterPartitionReassignments, versions 0-1.
//
//	v0: flexible from the start; per partition a target replica list, null to cancel
//	v1: allow_replication_factor_change (KIP-860): when false, a target whose size differs
//	    from the partition's current replica count is INVALID_REPLICA_ASSIGNMENT
//
// The reassignment itself is the controller's (internal/controller/reassign.go, forwarded
// when this node is not the active controller); a topic-level or request-level failure is
// per partition, as in Kafka.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerAlterPartitionReassignments(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.AlterPartitionAssignments, MinVersion: 0, MaxVersion: 1, Handle: h.alterPartitionReassignments})
}

func (h *Handlers) alterPartitionReassignments(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.AlterPartitionAssignmentsRequest)
	resp := kmsg.NewPtrAlterPartitionAssignmentsResponse()
	resp.AllowReplicationFactorChange = req.AllowReplicationFactorChange
	img := h.Controller.Image()
	var reqs []controller.ReassignRequest
	var refused []controller.ReassignResult
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			tp := controller.TopicPartition{Topic: t.Topic, Partition: p.Partition}
			if req.Version >= 1 && !req.AllowReplicationFactorChange && p.Replicas != nil {
				if _, cur, ok := img.Partition(t.Topic, p.Partition); ok && len(cur.OriginalReplicas()) != len(p.Replicas) {
					refused = append(refused, controller.ReassignResult{TopicPartition: tp, Err: kerr.InvalidReplicaAssignment,
						Message: fmt.Sprintf("The replication factor is changed from %d to %d but allowReplicationFactorChange is false", len(cur.OriginalReplicas()), len(p.Replicas))})
					continue
				}
			}
			reqs = append(reqs, controller.ReassignRequest{TopicPartition: tp, Replicas: p.Replicas})
		}
	}
	results := refused
	if len(reqs) > 0 {
		results = append(h.Controller.AlterPartitionReassignments(ctx, reqs), refused...)
	}
	controller.FillReassignResponse(resp, results)
	h.syncReplicas()
	return wire.Reply{Msg: resp}, nil
}
