package api

// Produce, versions 3-11 (RecordBatch v2 only; older message formats are not served).
//
//	v3: transactional id; record batches (magic 2)
//	v4: no change
//	v5: log start offset in the response
//	v6-v7: no change
//	v8: per-record errors and an error message in the response
//	v9: flexible
//	v10: current leader and node endpoints tags (KIP-951); not sent yet
//	v11: no change
//
// acks=0 gets no response; acks=1 is answered once the leader has the batch; acks=-1 (all)
// once every in-sync replica has it, which on a single node is at once.

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/records"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerProduce(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.Produce, MinVersion: 3, MaxVersion: 11, Handle: h.produce})
}

func (h *Handlers) produce(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.ProduceRequest)
	resp := kmsg.NewPtrProduceResponse()
	badAcks := req.Acks != 0 && req.Acks != 1 && req.Acks != -1
	for _, rt := range req.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.BaseOffset, sp.LogAppendTime, sp.LogStartOffset = -1, -1, -1
			var err error
			if badAcks {
				err = kerr.InvalidRequiredAcks
			} else {
				err = h.appendPartition(req.Version, rt.Topic, rp.Partition, rp.Records, &sp)
			}
			if err != nil {
				sp.ErrorCode = errorCode(err)
				if req.Version >= 8 {
					sp.ErrorMessage = errorMessage(err)
				}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	if req.Acks == 0 {
		return wire.NoReply, nil
	}
	return wire.Reply{Msg: resp}, nil
}

// appendPartition validates one partition's batch and appends it, filling in the response.
func (h *Handlers) appendPartition(version int16, topic string, partition int32, batch []byte, sp *kmsg.ProduceResponseTopicPartition) error {
	p, err := h.Replicas.Partition(topic, partition)
	if err != nil {
		return err
	}
	hdr, err := records.ValidateProduce(batch, int(p.Config().MaxMessageBytes))
	if err == nil {
		err = records.ValidateProduceVersion(version, hdr)
	}
	if err == nil && p.Config().CompactEnabled() {
		err = requireKeys(batch[:hdr.Size()], topic, partition)
	}
	if err != nil {
		return err
	}
	// Bytes after the batch that do not make a whole second batch are ignored, as by Kafka.
	res, err := p.Append(batch[:hdr.Size()], hdr)
	if err != nil {
		return err
	}
	sp.BaseOffset = res.BaseOffset
	sp.LogAppendTime = res.LogAppendTime
	sp.LogStartOffset = res.LogStartOffset
	return nil
}

// requireKeys refuses a record without a key on a compacted topic, as Kafka's LogValidator
// does: the log cleaner could not keep it. Compressed batches pass unchecked until the records
// package can decompress them; the cleaner drops their keyless records later.
func requireKeys(batch []byte, topic string, partition int32) error {
	keyless := false
	err := records.ForEachRecord(batch, func(r records.Record) bool {
		keyless = r.Key == nil
		return !keyless
	})
	if errors.Is(err, records.ErrCompressed) {
		return nil
	}
	if err != nil {
		return err
	}
	if keyless {
		return fmt.Errorf("Compacted topic cannot accept message without key in topic partition %s-%d: %w",
			topic, partition, kerr.InvalidRecord)
	}
	return nil
}
