package controller

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/metadata"
)

// fastRaft shortens Raft's timers so that a single voter elects itself quickly.
func fastRaft(rc *raft.Config) {
	rc.HeartbeatTimeout = 50 * time.Millisecond
	rc.ElectionTimeout = 50 * time.Millisecond
	rc.LeaderLeaseTimeout = 50 * time.Millisecond
	rc.CommitTimeout = 5 * time.Millisecond
}

func testConfig(dir string) Config {
	return Config{
		NodeID:                   1,
		Dir:                      dir,
		BindAddr:                 "127.0.0.1:0",
		DefaultPartitions:        3,
		DefaultReplicationFactor: 1,
		ValidateTopicConfig: func(name string, value *string) error {
			if name == "bad.config" {
				return fmt.Errorf("Unknown topic config name: %s", name)
			}
			return nil
		},
		raftConfig: fastRaft,
	}
}

func startController(t *testing.T, cfg Config) *Controller {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func registerBrokers(t *testing.T, c *Controller, ids ...int32) {
	t.Helper()
	for _, id := range ids {
		_, err := c.RegisterBroker(context.Background(), metadata.Broker{
			ID: id, Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9092 + id}},
		})
		if err != nil {
			t.Fatalf("RegisterBroker(%d): %v", id, err)
		}
	}
}

// epochOf is broker id's epoch in c's image (0 when it is not registered).
func epochOf(c *Controller, id int32) int64 { return c.Image().Brokers[id].Epoch }

// leaderRequest is an AlterPartition of broker with its current epoch in c's image.
func leaderRequest(c *Controller, broker int32, topic string, partition, leaderEpoch, partitionEpoch int32, isr []int32) alterPartitionRequest {
	return alterPartitionRequest{
		brokerID: broker, brokerEpoch: epochOf(c, broker), topic: topic, partition: partition,
		leaderEpoch: leaderEpoch, partitionEpoch: partitionEpoch, isr: isr,
	}
}

func errCode(err error) string {
	if err == nil {
		return "NONE"
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Message
	}
	return err.Error()
}

func TestStartNewCluster(t *testing.T) {
	c := startController(t, testConfig(t.TempDir()))
	img := c.Image()
	if len(img.ClusterID) != 22 || strings.Contains(img.ClusterID, "=") {
		t.Fatalf("cluster id %q", img.ClusterID)
	}
	if _, err := metadata.ParseUUID(img.ClusterID); err != nil {
		t.Fatal(err)
	}
	if img.ControllerID != 1 || c.LeaderID() != 1 {
		t.Fatalf("controller id %d, leader %d", img.ControllerID, c.LeaderID())
	}
	if img.Offset == 0 {
		t.Fatal("offset not set")
	}
	ch, cancel := c.Subscribe()
	defer cancel()
	registerBrokers(t, c, 1)
	// The image is published before RegisterBroker returns, and subscribers are told.
	if _, ok := c.Image().Brokers[1]; !ok {
		t.Fatal("broker 1 not in the image")
	}
	select {
	case <-ch:
	default:
		t.Fatal("no notification")
	}
	// Re-registering the same broker commits nothing.
	off := c.Image().Offset
	registerBrokers(t, c, 1)
	if c.Image().Offset != off {
		t.Fatal("identical registration committed a record")
	}
	if _, err := c.RegisterBroker(context.Background(), metadata.Broker{ID: -1}); errCode(err) != "INVALID_REQUEST" {
		t.Fatalf("negative broker id: %v", err)
	}
}

func TestCreateTopics(t *testing.T) {
	c := startController(t, testConfig(t.TempDir()))
	ctx := context.Background()

	// No brokers yet: nothing can be placed.
	res := c.CreateTopics(ctx, []TopicSpec{{Name: "early", NumPartitions: 1, ReplicationFactor: 1}}, false)
	if errCode(res[0].Err) != "INVALID_REPLICATION_FACTOR" {
		t.Fatalf("no brokers: %+v", res[0])
	}
	registerBrokers(t, c, 1)

	long := strings.Repeat("x", 250)
	v := func(s string) *string { return &s }
	specs := []TopicSpec{
		{Name: "defaults", NumPartitions: -1, ReplicationFactor: -1},
		{Name: "explicit", NumPartitions: 2, ReplicationFactor: 1, Configs: map[string]*string{"retention.ms": v("1000")}},
		{Name: "__internal", NumPartitions: 1, ReplicationFactor: 1},
		{Name: strings.Repeat("y", 249), NumPartitions: 1, ReplicationFactor: 1},
		{Name: "", NumPartitions: 1, ReplicationFactor: 1},
		{Name: ".", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "..", NumPartitions: 1, ReplicationFactor: 1},
		{Name: long, NumPartitions: 1, ReplicationFactor: 1},
		{Name: "bad name", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "bad/name", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "dup", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "dup", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "rf.too.high", NumPartitions: 1, ReplicationFactor: 2},
		{Name: "zero.partitions", NumPartitions: 0, ReplicationFactor: 1},
		{Name: "negative.partitions", NumPartitions: -2, ReplicationFactor: 1},
		{Name: "zero.rf", NumPartitions: 1, ReplicationFactor: 0},
		{Name: "bad.config", NumPartitions: 1, ReplicationFactor: 1, Configs: map[string]*string{"bad.config": v("x")}},
		{Name: "null.config", NumPartitions: 1, ReplicationFactor: 1, Configs: map[string]*string{"retention.ms": nil}},
		{Name: "too.many", NumPartitions: maxPartitionsPerRequest + 1, ReplicationFactor: 1},
		{Name: "a.b", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "a_b", NumPartitions: 1, ReplicationFactor: 1}, // collides with a.b, created just before
	}
	want := []string{
		"NONE", "NONE", "NONE", "NONE",
		"INVALID_TOPIC_EXCEPTION", "INVALID_TOPIC_EXCEPTION", "INVALID_TOPIC_EXCEPTION", "INVALID_TOPIC_EXCEPTION",
		"INVALID_TOPIC_EXCEPTION", "INVALID_TOPIC_EXCEPTION",
		"INVALID_REQUEST", "INVALID_REQUEST",
		"INVALID_REPLICATION_FACTOR", "INVALID_PARTITIONS", "INVALID_PARTITIONS", "INVALID_REPLICATION_FACTOR",
		"INVALID_CONFIG", "INVALID_CONFIG", "POLICY_VIOLATION",
		"NONE", "INVALID_TOPIC_EXCEPTION",
	}
	res = c.CreateTopics(ctx, specs, false)
	if len(res) != len(specs) {
		t.Fatalf("%d results for %d specs", len(res), len(specs))
	}
	img := c.Image()
	for i, r := range res {
		if r.Name != specs[i].Name || errCode(r.Err) != want[i] {
			t.Errorf("%d %.20q: got %s (%s), want %s", i, specs[i].Name, errCode(r.Err), r.Message, want[i])
			continue
		}
		_, exists := img.Topics[r.Name]
		if r.Err == nil {
			if r.ID == metadata.ZeroUUID || !exists || img.Topics[r.Name].ID != r.ID {
				t.Errorf("%q: created with id %v but image has %v", r.Name, r.ID, img.Topics[r.Name])
			}
		} else if exists && r.Name != "a.b" {
			t.Errorf("%q failed but exists", r.Name)
		}
	}
	if m := res[16].Message; m != "Unknown topic config name: bad.config" {
		t.Errorf("config message %q", m)
	}
	if !strings.Contains(res[20].Message, "collides with existing topic: a.b") {
		t.Errorf("collision message %q", res[20].Message)
	}
	if r := res[0]; r.NumPartitions != 3 || r.ReplicationFactor != 1 || len(img.Topics["defaults"].Partitions) != 3 {
		t.Errorf("defaults: %+v", r)
	}
	if img.Topics["explicit"].Configs["retention.ms"] != "1000" || len(img.Topics["explicit"].Partitions) != 2 {
		t.Errorf("explicit: %+v", img.Topics["explicit"])
	}
	for _, p := range img.Topics["defaults"].Partitions {
		if p.Leader != 1 || len(p.ISR) != 1 || p.LeaderEpoch != 0 || p.Epoch != 0 {
			t.Errorf("partition %+v", p)
		}
	}

	// Already exists, and collisions with existing topics.
	res = c.CreateTopics(ctx, []TopicSpec{
		{Name: "defaults", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "a_b", NumPartitions: 1, ReplicationFactor: 1},
	}, false)
	if errCode(res[0].Err) != "TOPIC_ALREADY_EXISTS" || errCode(res[1].Err) != "INVALID_TOPIC_EXCEPTION" {
		t.Fatalf("second create: %+v", res)
	}
	if res[0].ID != metadata.ZeroUUID {
		t.Fatal("failed create returned an id")
	}

	// validateOnly leaves the image as it was.
	before := c.Image()
	res = c.CreateTopics(ctx, []TopicSpec{{Name: "validate.only", NumPartitions: 4, ReplicationFactor: 1}}, true)
	if res[0].Err != nil || res[0].NumPartitions != 4 || res[0].ID != metadata.ZeroUUID {
		t.Fatalf("validateOnly: %+v", res[0])
	}
	if c.Image() != before {
		t.Fatal("validateOnly changed the image")
	}
}

func TestCreateTopicsManualAssignment(t *testing.T) {
	c := startController(t, testConfig(t.TempDir()))
	ctx := context.Background()
	registerBrokers(t, c, 1, 2, 3)
	if _, err := c.RegisterBroker(ctx, metadata.Broker{ID: 4, Fenced: true}); err != nil {
		t.Fatal(err)
	}
	specs := []TopicSpec{
		{Name: "manual", NumPartitions: -1, ReplicationFactor: -1, Assignments: map[int32][]int32{0: {2, 3}, 1: {3, 1}}},
		{Name: "with.fenced", NumPartitions: -1, ReplicationFactor: -1, Assignments: map[int32][]int32{0: {4, 1}}},
		{Name: "rf.set", NumPartitions: -1, ReplicationFactor: 2, Assignments: map[int32][]int32{0: {1, 2}}},
		{Name: "np.set", NumPartitions: 1, ReplicationFactor: -1, Assignments: map[int32][]int32{0: {1, 2}}},
		{Name: "gap", NumPartitions: -1, ReplicationFactor: -1, Assignments: map[int32][]int32{0: {1}, 2: {2}}},
		{Name: "empty", NumPartitions: -1, ReplicationFactor: -1, Assignments: map[int32][]int32{0: {}}},
		{Name: "twice", NumPartitions: -1, ReplicationFactor: -1, Assignments: map[int32][]int32{0: {1, 1}}},
		{Name: "unknown.broker", NumPartitions: -1, ReplicationFactor: -1, Assignments: map[int32][]int32{0: {1, 9}}},
		{Name: "uneven", NumPartitions: -1, ReplicationFactor: -1, Assignments: map[int32][]int32{0: {1, 2}, 1: {1}}},
		{Name: "all.fenced", NumPartitions: -1, ReplicationFactor: -1, Assignments: map[int32][]int32{0: {4}}},
	}
	want := []string{"NONE", "NONE", "INVALID_REQUEST", "INVALID_REQUEST", "INVALID_REPLICA_ASSIGNMENT",
		"INVALID_REPLICA_ASSIGNMENT", "INVALID_REPLICA_ASSIGNMENT", "INVALID_REPLICA_ASSIGNMENT",
		"INVALID_REPLICA_ASSIGNMENT", "INVALID_REPLICA_ASSIGNMENT"}
	res := c.CreateTopics(ctx, specs, false)
	for i, r := range res {
		if errCode(r.Err) != want[i] {
			t.Errorf("%s: got %s (%s), want %s", r.Name, errCode(r.Err), r.Message, want[i])
		}
	}
	img := c.Image()
	_, p, _ := img.Partition("manual", 1)
	if fmt.Sprint(p.Replicas, p.ISR, p.Leader) != "[3 1] [3 1] 3" {
		t.Errorf("manual-1: %+v", p)
	}
	_, p, _ = img.Partition("with.fenced", 0)
	if fmt.Sprint(p.Replicas, p.ISR, p.Leader) != "[4 1] [1] 1" {
		t.Errorf("with.fenced-0: %+v", p)
	}
	if res[0].ReplicationFactor != 2 || res[0].NumPartitions != 2 {
		t.Errorf("manual result %+v", res[0])
	}
	// Fenced brokers are not used for placement: RF 3 needs 3 unfenced brokers, 4 is too many.
	res = c.CreateTopics(ctx, []TopicSpec{
		{Name: "rf3", NumPartitions: 6, ReplicationFactor: 3},
		{Name: "rf4", NumPartitions: 1, ReplicationFactor: 4},
	}, false)
	if res[0].Err != nil || errCode(res[1].Err) != "INVALID_REPLICATION_FACTOR" {
		t.Fatalf("%+v", res)
	}
	leaders := map[int32]int{}
	for _, p := range c.Image().Topics["rf3"].Partitions {
		leaders[p.Leader]++
		if len(p.Replicas) != 3 || p.Replicas[0] == 4 || p.Replicas[1] == 4 || p.Replicas[2] == 4 {
			t.Errorf("rf3 partition %+v", p)
		}
	}
	if leaders[1] != 2 || leaders[2] != 2 || leaders[3] != 2 {
		t.Errorf("leaders not spread: %v", leaders)
	}
}

func TestConcurrentCreatesOfOneTopic(t *testing.T) {
	c := startController(t, testConfig(t.TempDir()))
	registerBrokers(t, c, 1)
	const n = 16
	results := make([]TopicResult, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// Two names that collide, to check collisions are serialized too.
			name := "race.topic"
			if i%2 == 1 {
				name = "race_topic"
			}
			results[i] = c.CreateTopics(context.Background(), []TopicSpec{{Name: name, NumPartitions: 2, ReplicationFactor: 1}}, false)[0]
		})
	}
	wg.Wait()
	wins := 0
	for _, r := range results {
		switch errCode(r.Err) {
		case "NONE":
			wins++
		case "TOPIC_ALREADY_EXISTS", "INVALID_TOPIC_EXCEPTION":
		default:
			t.Errorf("unexpected result %+v", r)
		}
	}
	if wins != 1 {
		t.Fatalf("%d creates won", wins)
	}
	img := c.Image()
	_, a := img.Topics["race.topic"]
	_, b := img.Topics["race_topic"]
	if a == b {
		t.Fatalf("race.topic %v, race_topic %v", a, b)
	}
}

func TestDeleteTopics(t *testing.T) {
	c := startController(t, testConfig(t.TempDir()))
	ctx := context.Background()
	registerBrokers(t, c, 1)
	res := c.CreateTopics(ctx, []TopicSpec{
		{Name: "a", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "b", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "c", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "d", NumPartitions: 1, ReplicationFactor: 1, Configs: map[string]*string{"k": new("v")}},
	}, false)
	ids := map[string]metadata.UUID{}
	for _, r := range res {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		ids[r.Name] = r.ID
	}
	unknownID := metadata.RandomUUID()
	del := c.DeleteTopics(ctx,
		[]string{"a", "nope", "x", "x", "c"},
		[]metadata.UUID{ids["b"], unknownID, ids["c"], metadata.ZeroUUID})
	want := []struct {
		name string
		id   metadata.UUID
		code string
	}{
		{"a", ids["a"], "NONE"},
		{"nope", metadata.ZeroUUID, "UNKNOWN_TOPIC_OR_PARTITION"},
		{"x", metadata.ZeroUUID, "INVALID_REQUEST"},
		{"x", metadata.ZeroUUID, "INVALID_REQUEST"},
		{"c", ids["c"], "INVALID_REQUEST"}, // also given by id
		{"b", ids["b"], "NONE"},
		{"", unknownID, "UNKNOWN_TOPIC_ID"},
		{"c", ids["c"], "NONE"},
		{"", metadata.ZeroUUID, "INVALID_REQUEST"},
	}
	if len(del) != len(want) {
		t.Fatalf("%d results", len(del))
	}
	for i, w := range want {
		if del[i].Name != w.name || del[i].ID != w.id || errCode(del[i].Err) != w.code {
			t.Errorf("%d: got %+v (%s), want %+v", i, del[i], errCode(del[i].Err), w)
		}
	}
	img := c.Image()
	if fmt.Sprint(img.TopicNames()) != "[d]" || len(img.TopicsByID) != 1 {
		t.Fatalf("left: %v", img.TopicNames())
	}
	// A deleted name can be created again, with a new id and no old configs.
	res = c.CreateTopics(ctx, []TopicSpec{{Name: "a", NumPartitions: 1, ReplicationFactor: 1}}, false)
	if res[0].Err != nil || res[0].ID == ids["a"] {
		t.Fatalf("recreate: %+v", res[0])
	}
	del = c.DeleteTopics(ctx, []string{"d"}, nil)
	if del[0].Err != nil {
		t.Fatal(del[0].Err)
	}
	res = c.CreateTopics(ctx, []TopicSpec{{Name: "d", NumPartitions: 1, ReplicationFactor: 1}}, false)
	if res[0].Err != nil || len(c.Image().Topics["d"].Configs) != 0 {
		t.Fatalf("recreate d: %+v %v", res[0], c.Image().Topics["d"])
	}
}

func TestCreatePartitions(t *testing.T) {
	c := startController(t, testConfig(t.TempDir()))
	ctx := context.Background()
	registerBrokers(t, c, 1, 2)
	if res := c.CreateTopics(ctx, []TopicSpec{
		{Name: "t", NumPartitions: 2, ReplicationFactor: 2},
		{Name: "u", NumPartitions: 1, ReplicationFactor: 1},
	}, false); res[0].Err != nil || res[1].Err != nil {
		t.Fatal(res)
	}
	before := c.Image()
	res := c.CreatePartitions(ctx, []PartitionsSpec{{Topic: "t", Count: 5}}, true)
	if res[0].Err != nil || c.Image() != before {
		t.Fatalf("validateOnly: %+v", res)
	}
	res = c.CreatePartitions(ctx, []PartitionsSpec{
		{Topic: "t", Count: 4},
		{Topic: "u", Count: 1},
		{Topic: "missing", Count: 3},
		{Topic: "dup", Count: 3},
		{Topic: "dup", Count: 3},
	}, false)
	want := []string{"NONE", "INVALID_PARTITIONS", "UNKNOWN_TOPIC_OR_PARTITION", "INVALID_REQUEST", "INVALID_REQUEST"}
	for i, r := range res {
		if r.Topic != []string{"t", "u", "missing", "dup", "dup"}[i] || errCode(r.Err) != want[i] {
			t.Errorf("%d: %+v, want %s", i, r, want[i])
		}
	}
	tp := c.Image().Topics["t"]
	if len(tp.Partitions) != 4 {
		t.Fatalf("t has %d partitions", len(tp.Partitions))
	}
	for _, p := range tp.Partitions {
		if len(p.Replicas) != 2 || p.Replicas[0] == p.Replicas[1] || p.Leader != p.Replicas[0] {
			t.Errorf("partition %+v", p)
		}
	}
	res = c.CreatePartitions(ctx, []PartitionsSpec{
		{Topic: "t", Count: 3},
		{Topic: "u", Count: 3, Assignments: [][]int32{{2}}},
		{Topic: "u", Count: 3, Assignments: [][]int32{{2}, {1, 2}}},
	}, false)
	if errCode(res[0].Err) != "INVALID_PARTITIONS" || errCode(res[1].Err) != "INVALID_REQUEST" {
		t.Fatalf("%+v", res)
	}
	res = c.CreatePartitions(ctx, []PartitionsSpec{{Topic: "u", Count: 3, Assignments: [][]int32{{2}}}}, false)
	if errCode(res[0].Err) != "INVALID_REPLICA_ASSIGNMENT" {
		t.Fatalf("short assignments: %+v", res)
	}
	res = c.CreatePartitions(ctx, []PartitionsSpec{{Topic: "u", Count: 3, Assignments: [][]int32{{2}, {1, 2}}}}, false)
	if errCode(res[0].Err) != "INVALID_REPLICA_ASSIGNMENT" {
		t.Fatalf("uneven assignments: %+v", res)
	}
	res = c.CreatePartitions(ctx, []PartitionsSpec{{Topic: "u", Count: 3, Assignments: [][]int32{{2}, {1}}}}, false)
	if res[0].Err != nil {
		t.Fatal(res[0])
	}
	if u := c.Image().Topics["u"]; len(u.Partitions) != 3 || u.Partitions[1].Leader != 2 || u.Partitions[2].Leader != 1 {
		t.Fatalf("u: %+v", u.Partitions)
	}
}

func TestNotController(t *testing.T) {
	c := startController(t, testConfig(t.TempDir()))
	registerBrokers(t, c, 1)
	c.activeTerm.Store(0) // as if leadership had just been lost
	res := c.CreateTopics(context.Background(), []TopicSpec{{Name: "t", NumPartitions: 1, ReplicationFactor: 1}}, false)
	if errCode(res[0].Err) != "NOT_CONTROLLER" || res[0].Name != "t" {
		t.Fatalf("%+v", res[0])
	}
	if d := c.DeleteTopics(context.Background(), []string{"t"}, nil); errCode(d[0].Err) != "NOT_CONTROLLER" {
		t.Fatalf("%+v", d)
	}
	if p := c.CreatePartitions(context.Background(), []PartitionsSpec{{Topic: "t", Count: 2}}, false); errCode(p[0].Err) != "NOT_CONTROLLER" {
		t.Fatalf("%+v", p)
	}
	if _, err := c.RegisterBroker(context.Background(), metadata.Broker{ID: 2}); errCode(err) != "NOT_CONTROLLER" {
		t.Fatal(err)
	}
}

func TestRequestContextEnds(t *testing.T) {
	c := startController(t, testConfig(t.TempDir()))
	registerBrokers(t, c, 1)
	// Hold the decision lock, as a slow decision would.
	c.decideCh <- struct{}{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := c.CreateTopics(ctx, []TopicSpec{{Name: "t", NumPartitions: 1, ReplicationFactor: 1}}, false)
	<-c.decideCh
	if errCode(res[0].Err) != "REQUEST_TIMED_OUT" {
		t.Fatalf("%+v", res[0])
	}
}

// snapshotOf renders an image deeply, without its offset and controller id, which a restart
// changes.
func snapshotOf(t *testing.T, img *metadata.Image) string {
	t.Helper()
	cp := *img
	cp.Offset, cp.ControllerID = 0, -1
	var buf bytes.Buffer
	if err := cp.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestMetadataSurvivesRestart(t *testing.T) {
	cfg := testConfig(t.TempDir())
	c := startController(t, cfg)
	registerBrokers(t, c, 1, 2)
	res := c.CreateTopics(context.Background(), []TopicSpec{
		{Name: "a", NumPartitions: 3, ReplicationFactor: 2, Configs: map[string]*string{"cleanup.policy": new("compact")}},
		{Name: "b", NumPartitions: 1, ReplicationFactor: 1},
	}, false)
	if res[0].Err != nil || res[1].Err != nil {
		t.Fatal(res)
	}
	before := c.Image()
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	c2 := startController(t, cfg)
	after := c2.Image()
	if after.ClusterID != before.ClusterID || after.Topics["a"].ID != res[0].ID || after.Topics["b"].ID != res[1].ID {
		t.Fatalf("after restart: cluster %q topics %v", after.ClusterID, after.TopicNames())
	}
	if snapshotOf(t, after) != snapshotOf(t, before) {
		t.Fatalf("image changed across restart:\n%s\n%s", snapshotOf(t, before), snapshotOf(t, after))
	}
	if after.Offset <= before.Offset {
		t.Fatalf("offset %d after restart, %d before (the new leader commits a leader change)", after.Offset, before.Offset)
	}
	// And it still decides.
	if r := c2.CreateTopics(context.Background(), []TopicSpec{{Name: "a", NumPartitions: 1, ReplicationFactor: 1}}, false); errCode(r[0].Err) != "TOPIC_ALREADY_EXISTS" {
		t.Fatalf("%+v", r[0])
	}
}

func TestSnapshotRestore(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.raftConfig = func(rc *raft.Config) {
		fastRaft(rc)
		rc.TrailingLogs = 0 // a snapshot truncates the whole log: restart must restore it
		rc.SnapshotThreshold = 1 << 30
		rc.SnapshotInterval = time.Hour
	}
	c := startController(t, cfg)
	registerBrokers(t, c, 1, 2, 3)
	res := c.CreateTopics(context.Background(), []TopicSpec{
		{Name: "s", NumPartitions: 5, ReplicationFactor: 3, Configs: map[string]*string{"retention.ms": new("60000")}},
	}, false)
	if res[0].Err != nil {
		t.Fatal(res[0])
	}
	if err := c.raft.Snapshot().Error(); err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	before := c.Image()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	c2 := startController(t, cfg)
	if got := snapshotOf(t, c2.Image()); got != snapshotOf(t, before) {
		t.Fatalf("restored image differs:\n%s\n%s", snapshotOf(t, before), got)
	}
	if first, _ := c2.store.FirstIndex(); first <= before.Offset && first != 0 {
		t.Fatalf("log still starts at %d, snapshot was at %d: restore not exercised", first, before.Offset)
	}
}

// memSink is a raft.SnapshotSink in memory.
type memSink struct {
	bytes.Buffer
	closed, cancelled bool
}

func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Close() error  { s.closed = true; return nil }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }

func TestFSMSnapshotRoundTrip(t *testing.T) {
	f := newFSM(testLogger(), func() {})
	recs := []metadata.Record{
		metadata.ClusterRecord{ClusterID: "cid"},
		metadata.BrokerRecord{ID: 1},
		metadata.TopicRecord{Name: "t", ID: metadata.UUID{1}},
		metadata.PartitionRecord{TopicID: metadata.UUID{1}, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1},
	}
	data, err := metadata.EncodeBatch(recs)
	if err != nil {
		t.Fatal(err)
	}
	if resp := f.Apply(&raft.Log{Index: 7, Data: data}); resp != nil {
		t.Fatal(resp)
	}
	// A rejected entry changes nothing but the offset.
	bad, _ := metadata.EncodeBatch([]metadata.Record{metadata.RemoveTopicRecord{TopicID: metadata.UUID{9}}})
	if resp := f.Apply(&raft.Log{Index: 8, Data: bad}); resp == nil {
		t.Fatal("bad entry accepted")
	}
	img := f.image.Load()
	if img.Offset != 8 || img.Topics["t"] == nil {
		t.Fatalf("%+v", img)
	}
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var sink memSink
	if err := snap.Persist(&sink); err != nil || !sink.closed {
		t.Fatal(err)
	}
	g := newFSM(testLogger(), func() {})
	if err := g.Restore(io.NopCloser(&sink.Buffer)); err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	_ = img.WriteSnapshot(&a)
	_ = g.image.Load().WriteSnapshot(&b)
	if a.String() != b.String() || g.image.Load().Offset != 8 {
		t.Fatalf("restore:\n%s\n%s", a.String(), b.String())
	}
}

func TestStartFailsWhenContextEnds(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.raftConfig = func(rc *raft.Config) {} // default timers: election takes over a second
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if c, err := Start(ctx, cfg); err == nil {
		c.Close()
		t.Fatal("Start succeeded with a cancelled context")
	}
	// Everything was released: the directory can be opened again.
	c := startController(t, testConfig(dir))
	if c.Image().ClusterID == "" {
		t.Fatal("no cluster id")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{NodeID: -1, Dir: "x", BindAddr: "127.0.0.1:0"},
		{NodeID: 1, BindAddr: "127.0.0.1:0"},
		{NodeID: 1, Dir: "x"},
	} {
		if _, err := Start(context.Background(), cfg); err == nil {
			t.Errorf("Start(%+v) succeeded", cfg)
		}
	}
	cfg := Config{BindAddr: ":0"}
	if _, err := cfg.advertiseAddr(); err == nil {
		t.Error(":0 without advertised address accepted")
	}
	cfg = Config{BindAddr: ":9093"}
	if a, err := cfg.advertiseAddr(); err != nil || a.String() != "127.0.0.1:9093" {
		t.Errorf(":9093 advertises %v, %v", a, err)
	}
	cfg = Config{BindAddr: "0.0.0.0:9093", AdvertisedAddr: "10.0.0.1:9093"}
	if a, err := cfg.advertiseAddr(); err != nil || a.String() != "10.0.0.1:9093" {
		t.Errorf("advertised %v, %v", a, err)
	}
}

func testLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestRaftLogsReachSlog(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	h := slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelInfo})
	l := newHCLogger(slog.New(h))
	l.Debug("hidden")
	l.Info("shown", "servers", hclog.Fmt("%d voters", 3))
	mu.Lock()
	defer mu.Unlock()
	out := buf.String()
	if strings.Contains(out, "hidden") || !strings.Contains(out, "msg=shown") || !strings.Contains(out, `servers="3 voters"`) {
		t.Fatalf("got %q", out)
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
