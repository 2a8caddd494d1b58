package acceptance

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Two of a partition's three replicas down: with min.insync.replicas=2 and one live ISR
// member, acks=all is refused with NOT_ENOUGH_REPLICAS (Kafka's answer); once they are back,
// writes succeed again with nobody doing anything. Four nodes, so that the two stopped
// brokers (one of them a broker-only node) leave the controller quorum a majority: without
// one, the ISR could not shrink and writes would only time out.
func TestNotEnoughReplicasThenRecovers(t *testing.T) {
	const topic = "nr"
	c := startCluster(t, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, -1, -1
	ra := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
	ra.Partition, ra.Replicas = 0, []int32{1, 2, 4}
	rt.ReplicaAssignment = append(rt.ReplicaAssignment, ra)
	cfg := kmsg.NewCreateTopicsRequestTopicConfig()
	cfg.Name, cfg.Value = "min.insync.replicas", kmsg.StringPtr("2")
	rt.Configs = append(rt.Configs, cfg)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, c.client())
	if err == nil {
		err = kerr.ErrorForCode(resp.Topics[0].ErrorCode)
	}
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	c.waitFullISR(topic, 1)
	ok := c.client(kgo.DefaultProduceTopic(topic))
	if err := ok.ProduceSync(ctx, kgo.StringRecord("before")).FirstErr(); err != nil {
		t.Fatalf("produce with every replica up: %v", err)
	}

	c.kill(2)
	c.kill(4)
	c.waitPartition(topic, 0, "the ISR down to broker 1", func(tp *kmsg.MetadataResponseTopicPartition) bool {
		return tp.Leader == 1 && slices.Equal(tp.ISR, []int32{1})
	})
	// No retries, no idempotence: the broker's own answer reaches us.
	once := c.client(kgo.DefaultProduceTopic(topic), kgo.DisableIdempotentWrite(), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordRetries(0), kgo.MetadataMinAge(50*time.Millisecond))
	err = once.ProduceSync(ctx, kgo.StringRecord("refused")).FirstErr()
	if !errors.Is(err, kerr.NotEnoughReplicas) {
		t.Fatalf("acks=all with one in-sync replica: %v, want NOT_ENOUGH_REPLICAS", err)
	}
	// acks=1 is still taken.
	one := c.client(kgo.DefaultProduceTopic(topic), kgo.DisableIdempotentWrite(), kgo.RequiredAcks(kgo.LeaderAck()))
	if err := one.ProduceSync(ctx, kgo.StringRecord("acks=1")).FirstErr(); err != nil {
		t.Fatalf("acks=1 with one in-sync replica: %v", err)
	}

	c.restart(2)
	c.restart(4)
	// The client that was refused, retrying as any producer would, gets through.
	retrying := c.client(kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.MetadataMinAge(50*time.Millisecond), kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }))
	if err := retrying.ProduceSync(ctx, kgo.StringRecord("after")).FirstErr(); err != nil {
		t.Fatalf("acks=all after the replicas came back: %v", err)
	}
	c.waitFullISR(topic, 1)
	got := c.readAll(topic, 1)[0]
	var vals []string
	for _, r := range got {
		vals = append(vals, string(r.Value))
	}
	if !slices.Equal(vals, []string{"before", "acks=1", "after"}) {
		t.Fatalf("read back %q", vals)
	}
}

// Two of three nodes down when all three are the controller quorum: there is no quorum to
// shrink the ISR, so the surviving leader keeps waiting for the other two and acks=all fails
// with a retriable error (REQUEST_TIMED_OUT, as in Kafka) rather than being acknowledged. Once
// both are back the quorum and the ISR recover and writes succeed, with nobody doing
// anything.
func TestQuorumLossThenRecovers(t *testing.T) {
	const topic = "ql"
	c := startCluster(t, 3)
	minISR := "2"
	c.createTopic(topic, 1, 3, map[string]*string{"min.insync.replicas": &minISR})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	leader := c.waitPartition(topic, 0, "a leader", func(tp *kmsg.MetadataResponseTopicPartition) bool { return tp.Leader > 0 }).Leader
	var others []int32
	for id := int32(1); id <= 3; id++ {
		if id != leader {
			others = append(others, id)
		}
	}
	c.kill(others[0])
	c.kill(others[1])
	once := c.client(kgo.DefaultProduceTopic(topic), kgo.DisableIdempotentWrite(), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordRetries(0), kgo.ProduceRequestTimeout(time.Second))
	err := once.ProduceSync(ctx, kgo.StringRecord("unacknowledged")).FirstErr()
	// The client gives up after its one try; what it got was retriable (kgo fails a record
	// with a non-retriable error at once, and says so).
	var ke *kerr.Error
	if err == nil || !errors.Is(err, kgo.ErrRecordRetries) && !errors.Is(err, kgo.ErrRecordTimeout) && !(errors.As(err, &ke) && ke.Retriable) {
		t.Fatalf("acks=all with two of three nodes down: %v, want a retriable failure", err)
	}
	t.Logf("acks=all with the quorum lost: %v", err)

	c.restart(others[0])
	c.restart(others[1])
	retrying := c.client(kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.MetadataMinAge(50*time.Millisecond), kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }))
	if err := retrying.ProduceSync(ctx, kgo.StringRecord("after")).FirstErr(); err != nil {
		t.Fatalf("acks=all after the nodes came back: %v", err)
	}
	c.waitFullISR(topic, 1)
}
