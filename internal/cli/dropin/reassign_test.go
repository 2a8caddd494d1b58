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
	c := clustertest.StartCluster(t, 3)
	addr := c.Node(0).Addr()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...))
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
	// waitDone waits until the reassignments are over and every node's metadata shows the
	// partition on want.
	waitDone := func(topic string, partition int32, want ...int32) {
		t.Helper()
		clustertest.WaitFor(t, 20*time.Second, "the reassignment to complete", func() bool {
			l, err := adm.ListPartitionReassignments(context.Background(), nil)
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

	plan := write("plan.json", `{"version":1,"partitions":[{"topic":"orders","partition":0,"replicas":[2,3]},{"topic":"orders","partition":1,"replicas":[3,1]}]}`)
	run(false, "kafka-reassign-partitions", "--execute", "--reassignment-json-file", plan, "--throttle", "50000000")
	waitDone("orders", 0, 2, 3)
	waitDone("orders", 1, 3, 1)
	run(false, "kafka-reassign-partitions", "--verify", "--reassignment-json-file", plan)
	run(false, "kafka-reassign-partitions", "--list")
	run(false, "kafka-reassign-partitions", "--cancel", "--reassignment-json-file", plan)
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
