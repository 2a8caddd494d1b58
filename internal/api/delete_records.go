package api

// DeleteRecords, versions 0-2.
//
//	v1: no change
//	v2: flexible
//
// Each partition's log start offset moves up to the requested offset (-1: the high
// watermark); the response carries the new low watermark (log start offset). An offset above
// the high watermark is OFFSET_OUT_OF_RANGE; an offset below the log start offset changes
// nothing and answers the current one. The change is durable when answered: the broker is
// the partition's only replica, so there are no followers to wait for and timeout_ms is not
// used.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/replica"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerDeleteRecords(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.DeleteRecords, MinVersion: 0, MaxVersion: 2, Handle: h.deleteRecords})
}

func (h *Handlers) deleteRecords(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.DeleteRecordsRequest)
	resp := kmsg.NewPtrDeleteRecordsResponse()
	for _, rt := range req.Topics {
		st := kmsg.NewDeleteRecordsResponseTopic()
		st.Topic = rt.Topic
		deletable := h.allowedTopic(ctx, r, auth.OpDelete, rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewDeleteRecordsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.LowWatermark = -1
			var p *replica.Partition
			err := error(kerr.TopicAuthorizationFailed)
			if deletable {
				p, err = h.Replicas.Partition(rt.Topic, rp.Partition)
			}
			if err == nil && isInternalTopic(rt.Topic) {
				// The coordinators' state lives there; Kafka refuses this too.
				err = kerr.InvalidTopicException
			}
			if err == nil {
				sp.LowWatermark, err = p.DeleteRecords(rp.Offset)
			}
			sp.ErrorCode = errorCode(err)
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return wire.Reply{Msg: resp}, nil
}
