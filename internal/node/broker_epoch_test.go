package node_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/clustertest"
	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/metadata"
)

// A broker whose registration is taken over by a newer incarnation (as when a process is
// paused and a new one starts with its node.id) learns it from its refused heartbeat and
// stops acting for the broker: no more heartbeats, its AlterPartitions refused, and the
// replacement's registration stands.
func TestReplacedBrokerStops(t *testing.T) {
	c := clustertest.StartCluster(t, 3)
	active := c.WaitActiveController()
	zombie := nonController(c)
	id := int32(zombie + 1)
	zc := c.Node(zombie).Controller()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if res := c.Node(active).Controller().CreateTopics(ctx, []controller.TopicSpec{{Name: "t", NumPartitions: 1, ReplicationFactor: 3}}, false); res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	old := zc.BrokerEpoch()
	reg := c.Node(active).Controller().Image().Brokers[id]
	if old <= 0 || reg.Epoch != old {
		t.Fatalf("broker %d: epoch %d, registration %+v", id, old, reg)
	}

	// The replacement registers (a new incarnation, fenced, as a starting process does).
	newEpoch, err := c.Node(active).Controller().RegisterBroker(ctx, metadata.Broker{
		ID: id, Endpoints: reg.Endpoints, Rack: reg.Rack, IncarnationID: metadata.RandomUUID(), Fenced: true,
	})
	if err != nil || newEpoch <= old {
		t.Fatalf("replacement registration: epoch %d, %v", newEpoch, err)
	}
	select {
	case <-c.Node(zombie).Replaced():
	case <-ctx.Done():
		t.Fatal("the replaced broker did not learn it was replaced")
	}

	// Whatever the old process still sends is refused.
	_, err = zc.Heartbeat(ctx, controller.BrokerHeartbeat{BrokerID: id, BrokerEpoch: old, MetadataOffset: zc.Image().Offset})
	if !errors.Is(err, kerr.StaleBrokerEpoch) {
		t.Fatalf("heartbeat of the old process: %v", err)
	}
	_, p, _ := zc.Image().Partition("t", 0)
	if _, err := zc.AlterPartition(ctx, "t", 0, p.LeaderEpoch, p.Epoch, p.ISR); !errors.Is(err, kerr.StaleBrokerEpoch) {
		t.Fatalf("AlterPartition of the old process: %v", err)
	}
	if got := c.Node(active).Controller().Image().Brokers[id]; got.Epoch != newEpoch || got.IncarnationID == reg.IncarnationID {
		t.Fatalf("the replacement's registration did not stand: %+v", got)
	}
}

// A broker whose registration changed under it while it is still the same incarnation (no
// other process took over) registers again, takes the epoch it is given, and is unfenced again.
func TestBrokerRegistersAgainAfterStaleEpoch(t *testing.T) {
	c := clustertest.StartCluster(t, 3)
	active := c.WaitActiveController()
	i := nonController(c)
	id := int32(i + 1)
	ac := c.Node(active).Controller()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	reg := ac.Image().Brokers[id]
	bumped, err := ac.RegisterBroker(ctx, metadata.Broker{
		ID: id, Endpoints: reg.Endpoints, Rack: reg.Rack, IncarnationID: reg.IncarnationID, Fenced: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	clustertest.WaitFor(t, 20*time.Second, "broker registered again and unfenced", func() bool {
		b := ac.Image().Brokers[id]
		return b.Epoch >= bumped && !b.Fenced && c.Node(i).Controller().BrokerEpoch() == b.Epoch
	})
	select {
	case <-c.Node(i).Replaced():
		t.Fatal("a broker of the same incarnation counted itself replaced")
	default:
	}
}
