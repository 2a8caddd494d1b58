package node_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/clustertest"
	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/metadata"
)

func clusterAdmin(t *testing.T, addrs ...string) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// nonController returns the index of a running node that is not the active controller.
func nonController(c *clustertest.Cluster) int {
	active := c.ActiveController()
	for i := range c.N() {
		if i != active && c.Running(i) {
			return i
		}
	}
	return -1
}

func TestClusterAgreesAndForwardsCreateTopics(t *testing.T) {
	c := clustertest.StartCluster(t, 3,
		clustertest.NodeOverrides(0, "broker.rack", "a"),
		clustertest.NodeOverrides(1, "broker.rack", "b"),
		clustertest.NodeOverrides(2, "broker.rack", "c"))
	active := c.WaitActiveController()
	other := nonController(c)
	adm := clusterAdmin(t, c.Node(other).Addr())
	ctx := context.Background()

	// Every broker, its rack and the controller are in Metadata and DescribeCluster.
	clustertest.WaitFor(t, 10*time.Second, "3 brokers in metadata", func() bool {
		m, err := adm.BrokerMetadata(ctx)
		return err == nil && len(m.Brokers) == 3 && m.Controller == int32(active+1)
	})
	m, _ := adm.BrokerMetadata(ctx)
	for _, b := range m.Brokers {
		if b.Rack == nil || *b.Rack != string(rune('a'+b.NodeID-1)) {
			t.Errorf("broker %d rack %v", b.NodeID, b.Rack)
		}
	}

	// CreateTopics sent to a node that is not the controller is forwarded.
	res, err := adm.CreateTopic(ctx, 6, 3, nil, "rf3")
	if err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}
	c.WaitConverged()
	for i := range c.N() {
		img := c.Node(i).Controller().Image()
		tp := img.Topics["rf3"]
		if tp == nil || len(tp.Partitions) != 6 {
			t.Fatalf("node %d does not see the topic: %+v", i+1, tp)
		}
		for _, p := range tp.Partitions {
			sorted := slices.Sorted(slices.Values(p.Replicas))
			if !slices.Equal(sorted, []int32{1, 2, 3}) {
				t.Errorf("partition %d replicas %v, want 3 distinct brokers", p.ID, p.Replicas)
			}
			if p.Leader != p.Replicas[0] || len(p.ISR) != 3 {
				t.Errorf("partition %d leader %d isr %v", p.ID, p.Leader, p.ISR)
			}
		}
	}
	// Leaders spread over the brokers.
	leaders := map[int32]int{}
	for _, p := range c.Node(0).Controller().Image().Topics["rf3"].Partitions {
		leaders[p.Leader]++
	}
	if len(leaders) != 3 {
		t.Errorf("leaders %v, want all three brokers", leaders)
	}

	// RF above the broker count.
	res, err = adm.CreateTopic(ctx, 1, 4, nil, "rf4")
	if err == nil {
		err = res.Err
	}
	if !errors.Is(err, kerr.InvalidReplicationFactor) {
		t.Fatalf("rf=4 on 3 brokers: %v, want INVALID_REPLICATION_FACTOR", err)
	}

	// A forwarded config change and producer id allocation work too.
	if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kadm.StringPtr("1000")}}, "rf3"); err != nil {
		t.Fatal(err)
	}
	ctrl := c.Node(other).Controller()
	block, err := ctrl.AllocateProducerIds(ctx, int32(other+1))
	if err != nil || block.Size == 0 {
		t.Fatalf("forwarded AllocateProducerIds: %v %+v", err, block)
	}
	c.WaitConverged()
	if got := c.Node(other).Controller().Image().Topics["rf3"].Configs["retention.ms"]; got != "1000" {
		t.Fatalf("retention.ms = %q", got)
	}
	v := "2000"
	legacy := ctrl.AlterConfigs(ctx, []controller.ConfigResource{{Type: metadata.ConfigResourceTopic, Name: "rf3",
		Changes: []controller.ConfigChange{{Name: "retention.ms", Op: controller.ConfigSet, Value: &v}}}}, false)
	if legacy[0].Err != nil {
		t.Fatalf("forwarded AlterConfigs: %v", legacy[0].Err)
	}

	// CreatePartitions, ElectLeaders and DeleteTopics are forwarded too.
	if rs, err := adm.CreatePartitions(ctx, 2, "rf3"); err != nil || rs["rf3"].Err != nil {
		t.Fatalf("create partitions: %v %v", err, rs)
	}
	ers, err := adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, kadm.TopicsSet{"rf3": {0: {}}})
	if err != nil || !errors.Is(ers["rf3"][0].Err, kerr.ElectionNotNeeded) {
		t.Fatalf("elect leaders: %v %+v", err, ers)
	}
	if rs, err := adm.DeleteTopics(ctx, "rf3"); err != nil || rs["rf3"].Err != nil {
		t.Fatalf("delete: %v %+v", err, rs)
	}
	c.WaitConverged()
	if c.Node(other).Controller().Image().Topics["rf3"] != nil {
		t.Fatal("rf3 not deleted")
	}
}

func TestClusterBrokerOnlyNodeJoins(t *testing.T) {
	c := clustertest.StartCluster(t, 4, clustertest.BootstrapServers())
	img := c.Node(3).Controller().Image()
	if len(img.Brokers) != 4 || img.ClusterID == "" || img.ClusterID != c.Node(0).Controller().Image().ClusterID {
		t.Fatalf("broker-only node's image: %d brokers, cluster %q", len(img.Brokers), img.ClusterID)
	}
	// It creates topics through the controller and sees them.
	adm := clusterAdmin(t, c.Node(3).Addr())
	if _, err := adm.CreateTopic(context.Background(), 4, 4, nil, "four"); err != nil {
		t.Fatal(err)
	}
	clustertest.WaitFor(t, 10*time.Second, "the topic on the broker-only node", func() bool {
		return c.Node(3).Controller().Image().Topics["four"] != nil
	})
}

// metadataBrokers sends one Metadata request to addr and returns the broker ids it lists.
func metadataBrokers(t *testing.T, addr string) []int32 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	resp, err := kmsg.NewPtrMetadataRequest().RequestWith(context.Background(), cl.SeedBrokers()[0])
	if err != nil {
		t.Fatal(err)
	}
	var ids []int32
	for _, b := range resp.Brokers {
		ids = append(ids, b.NodeID)
	}
	slices.Sort(ids)
	return ids
}

// partitionOn returns a partition as node i sees it.
func partitionOn(c *clustertest.Cluster, i int, topic string, p int32) metadata.Partition {
	_, part, ok := c.Node(i).Controller().Image().Partition(topic, p)
	if !ok {
		return metadata.Partition{Leader: -2}
	}
	return *part
}

func TestClusterFencesStoppedBrokerAndElectsLeader(t *testing.T) {
	c := clustertest.StartCluster(t, 4)
	adm := clusterAdmin(t, c.Addrs()...)
	ctx := context.Background()
	// A partition led by broker 4 (a broker-only node, so stopping it leaves the quorum alone).
	res, err := adm.CreateTopic(ctx, 4, 3, nil, "t")
	if err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}
	c.WaitConverged()
	var victim int32 = -1
	for _, p := range c.Node(0).Controller().Image().Topics["t"].Partitions {
		if p.Leader == 4 {
			victim = p.ID
		}
	}
	if victim < 0 {
		t.Fatal("no partition led by broker 4")
	}
	before := partitionOn(c, 0, "t", victim)

	// Kill broker 4 without a controlled shutdown: it must be fenced by its session timeout.
	c.Node(3).Controller().StopHeartbeats()
	clustertest.WaitFor(t, 10*time.Second, "broker 4 fenced", func() bool {
		return c.Node(0).Controller().Image().Brokers[4].Fenced
	})
	after := partitionOn(c, 0, "t", victim)
	if after.Leader == 4 || after.Leader < 0 || !slices.Contains(before.ISR, after.Leader) {
		t.Fatalf("leader after fencing: %+v (before %+v)", after, before)
	}
	if after.LeaderEpoch != before.LeaderEpoch+1 || slices.Contains(after.ISR, 4) {
		t.Fatalf("after fencing: %+v, want leader epoch %d and 4 out of the ISR", after, before.LeaderEpoch+1)
	}
	// Metadata, from any node, no longer lists the fenced broker. (Asked directly: kadm's
	// answer would merge in the brokers its client already knows.)
	for i := range c.N() {
		clustertest.WaitFor(t, 5*time.Second, "metadata without the fenced broker", func() bool {
			return slices.Equal(metadataBrokers(t, c.Node(i).Addr()), []int32{1, 2, 3})
		})
	}

	// Restarted, it comes back unfenced as a follower, and the leader takes it back into the
	// ISR once it has caught up (AlterPartition); leadership stays where it moved.
	c.Restart(3)
	c.WaitConverged()
	clustertest.WaitFor(t, 10*time.Second, "broker 4 back in the ISR", func() bool {
		return slices.Contains(partitionOn(c, 0, "t", victim).ISR, 4)
	})
	if back := partitionOn(c, 0, "t", victim); back.Leader == 4 {
		t.Fatalf("after restart: %+v, want broker 4 a follower", back)
	}
	clustertest.WaitFor(t, 20*time.Second, "broker 4 back in the ISR", func() bool {
		return slices.Contains(partitionOn(c, 0, "t", victim).ISR, 4)
	})
}

func TestClusterControlledShutdownMovesLeadership(t *testing.T) {
	c := clustertest.StartCluster(t, 4)
	adm := clusterAdmin(t, c.Addrs()...)
	ctx := context.Background()
	if res, err := adm.CreateTopic(ctx, 8, 3, nil, "t"); err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}
	c.WaitConverged()
	led := 0
	for _, p := range c.Node(0).Controller().Image().Topics["t"].Partitions {
		if p.Leader == 4 {
			led++
		}
	}
	if led == 0 {
		t.Fatal("broker 4 leads nothing")
	}
	// Close returns after the controlled shutdown: by then nothing is led by broker 4, and it
	// is fenced, well before any session timeout.
	c.Stop(3)
	img := c.Node(0).Controller().Image()
	clustertest.WaitFor(t, 5*time.Second, "node 1 to apply the shutdown", func() bool {
		img = c.Node(0).Controller().Image()
		return img.Brokers[4].Fenced
	})
	for _, p := range img.Topics["t"].Partitions {
		if p.Leader == 4 || p.Leader < 0 || slices.Contains(p.ISR, 4) {
			t.Errorf("partition %d after controlled shutdown: %+v", p.ID, p)
		}
	}
}

func TestClusterNewActiveControllerKeepsDeciding(t *testing.T) {
	c := clustertest.StartCluster(t, 3)
	old := c.WaitActiveController()
	c.Stop(old)
	active := c.WaitActiveController()
	if active == old {
		t.Fatal("no new controller")
	}
	// The new controller decides: a create through the remaining node that is not it.
	var addrs []string
	for i := range c.N() {
		if c.Running(i) {
			addrs = append(addrs, c.Node(i).Addr())
		}
	}
	adm := clusterAdmin(t, addrs...)
	res, err := adm.CreateTopic(context.Background(), 2, 2, nil, "after")
	if err != nil || res.Err != nil {
		t.Fatalf("create after failover: %v %v", err, res.Err)
	}
	// And the stopped controller's broker, fenced by its controlled shutdown, leads nothing.
	for _, p := range c.Node(active).Controller().Image().Topics["after"].Partitions {
		if slices.Contains(p.Replicas, int32(old+1)) {
			t.Errorf("partition %d placed on the stopped broker: %v", p.ID, p.Replicas)
		}
	}
	c.Restart(old)
	c.WaitConverged()
}

func TestClusterServesReplicatedTopicsAndInternalTopicsGetTheirRF(t *testing.T) {
	c := clustertest.StartCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := clusterAdmin(t, c.Addrs()...)
	for _, spec := range []struct {
		name string
		rf   int16
	}{{"rf1", 1}, {"rf3", 3}} {
		if res, err := adm.CreateTopic(ctx, 3, spec.rf, nil, spec.name); err != nil || res.Err != nil {
			t.Fatalf("create %s: %v %v", spec.name, err, res.Err)
		}
	}
	prod, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	for _, topic := range []string{"rf1", "rf3"} {
		for i := range 30 {
			r := &kgo.Record{Topic: topic, Key: []byte{byte(i)}, Value: []byte("v")}
			if err := prod.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatalf("produce to %s: %v", topic, err)
			}
		}
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.ConsumeTopics("rf1", "rf3"),
		kgo.ConsumerGroup("g"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	got := 0
	for got < 60 {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of 60: %v", got, fs.Errors())
		}
		got += fs.NumRecords()
	}
	if err := cons.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	off := c.Node(0).Controller().Image().Topics["__consumer_offsets"]
	if off == nil || len(off.Partitions[0].Replicas) != 3 {
		t.Fatalf("__consumer_offsets: %+v, want RF 3", off)
	}
}

func TestClusterWithControllerOnlyVoters(t *testing.T) {
	c := clustertest.StartCluster(t, 5, clustertest.ControllerOnly())
	active := c.WaitActiveController()
	if active > 2 {
		t.Fatalf("active controller is node %d, a broker", active+1)
	}
	adm := clusterAdmin(t, c.Addrs()...)
	res, err := adm.CreateTopic(context.Background(), 4, 2, nil, "t")
	if err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}
	c.WaitConverged()
	img := c.Node(4).Controller().Image()
	if len(img.Brokers) != 2 {
		t.Fatalf("brokers %v, want only nodes 4 and 5", img.Brokers)
	}
	for _, p := range img.Topics["t"].Partitions {
		if !slices.Equal(slices.Sorted(slices.Values(p.Replicas)), []int32{4, 5}) {
			t.Errorf("partition %d replicas %v", p.ID, p.Replicas)
		}
	}
	if got := metadataBrokers(t, c.Node(3).Addr()); !slices.Equal(got, []int32{4, 5}) {
		t.Errorf("metadata brokers %v", got)
	}
}
