package api

// DescribeProducers, version 0 (flexible).
//
// Per partition, the producers the partition holds idempotence or transaction state for
// (KIP-664): id, epoch, last sequence (-1 when none), last timestamp, the coordinator epoch
// of its last marker (-1 when none) and the first offset of its open transaction (-1 when
// none). Tools use it to find the transaction that holds a partition's last stable offset
// back.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerDescribeProducers(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.DescribeProducers, MinVersion: 0, MaxVersion: 0, Handle: h.describeProducers})
}

func (h *Handlers) describeProducers(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.DescribeProducersRequest)
	resp := kmsg.NewPtrDescribeProducersResponse()
	for _, rt := range req.Topics {
		st := kmsg.NewDescribeProducersResponseTopic()
		st.Topic = rt.Topic
		for _, part := range rt.Partitions {
			sp := kmsg.NewDescribeProducersResponseTopicPartition()
			sp.Partition = part
			p, err := h.Replicas.Partition(rt.Topic, part)
			if !h.allowedTopic(ctx, r, auth.OpRead, rt.Topic) {
				err = kerr.TopicAuthorizationFailed // READ on the topic, as Kafka
			}
			if err != nil {
				sp.ErrorCode = errorCode(err)
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			for _, pi := range p.ActiveProducers() {
				ap := kmsg.NewDescribeProducersResponseTopicPartitionActiveProducer()
				ap.ProducerID = pi.ProducerID
				ap.ProducerEpoch = int32(pi.ProducerEpoch)
				ap.LastSequence = pi.LastSequence
				ap.LastTimestamp = pi.LastTimestamp
				ap.CoordinatorEpoch = pi.CoordinatorEpoch
				ap.CurrentTxnStartOffset = pi.CurrentTxnStartOffset
				sp.ActiveProducers = append(sp.ActiveProducers, ap)
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return wire.Reply{Msg: resp}, nil
}
