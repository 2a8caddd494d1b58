package api

// AlterShareGroupOffsets, version 0 (KIP-932: share groups): sets the share-partition start
// offset (SPSO) of topic-partitions of a share group, dropping whatever was in flight, so
// that consumption starts again at the new offset.
//
// Always flexible. The group must exist and be empty (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP
// otherwise, as Kafka answers). Needs READ on the group and on each topic.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerAlterShareGroupOffsets(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.AlterShareGroupOffsets, MinVersion: 0, MaxVersion: 0, Handle: h.alterShareGroupOffsets})
}

func (h *Handlers) alterShareGroupOffsets(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.AlterShareGroupOffsetsRequest)
	resp := kmsg.NewPtrAlterShareGroupOffsetsResponse()
	fail := func(err error) (wire.Reply, error) {
		resp.ErrorCode, resp.ErrorMessage = errorCode(err), errorMessage(err)
		return wire.Reply{Msg: resp}, nil
	}
	if !h.allowedGroup(ctx, r, auth.OpRead, req.GroupID) {
		return fail(kerr.GroupAuthorizationFailed)
	}
	if err := h.Groups.ShareGroupOffsetsCheck(req.GroupID, true); err != nil {
		return fail(err)
	}
	img := h.Controller.Image()
	for _, qt := range req.Topics {
		rt := kmsg.NewAlterShareGroupOffsetsResponseTopic()
		rt.Topic = qt.Topic
		t := img.Topics[qt.Topic]
		allowed := h.allowedTopic(ctx, r, auth.OpRead, qt.Topic)
		if t != nil && allowed {
			rt.TopicID = [16]byte(t.ID)
		}
		for _, qp := range qt.Partitions {
			rp := kmsg.NewAlterShareGroupOffsetsResponseTopicPartition()
			rp.Partition = qp.Partition
			var err error
			switch {
			case !allowed:
				err = kerr.TopicAuthorizationFailed
			case t == nil:
				err = kerr.UnknownTopicOrPartition
			default:
				err = h.Shares.AlterOffset(req.GroupID, [16]byte(t.ID), qp.Partition, qp.StartOffset)
			}
			rp.ErrorCode, rp.ErrorMessage = errorCode(err), errorMessage(err)
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return wire.Reply{Msg: resp}, nil
}
