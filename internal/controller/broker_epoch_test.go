package controller

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/metadata"
)

// reregister registers broker id again, as a restarted process does (a new incarnation,
// fenced), and returns its old and new epochs.
func reregister(t *testing.T, c *Controller, id int32) (old, cur int64) {
	t.Helper()
	old = epochOf(c, id)
	cur, err := c.RegisterBroker(context.Background(), metadata.Broker{
		ID: id, Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9192 + id}},
		IncarnationID: metadata.RandomUUID(), Fenced: true,
	})
	if err != nil {
		t.Fatalf("registering %d again: %v", id, err)
	}
	if cur <= old || cur != epochOf(c, id) {
		t.Fatalf("epoch of broker %d: was %d, registration returned %d, image has %d", id, old, cur, epochOf(c, id))
	}
	return old, cur
}

func TestRegistrationEpochs(t *testing.T) {
	c := startController(t, testConfig(t.TempDir()))
	ctx := context.Background()
	b := metadata.Broker{ID: 2, Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "h", Port: 1}}, IncarnationID: metadata.UUID{9}}
	e1, err := c.RegisterBroker(ctx, b)
	if err != nil || e1 <= 0 || e1 > int64(c.Image().Offset) {
		t.Fatalf("first registration: epoch %d (image offset %d), %v", e1, c.Image().Offset, err)
	}
	// The same registration again (a retry) keeps its epoch.
	if again, err := c.RegisterBroker(ctx, b); err != nil || again != e1 {
		t.Fatalf("same registration again: epoch %d, want %d, %v", again, e1, err)
	}
	// A registration of broker 1, this node's own, is kept for its requests.
	registerBrokers(t, c, 1)
	if c.BrokerEpoch() != epochOf(c, 1) {
		t.Fatalf("BrokerEpoch %d, image %d", c.BrokerEpoch(), epochOf(c, 1))
	}
	old, cur := reregister(t, c, 2)
	if old != e1 || cur <= e1 {
		t.Fatalf("epochs %d -> %d", old, cur)
	}
	// The replaced process registers again, naming the epoch it had: refused, and the
	// replacement's registration stands.
	b.Fenced = true
	if _, err := c.register(ctx, b, old); errCode(err) != "DUPLICATE_BROKER_REGISTRATION" {
		t.Fatalf("registration of the replaced incarnation: %v", err)
	}
	if epochOf(c, 2) != cur {
		t.Fatalf("epoch %d after a refused registration, want %d", epochOf(c, 2), cur)
	}
	// The current incarnation doing the same is let through.
	b.IncarnationID = c.Image().Brokers[2].IncarnationID
	if e, err := c.register(ctx, b, cur); err != nil || e != epochOf(c, 2) {
		t.Fatalf("registration of the current incarnation again: %d %v", e, err)
	}
}

// A heartbeat with the epoch of a replaced registration is refused and changes nothing: it
// neither unfences the broker nor keeps its session alive.
func TestStaleHeartbeatRefused(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0)}
	cfg := testConfig(t.TempDir())
	cfg.Now = clock.Now
	cfg.SessionTimeout = time.Second
	c := startController(t, cfg)
	ctx := context.Background()
	registerBrokers(t, c, 1, 2)
	old, cur := reregister(t, c, 2)

	_, err := c.Heartbeat(ctx, BrokerHeartbeat{BrokerID: 2, BrokerEpoch: old, MetadataOffset: c.Image().Offset})
	if errCode(err) != "STALE_BROKER_EPOCH" {
		t.Fatalf("heartbeat with the old epoch: %v", err)
	}
	if !c.Image().Brokers[2].Fenced {
		t.Fatal("a stale heartbeat unfenced the broker")
	}
	res, err := c.Heartbeat(ctx, BrokerHeartbeat{BrokerID: 2, BrokerEpoch: cur, MetadataOffset: c.Image().Offset})
	if err != nil || res.IsFenced || !res.IsCaughtUp {
		t.Fatalf("heartbeat with the current epoch: %+v %v", res, err)
	}
	// Behind the registration: not caught up, so not unfenced (the registration's offset is
	// its epoch).
	reregister(t, c, 2)
	res, err = c.Heartbeat(ctx, BrokerHeartbeat{BrokerID: 2, BrokerEpoch: epochOf(c, 2), MetadataOffset: uint64(epochOf(c, 2)) - 1})
	if err != nil || res.IsCaughtUp || !res.IsFenced {
		t.Fatalf("heartbeat behind the registration: %+v %v", res, err)
	}
	res, err = c.Heartbeat(ctx, BrokerHeartbeat{BrokerID: 2, BrokerEpoch: epochOf(c, 2), MetadataOffset: c.Image().Offset})
	if err != nil || res.IsFenced {
		t.Fatalf("heartbeat caught up: %+v %v", res, err)
	}

	// Only stale heartbeats arrive: the session expires.
	stale := cur
	clock.Advance(600 * time.Millisecond)
	if _, err := c.Heartbeat(ctx, BrokerHeartbeat{BrokerID: 2, BrokerEpoch: stale, MetadataOffset: c.Image().Offset}); errCode(err) != "STALE_BROKER_EPOCH" {
		t.Fatalf("stale heartbeat: %v", err)
	}
	clock.Advance(600 * time.Millisecond)
	waitImage(t, c, "broker 2 fenced", func(img *metadata.Image) bool { return img.Brokers[2].Fenced })
}

// An AlterPartition of a leader whose registration was replaced is refused, on the Go API
// and on the wire (the top-level error, as in Kafka), even when everything else is right.
func TestStaleAlterPartitionRefused(t *testing.T) {
	c := startController(t, testConfig(t.TempDir()))
	ctx := context.Background()
	registerBrokers(t, c, 1, 2, 3)
	res := c.CreateTopics(ctx, []TopicSpec{{Name: "t", NumPartitions: -1, ReplicationFactor: -1,
		Assignments: map[int32][]int32{0: {2, 3, 1}}}}, false)
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	// Broker 2 registers again unfenced (new endpoints, same incarnation): it stays the
	// leader, with a new epoch.
	old := epochOf(c, 2)
	if _, err := c.RegisterBroker(ctx, metadata.Broker{ID: 2, Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "other", Port: 1}}}); err != nil {
		t.Fatal(err)
	}
	p := c.Image().Topics["t"].Partitions[0]
	if p.Leader != 2 || epochOf(c, 2) == old {
		t.Fatalf("after registering again: leader %d, epoch %d (was %d)", p.Leader, epochOf(c, 2), old)
	}

	req := leaderRequest(c, 2, "t", 0, p.LeaderEpoch, p.Epoch, []int32{2, 3})
	req.brokerEpoch = old
	if _, err := c.alterPartition(ctx, req); errCode(err) != "STALE_BROKER_EPOCH" {
		t.Fatalf("AlterPartition with the old epoch: %v", err)
	}
	req.brokerID, req.brokerEpoch = 7, 1
	if _, err := c.alterPartition(ctx, req); errCode(err) != "STALE_BROKER_EPOCH" {
		t.Fatalf("AlterPartition of an unregistered broker: %v", err)
	}

	wire := kmsg.NewPtrAlterPartitionRequest()
	wire.SetVersion(1)
	wire.BrokerID, wire.BrokerEpoch = 2, old
	wt := kmsg.NewAlterPartitionRequestTopic()
	wt.Topic = "t"
	wp := kmsg.NewAlterPartitionRequestTopicPartition()
	wp.Partition, wp.LeaderEpoch, wp.PartitionEpoch, wp.NewISR = 0, p.LeaderEpoch, p.Epoch, []int32{2, 3}
	wt.Partitions = append(wt.Partitions, wp)
	wire.Topics = append(wire.Topics, wt)
	resp := c.handleAlterPartition(ctx, wire).(*kmsg.AlterPartitionResponse)
	if resp.ErrorCode != kerr.StaleBrokerEpoch.Code || len(resp.Topics) != 0 {
		t.Fatalf("wire AlterPartition with the old epoch: %+v", resp)
	}
	if got := c.Image().Topics["t"].Partitions[0]; got.Epoch != p.Epoch {
		t.Fatalf("a refused AlterPartition changed the partition: %+v", got)
	}

	wire.BrokerEpoch = epochOf(c, 2)
	resp = c.handleAlterPartition(ctx, wire).(*kmsg.AlterPartitionResponse)
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || resp.Topics[0].Partitions[0].ErrorCode != 0 ||
		!slices.Equal(resp.Topics[0].Partitions[0].ISR, []int32{2, 3}) {
		t.Fatalf("wire AlterPartition with the current epoch: %+v", resp)
	}
}

// An ISR expansion that names a replica with the epoch of a replaced registration is refused
// with INELIGIBLE_REPLICA (KIP-903); with its current epoch, or none, it is accepted.
func TestISRExpansionOfOldIncarnationRefused(t *testing.T) {
	c := startController(t, testConfig(t.TempDir()))
	ctx := context.Background()
	registerBrokers(t, c, 1, 2, 3)
	res := c.CreateTopics(ctx, []TopicSpec{{Name: "t", NumPartitions: -1, ReplicationFactor: -1,
		Assignments: map[int32][]int32{0: {1, 2, 3}}}}, false)
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	p := c.Image().Topics["t"].Partitions[0]
	if _, err := c.alterPartition(ctx, leaderRequest(c, 1, "t", 0, p.LeaderEpoch, p.Epoch, []int32{1, 3})); err != nil {
		t.Fatal(err)
	}
	old2, cur2 := reregister(t, c, 2)

	// Fenced (registered, not yet caught up): not eligible, whatever the epoch.
	p = c.Image().Topics["t"].Partitions[0]
	req := leaderRequest(c, 1, "t", 0, p.LeaderEpoch, p.Epoch, []int32{1, 3, 2})
	req.isrEpochs = []int64{epochOf(c, 1), epochOf(c, 3), cur2}
	if _, err := c.alterPartition(ctx, req); errCode(err) != "INELIGIBLE_REPLICA" {
		t.Fatalf("adding a fenced replica: %v", err)
	}
	if _, err := c.Heartbeat(ctx, BrokerHeartbeat{BrokerID: 2, BrokerEpoch: cur2, MetadataOffset: c.Image().Offset}); err != nil {
		t.Fatal(err)
	}
	waitImage(t, c, "broker 2 unfenced", func(img *metadata.Image) bool { return !img.Brokers[2].Fenced })

	// The leader saw broker 2 fetch in its old epoch: that was the old process.
	p = c.Image().Topics["t"].Partitions[0]
	req = leaderRequest(c, 1, "t", 0, p.LeaderEpoch, p.Epoch, []int32{1, 3, 2})
	req.isrEpochs = []int64{epochOf(c, 1), epochOf(c, 3), old2}
	if _, err := c.alterPartition(ctx, req); errCode(err) != "INELIGIBLE_REPLICA" {
		t.Fatalf("adding a replica of the old incarnation: %v", err)
	}
	req.isrEpochs = req.isrEpochs[:2]
	if _, err := c.alterPartition(ctx, req); errCode(err) != "INVALID_REQUEST" {
		t.Fatalf("ISR and epochs of different lengths: %v", err)
	}

	// On the wire (v3: topic ids, NewIsrWithEpochs) the same refusal is per partition.
	wire := kmsg.NewPtrAlterPartitionRequest()
	wire.SetVersion(3)
	wire.BrokerID, wire.BrokerEpoch = 1, epochOf(c, 1)
	wt := kmsg.NewAlterPartitionRequestTopic()
	wt.TopicID = c.Image().Topics["t"].ID
	wp := kmsg.NewAlterPartitionRequestTopicPartition()
	wp.Partition, wp.LeaderEpoch, wp.PartitionEpoch = 0, p.LeaderEpoch, p.Epoch
	for _, m := range [][2]int64{{1, epochOf(c, 1)}, {3, -1}, {2, old2}} {
		e := kmsg.NewAlterPartitionRequestTopicPartitionNewEpochISR()
		e.BrokerID, e.BrokerEpoch = int32(m[0]), m[1]
		wp.NewEpochISR = append(wp.NewEpochISR, e)
	}
	wt.Partitions = append(wt.Partitions, wp)
	wire.Topics = append(wire.Topics, wt)
	resp := c.handleAlterPartition(ctx, wire).(*kmsg.AlterPartitionResponse)
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || resp.Topics[0].Partitions[0].ErrorCode != kerr.IneligibleReplica.Code {
		t.Fatalf("wire expansion with an old epoch: %+v", resp)
	}

	// The current epoch (or -1, unknown, for an unfenced replica) is accepted.
	wire.Topics[0].Partitions[0].NewEpochISR[2].BrokerEpoch = cur2
	resp = c.handleAlterPartition(ctx, wire).(*kmsg.AlterPartitionResponse)
	if resp.ErrorCode != 0 || resp.Topics[0].Partitions[0].ErrorCode != 0 || !slices.Equal(resp.Topics[0].Partitions[0].ISR, []int32{1, 3, 2}) {
		t.Fatalf("wire expansion with the current epoch: %+v", resp)
	}
	if got := c.Image().Topics["t"].Partitions[0]; !slices.Equal(got.ISR, []int32{1, 3, 2}) {
		t.Fatalf("ISR after expansion: %v", got.ISR)
	}
}
