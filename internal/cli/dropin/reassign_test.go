package dropin

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/cli/internal/golden"
	"github.com/gregorhq/gregor/internal/clustertest"
)

// createAssigned creates topic with the given replica lists, one per partition.
func createAssigned(t *testing.T, cl *kgo.Client, topic string, assignment ...[]int32) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, -1, -1
	for i, rs := range assignment {
		a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		a.Partition, a.Replicas = int32(i), rs
		rt.ReplicaAssignment = append(rt.ReplicaAssignment, a)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		t.Fatalf("create %s: %v", topic, err)
	}
}

// TestReassignAndElectionTools runs kafka-reassign-partitions through generate, execute
// (throttled), verify, list and cancel, and kafka-leader-election, against a 3-broker
// cluster, and compares what they print with testdata/reassign.txt.
func TestReassignAndElectionTools(t *testing.T) {
	// Fetches of one batch, so that a throttle of 1 B/s holds a reassignment in progress
	// after its first fetch.
	c := clustertest.StartCluster(t, 3, clustertest.Overrides("replica.fetch.max.bytes", "1024"))
	addr := c.Node(0).Addr()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.MetadataMinAge(10*time.Millisecond),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	createAssigned(t, cl, "orders", []int32{1, 2}, []int32{2, 3})
	createAssigned(t, cl, "el", []int32{1, 2})
	c.WaitConverged()

	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var all strings.Builder
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("output so far:\n%s", all.String())
		}
	})
	run := func(wantErr bool, tool string, args ...string) {
		t.Helper()
		all.WriteString("== " + tool + " " + strings.Join(args, " ") + "\n")
		out, stderr, err := kafka(t, "", tool, append(args, "--bootstrap-server", addr)...)
		all.WriteString(out)
		if (err != nil) != wantErr {
			t.Fatalf("%s %v: err %v, stderr %s", tool, args, err, stderr)
		}
		if err != nil {
			all.WriteString("error: " + err.Error() + "\n")
		}
	}
	// waitDone waits until the partition's reassignment is over and every node's metadata
	// shows it on want.
	waitDone := func(topic string, partition int32, want ...int32) {
		t.Helper()
		clustertest.WaitFor(t, 20*time.Second, "the reassignment to complete", func() bool {
			l, err := adm.ListPartitionReassignments(context.Background(), kadm.TopicsSet{topic: {partition: {}}})
			if err != nil || len(l) != 0 {
				return false
			}
			m, err := adm.Metadata(context.Background(), topic)
			return err == nil && slices.Equal(m.Topics[topic].Partitions[partition].Replicas, want)
		})
		c.WaitConverged()
	}

	move := write("move.json", `{"version":1,"topics":[{"topic":"orders"}]}`)
	run(false, "kafka-reassign-partitions", "--generate", "--topics-to-move-json-file", move, "--broker-list", "2,3")
	run(true, "kafka-reassign-partitions", "--generate", "--topics-to-move-json-file", move, "--broker-list", "1")

	// Three batches of 600 bytes: a fetch takes one of them.
	for i := range 3 {
		r := &kgo.Record{Topic: "orders", Partition: 0, Value: []byte(strings.Repeat("x", 600+i))}
		if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	plan := write("plan.json", `{"version":1,"partitions":[{"topic":"orders","partition":0,"replicas":[2,3]},{"topic":"orders","partition":1,"replicas":[3,1]}]}`)
	// orders-1 is empty and moves at once; orders-0 is held by the throttle.
	run(false, "kafka-reassign-partitions", "--execute", "--reassignment-json-file", plan, "--throttle", "1")
	waitDone("orders", 1, 3, 1)
	clustertest.WaitFor(t, 20*time.Second, "orders-0 to be moving", func() bool {
		l, err := adm.ListPartitionReassignments(context.Background(), kadm.TopicsSet{"orders": {0: {}}})
		return err == nil && len(l["orders"]) == 1
	})
	run(false, "kafka-reassign-partitions", "--list")
	run(false, "kafka-reassign-partitions", "--verify", "--reassignment-json-file", plan)
	run(false, "kafka-reassign-partitions", "--cancel", "--reassignment-json-file", plan)
	// The original replicas, in the order the reassignment left them (as Kafka reverts).
	waitDone("orders", 0, 2, 1)
	run(false, "kafka-reassign-partitions", "--list")
	run(false, "kafka-reassign-partitions", "--verify", "--reassignment-json-file", plan)
	run(true, "kafka-reassign-partitions", "--list", "--verify")

	// The throttles are gone.
	clustertest.WaitFor(t, 10*time.Second, "the throttles to be cleared", func() bool {
		cfgs, err := adm.DescribeTopicConfigs(context.Background(), "orders")
		if err != nil {
			return false
		}
		for _, rc := range cfgs {
			for _, cv := range rc.Configs {
				if strings.Contains(cv.Key, "throttled") && cv.Source == kmsg.ConfigSourceDynamicTopicConfig {
					return false
				}
			}
		}
		return true
	})

	// Reordering el-0's replicas makes 2 its preferred leader while 1 still leads.
	reorder := write("reorder.json", `{"version":1,"partitions":[{"topic":"el","partition":0,"replicas":[2,1]}]}`)
	run(false, "kafka-reassign-partitions", "--execute", "--reassignment-json-file", reorder)
	waitDone("el", 0, 2, 1)
	run(false, "kafka-leader-election", "--election-type", "PREFERRED", "--topic", "el", "--partition", "0")
	run(false, "kafka-leader-election", "--election-type", "preferred", "--path-to-json-file",
		write("el.json", `{"partitions":[{"topic":"el","partition":0}]}`))
	run(true, "kafka-leader-election", "--election-type", "PREFERRED", "--topic", "nope", "--partition", "0")
	run(true, "kafka-leader-election", "--election-type", "PREFERRED", "--all-topic-partitions", "--topic", "el")
	golden.Assert(t, "reassign.txt", []byte(strings.ReplaceAll(all.String(), dir, "DIR")))
}
