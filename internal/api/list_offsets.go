package api

// ListOffsets, versions 1-8.
//
//	v1: one offset per partition (v0's offset lists are not served)
//	v2: isolation level
//	v3: no change
//	v4: current leader epoch in the request; leader epoch in the response
//	v5: no change
//	v6: flexible
//	v7: timestamp -3: the offset of the record with the largest timestamp (KIP-734)
//	v8: timestamp -4: the earliest local offset (KIP-405), the log start offset here
//
// Timestamps: -2 earliest, -1 latest (the high watermark, or the last stable offset for
// read_committed), >= 0 the first batch whose timestamp is at or after it (offset -1 when
// there is none).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/replica"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerListOffsets(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.ListOffsets, MinVersion: 1, MaxVersion: 8, Handle: h.listOffsets})
}

func (h *Handlers) listOffsets(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.ListOffsetsRequest)
	resp := kmsg.NewPtrListOffsetsResponse()
	for _, rt := range req.Topics {
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		describable := h.allowedTopic(ctx, r, auth.OpDescribe, rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.Timestamp, sp.Offset, sp.LeaderEpoch = -1, -1, -1
			var p *replica.Partition
			err := error(kerr.TopicAuthorizationFailed)
			if describable {
				p, err = h.Replicas.Partition(rt.Topic, rp.Partition)
			}
			if err == nil {
				err = checkLeaderEpoch(p, rp.CurrentLeaderEpoch)
			}
			if err != nil {
				sp.ErrorCode = errorCode(err)
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			sp.LeaderEpoch = p.LeaderEpoch()
			switch ts := rp.Timestamp; {
			case ts == -2 || (ts == -4 && req.Version >= 8):
				sp.Offset = p.LogStartOffset()
			case ts == -1 && req.IsolationLevel == 1:
				sp.Offset = p.LastStableOffset()
			case ts == -1:
				sp.Offset = p.HighWatermark()
			case ts == -3 && req.Version >= 7:
				sp.Offset, sp.Timestamp = p.MaxTimestamp()
			case ts >= 0:
				if off, t, ok := p.OffsetForTimestamp(ts); ok && (req.IsolationLevel != 1 || off < p.LastStableOffset()) {
					sp.Offset, sp.Timestamp = off, t
				}
			default:
				sp.ErrorCode = kerr.UnsupportedVersion.Code
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return wire.Reply{Msg: resp}, nil
}
