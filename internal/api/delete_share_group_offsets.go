package api

// DeleteShareGroupOffsets, version 0 (KIP-932: share groups): deletes the share-partition
// state of whole topics from a share group; the group's next use of such a partition starts
// afresh where group.share.auto.offset.reset says.
//
// Always flexible. The group must exist and be empty (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP
// otherwise, as Kafka answers). Needs DELETE on the group and READ on each topic.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerDeleteShareGroupOffsets(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.DeleteShareGroupOffsets, MinVersion: 0, MaxVersion: 0, Handle: h.deleteShareGroupOffsets})
}

func (h *Handlers) deleteShareGroupOffsets(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.DeleteShareGroupOffsetsRequest)
	resp := kmsg.NewPtrDeleteShareGroupOffsetsResponse()
	fail := func(err error) (wire.Reply, error) {
		resp.ErrorCode, resp.ErrorMessage = errorCode(err), errorMessage(err)
		return wire.Reply{Msg: resp}, nil
	}
	if !h.allowedGroup(ctx, r, auth.OpDelete, req.GroupID) {
		return fail(kerr.GroupAuthorizationFailed)
	}
	if err := h.Groups.ShareGroupOffsetsCheck(req.GroupID, true); err != nil {
		return fail(err)
	}
	img := h.Controller.Image()
	for _, qt := range req.Topics {
		rt := kmsg.NewDeleteShareGroupOffsetsResponseTopic()
		rt.Topic = qt.Topic
		t := img.Topics[qt.Topic]
		var err error
		switch {
		case !h.allowedTopic(ctx, r, auth.OpRead, qt.Topic):
			err = kerr.TopicAuthorizationFailed
		case t == nil:
			err = kerr.UnknownTopicOrPartition
		default:
			rt.TopicID = [16]byte(t.ID)
			err = h.Shares.DeleteOffsets(req.GroupID, [16]byte(t.ID))
		}
		rt.ErrorCode, rt.ErrorMessage = errorCode(err), errorMessage(err)
		resp.Topics = append(resp.Topics, rt)
	}
	return wire.Reply{Msg: resp}, nil
}
