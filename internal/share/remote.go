package share

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// remoteWrite sends batch to __share_group_state's leader st.leader as a Produce with
// acks=all: once it succeeds the record is committed there, as waitDurable makes a local
// write. A leader that moved answers NOT_LEADER_OR_FOLLOWER, which the client's next
// acknowledgement (or this broker's next write, to the new leader) gets past.
func (m *Manager) remoteWrite(st stateTarget, batch []byte) error {
	req := kmsg.NewPtrProduceRequest()
	req.Acks = -1
	req.TimeoutMillis = int32(stateWriteTimeout.Milliseconds())
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic, rt.TopicID = StateTopic, st.topicID
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = 0, batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), stateWriteTimeout+stateTopicTimeout)
	defer cancel()
	kr, err := m.cfg.Request(ctx, st.leader, req)
	if err != nil {
		return fmt.Errorf("writing %s on broker %d: %w", StateTopic, st.leader, err)
	}
	resp := kr.(*kmsg.ProduceResponse)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return kerr.UnknownServerError
	}
	return kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode)
}

// remoteReader reads __share_group_state from its leader st.leader with Fetch, up to the
// leader's high watermark (committed records only).
func (m *Manager) remoteReader(st stateTarget) logReader {
	fetch := func(off int64) (*kmsg.FetchResponseTopicPartition, error) {
		req := kmsg.NewPtrFetchRequest()
		req.ReplicaID, req.MaxWaitMillis, req.MinBytes, req.MaxBytes = -1, 0, 1, 1<<20
		req.SessionEpoch = -1
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic, rt.TopicID = StateTopic, st.topicID
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = 0, off, 1<<20
		rp.CurrentLeaderEpoch, rp.LastFetchedEpoch, rp.LogStartOffset = -1, -1, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		ctx, cancel := context.WithTimeout(context.Background(), stateTopicTimeout)
		defer cancel()
		kr, err := m.cfg.Request(ctx, st.leader, req)
		if err != nil {
			return nil, fmt.Errorf("reading %s on broker %d: %w", StateTopic, st.leader, err)
		}
		resp := kr.(*kmsg.FetchResponse)
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			return nil, err
		}
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			return nil, kerr.UnknownServerError
		}
		p := &resp.Topics[0].Partitions[0]
		return p, kerr.ErrorForCode(p.ErrorCode)
	}
	var hw int64 = -1
	return logReader{
		start: func() (int64, error) {
			// A fetch at offset 0 of a log whose start has moved answers OFFSET_OUT_OF_RANGE
			// with the log start offset.
			p, err := fetch(0)
			if err == nil {
				hw = p.HighWatermark
				return 0, nil
			}
			if p != nil && p.ErrorCode == kerr.OffsetOutOfRange.Code && p.LogStartOffset > 0 {
				return p.LogStartOffset, nil
			}
			return 0, err
		},
		read: func(off int64) ([]byte, error) {
			if hw >= 0 && off >= hw {
				return nil, nil
			}
			p, err := fetch(off)
			if err != nil {
				return nil, err
			}
			hw = p.HighWatermark
			return p.RecordBatches, nil
		},
	}
}
