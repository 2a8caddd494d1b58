package api

// WriteTxnMarkers, versions 0-1.
//
//	v1: flexible
//
// A transaction coordinator asks the leaders of a transaction's partitions to end it there:
// for each marker and partition a control batch (COMMIT or ABORT) is appended
// (replica.Partition.WriteTxnMarker), which moves the last stable offset and, for an abort,
// adds the transaction to the aborted transaction index. Errors are per partition: a
// producer epoch older than the partition knows is INVALID_PRODUCER_EPOCH, an older
// coordinator epoch TRANSACTION_COORDINATOR_FENCED. As in Kafka, the markers are written with
// acks=all: the answer waits until the ISR has them (the coordinator then records the
// transaction complete, so a marker must not be lost with a failed leader). Only brokers send
// this request; its authorization (CLUSTER_ACTION) comes with the ACL authorizer.

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/replica"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerWriteTxnMarkers(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.WriteTxnMarkers, MinVersion: 0, MaxVersion: 1, Handle: h.writeTxnMarkers})
}

// markersReplicatedTimeout bounds the wait for the ISR; a marker not replicated by then is
// REQUEST_TIMED_OUT, which the coordinator retries.
const markersReplicatedTimeout = 10 * time.Second

func (h *Handlers) writeTxnMarkers(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.WriteTxnMarkersRequest)
	resp := kmsg.NewPtrWriteTxnMarkersResponse()
	type waiting struct {
		marker, topic, partition int
		w                        *replica.PendingWrite
	}
	var pending []waiting
	for _, rm := range req.Markers {
		sm := kmsg.NewWriteTxnMarkersResponseMarker()
		sm.ProducerID = rm.ProducerID
		marker := replica.TxnMarker{
			ProducerID:       rm.ProducerID,
			ProducerEpoch:    rm.ProducerEpoch,
			Commit:           rm.Committed,
			CoordinatorEpoch: rm.CoordinatorEpoch,
		}
		for _, rt := range rm.Topics {
			st := kmsg.NewWriteTxnMarkersResponseMarkerTopic()
			st.Topic = rt.Topic
			for _, part := range rt.Partitions {
				sp := kmsg.NewWriteTxnMarkersResponseMarkerTopicPartition()
				sp.Partition = part
				p, err := h.Replicas.Partition(rt.Topic, part)
				if err == nil {
					epoch := p.LeaderEpoch()
					var offset int64
					if offset, err = p.WriteTxnMarker(marker); err == nil {
						pending = append(pending, waiting{len(resp.Markers), len(sm.Topics), len(st.Partitions),
							&replica.PendingWrite{P: p, NextOffset: offset + 1, Epoch: epoch}})
					}
				}
				sp.ErrorCode = errorCode(err)
				st.Partitions = append(st.Partitions, sp)
			}
			sm.Topics = append(sm.Topics, st)
		}
		resp.Markers = append(resp.Markers, sm)
	}
	writes := make([]*replica.PendingWrite, len(pending))
	for i, pw := range pending {
		writes[i] = pw.w
	}
	replica.WaitReplicated(ctx, writes, markersReplicatedTimeout)
	for _, pw := range pending {
		resp.Markers[pw.marker].Topics[pw.topic].Partitions[pw.partition].ErrorCode = errorCode(pw.w.Err)
	}
	return wire.Reply{Msg: resp}, nil
}
