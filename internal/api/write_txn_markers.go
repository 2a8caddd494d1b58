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
// coordinator epoch TRANSACTION_COORDINATOR_FENCED. Only brokers send this request; its
// authorization (CLUSTER_ACTION) comes with the ACL authorizer.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/replica"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerWriteTxnMarkers(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.WriteTxnMarkers, MinVersion: 0, MaxVersion: 1, Handle: h.writeTxnMarkers})
}

func (h *Handlers) writeTxnMarkers(_ context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.WriteTxnMarkersRequest)
	resp := kmsg.NewPtrWriteTxnMarkersResponse()
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
					_, err = p.WriteTxnMarker(marker)
				}
				sp.ErrorCode = errorCode(err)
				st.Partitions = append(st.Partitions, sp)
			}
			sm.Topics = append(sm.Topics, st)
		}
		resp.Markers = append(resp.Markers, sm)
	}
	return wire.Reply{Msg: resp}, nil
}
