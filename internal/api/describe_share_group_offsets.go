package api

// DescribeShareGroupOffsets, versions 0-1 (KIP-932: share groups).
//
//	v0: per group, the share-partition start offset (SPSO) of each topic-partition
//	v1: Lag per partition (KIP-1226): the high watermark minus the start offset minus the
//	    records between them already acknowledged or archived; -1 when unknown
//
// Always flexible. Topics null asks for every share-partition the group has state for; a
// partition named but without state answers start offset -1. A group that does not exist,
// or is not a share group, is GROUP_ID_NOT_FOUND. Needs DESCRIBE on the group, and on a
// topic to see its partitions (TOPIC_AUTHORIZATION_FAILED per partition otherwise).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/share"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerDescribeShareGroupOffsets(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.DescribeShareGroupOffsets, MinVersion: 0, MaxVersion: 1, Handle: h.describeShareGroupOffsets})
}

func (h *Handlers) describeShareGroupOffsets(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.DescribeShareGroupOffsetsRequest)
	resp := kmsg.NewPtrDescribeShareGroupOffsetsResponse()
	for _, rg := range req.Groups {
		resp.Groups = append(resp.Groups, h.describeShareGroupOffsetsGroup(ctx, r, rg))
	}
	return wire.Reply{Msg: resp}, nil
}

func (h *Handlers) describeShareGroupOffsetsGroup(ctx context.Context, r *wire.Request, rg kmsg.DescribeShareGroupOffsetsRequestGroup) kmsg.DescribeShareGroupOffsetsResponseGroup {
	g := kmsg.NewDescribeShareGroupOffsetsResponseGroup()
	g.GroupID = rg.GroupID
	fail := func(err error) kmsg.DescribeShareGroupOffsetsResponseGroup {
		g.ErrorCode, g.ErrorMessage = errorCode(err), errorMessage(err)
		return g
	}
	if !h.allowedGroup(ctx, r, auth.OpDescribe, rg.GroupID) {
		return fail(kerr.GroupAuthorizationFailed)
	}
	if err := h.Groups.ShareGroupOffsetsCheck(rg.GroupID, false); err != nil {
		return fail(err)
	}
	offsets, err := h.Shares.GroupOffsets(rg.GroupID)
	if err != nil {
		return fail(err)
	}
	img := h.Controller.Image()
	partition := func(p int32, code int16) kmsg.DescribeShareGroupOffsetsResponseGroupTopicPartition {
		rp := kmsg.NewDescribeShareGroupOffsetsResponseGroupTopicPartition()
		rp.Partition, rp.StartOffset, rp.LeaderEpoch, rp.ErrorCode = p, -1, -1, code
		return rp
	}
	fill := func(rp *kmsg.DescribeShareGroupOffsetsResponseGroupTopicPartition, t *metadata.Topic, o share.PartitionOffset) {
		rp.StartOffset, rp.Lag = o.StartOffset, o.Lag
		if int(o.Partition) < len(t.Partitions) {
			rp.LeaderEpoch = t.Partitions[o.Partition].LeaderEpoch
		}
	}
	if rg.Topics == nil {
		// Every share-partition with state, grouped by topic (offsets are sorted by topic).
		for _, o := range offsets {
			t := img.Topics[o.Topic]
			if t == nil || !h.allowedTopic(ctx, r, auth.OpDescribe, o.Topic) {
				continue
			}
			if n := len(g.Topics); n == 0 || g.Topics[n-1].Topic != o.Topic {
				rt := kmsg.NewDescribeShareGroupOffsetsResponseGroupTopic()
				rt.Topic, rt.TopicID = o.Topic, [16]byte(t.ID)
				g.Topics = append(g.Topics, rt)
			}
			rt := &g.Topics[len(g.Topics)-1]
			rp := partition(o.Partition, 0)
			fill(&rp, t, o)
			rt.Partitions = append(rt.Partitions, rp)
		}
		return g
	}
	for _, qt := range rg.Topics {
		rt := kmsg.NewDescribeShareGroupOffsetsResponseGroupTopic()
		rt.Topic = qt.Topic
		t := img.Topics[qt.Topic]
		allowed := h.allowedTopic(ctx, r, auth.OpDescribe, qt.Topic)
		if t != nil && allowed {
			rt.TopicID = [16]byte(t.ID)
		}
		for _, p := range qt.Partitions {
			var rp kmsg.DescribeShareGroupOffsetsResponseGroupTopicPartition
			switch {
			case !allowed:
				rp = partition(p, kerr.TopicAuthorizationFailed.Code)
			case t == nil || p < 0 || int(p) >= len(t.Partitions):
				rp = partition(p, kerr.UnknownTopicOrPartition.Code)
			default:
				rp = partition(p, 0)
				for _, o := range offsets {
					if o.Topic == qt.Topic && o.Partition == p {
						fill(&rp, t, o)
					}
				}
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		g.Topics = append(g.Topics, rt)
	}
	return g
}
