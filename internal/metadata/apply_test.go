package metadata

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

var (
	idA = UUID{1}
	idB = UUID{2}
)

func mustApply(t testing.TB, img *Image, recs ...Record) *Image {
	t.Helper()
	next, err := img.Apply(recs)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	checkInvariants(t, next)
	return next
}

// checkInvariants checks the invariants the Image type documents.
func checkInvariants(t testing.TB, img *Image) {
	t.Helper()
	if len(img.Topics) != len(img.TopicsByID) {
		t.Fatalf("%d topics by name, %d by id", len(img.Topics), len(img.TopicsByID))
	}
	for id, b := range img.Brokers {
		if b.Epoch <= 0 {
			t.Fatalf("broker %d has epoch %d", id, b.Epoch)
		}
	}
	for name, tp := range img.Topics {
		if tp.Name != name || img.TopicsByID[tp.ID] != tp {
			t.Fatalf("topic %q: maps disagree", name)
		}
		for i, p := range tp.Partitions {
			if int(p.ID) != i {
				t.Fatalf("%s: partition %d at index %d", name, p.ID, i)
			}
			if err := checkPartition(p); err != nil {
				t.Fatalf("%s-%d: %v", name, i, err)
			}
		}
	}
}

// fingerprint is a deep, deterministic rendering of an image (its snapshot).
func fingerprint(t *testing.T, img *Image) string {
	t.Helper()
	var buf bytes.Buffer
	if err := img.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func baseImage(t testing.TB) *Image {
	return mustApply(t, Empty(),
		ClusterRecord{ClusterID: "c1"},
		LeaderChangeRecord{LeaderID: 1},
		BrokerRecord{ID: 1, Endpoints: []Endpoint{{Name: "PLAINTEXT", Host: "h1", Port: 9092}}},
		BrokerRecord{ID: 2, Endpoints: []Endpoint{{Name: "PLAINTEXT", Host: "h2", Port: 9092}}, Rack: "r2"},
		TopicRecord{Name: "a", ID: idA},
		PartitionRecord{TopicID: idA, Partition: 0, Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 1},
		PartitionRecord{TopicID: idA, Partition: 1, Replicas: []int32{2, 1}, ISR: []int32{2, 1}, Leader: 2},
		ConfigRecord{ResourceType: ConfigResourceTopic, ResourceName: "a", Name: "retention.ms", Value: ptr("1000")},
	)
}

func TestApplySequence(t *testing.T) {
	img := baseImage(t)
	if img.ClusterID != "c1" || img.ControllerID != 1 || len(img.Brokers) != 2 {
		t.Fatalf("image: %+v", img)
	}
	tp, p, ok := img.Partition("a", 1)
	if !ok || tp.ID != idA || p.Leader != 2 || !reflect.DeepEqual(p.Replicas, []int32{2, 1}) {
		t.Fatalf("a-1: %+v %+v %v", tp, p, ok)
	}
	if tp.Configs["retention.ms"] != "1000" {
		t.Fatalf("configs: %v", tp.Configs)
	}

	// ISR shrink: partition epoch moves, leader epoch does not.
	img = mustApply(t, img, PartitionChangeRecord{TopicID: idA, Partition: 0, ISR: []int32{1}})
	_, p, _ = img.Partition("a", 0)
	if p.Epoch != 1 || p.LeaderEpoch != 0 || !reflect.DeepEqual(p.ISR, []int32{1}) {
		t.Fatalf("after ISR shrink: %+v", p)
	}
	// Leader change: both epochs move.
	img = mustApply(t, img, PartitionChangeRecord{TopicID: idA, Partition: 0, Leader: ptr[int32](-1)})
	img = mustApply(t, img, PartitionChangeRecord{TopicID: idA, Partition: 0, Leader: ptr[int32](1)})
	_, p, _ = img.Partition("a", 0)
	if p.Epoch != 3 || p.LeaderEpoch != 2 || p.Leader != 1 {
		t.Fatalf("after leader changes: %+v", p)
	}
	// Fencing a broker is a new registration.
	img = mustApply(t, img, BrokerRecord{ID: 2, Fenced: true})
	if !img.Brokers[2].Fenced {
		t.Fatal("broker 2 not fenced")
	}
}

func TestApplyRejectsInconsistentRecords(t *testing.T) {
	base := baseImage(t)
	before := fingerprint(t, base)
	cases := []struct {
		name string
		recs []Record
		want string
	}{
		{"nil record", []Record{nil}, "nil"},
		{"empty cluster id", []Record{ClusterRecord{}}, "empty cluster id"},
		{"other cluster id", []Record{ClusterRecord{ClusterID: "c2"}}, "already"},
		{"negative broker", []Record{BrokerRecord{ID: -1}}, "invalid broker id"},
		{"duplicate topic name", []Record{TopicRecord{Name: "a", ID: idB}}, "already exists"},
		{"duplicate topic id", []Record{TopicRecord{Name: "b", ID: idA}}, "already belongs"},
		{"zero topic id", []Record{TopicRecord{Name: "b"}}, "zero topic id"},
		{"empty topic name", []Record{TopicRecord{ID: idB}}, "empty topic name"},
		{"partition of unknown topic", []Record{PartitionRecord{TopicID: idB, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}}, "unknown topic id"},
		{"partition gap", []Record{PartitionRecord{TopicID: idA, Partition: 3, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}}, "cannot create partition 3"},
		{"no replicas", []Record{PartitionRecord{TopicID: idA, Partition: 2, Leader: -1}}, "no replicas"},
		{"duplicate replica", []Record{PartitionRecord{TopicID: idA, Partition: 2, Replicas: []int32{1, 1}, ISR: []int32{1}, Leader: 1}}, "twice"},
		{"ISR not replicas", []Record{PartitionRecord{TopicID: idA, Partition: 2, Replicas: []int32{1}, ISR: []int32{2}, Leader: 2}}, "not a replica"},
		{"leader not in ISR", []Record{PartitionRecord{TopicID: idA, Partition: 2, Replicas: []int32{1, 2}, ISR: []int32{1}, Leader: 2}}, "not in the ISR"},
		{"change unknown partition", []Record{PartitionChangeRecord{TopicID: idA, Partition: 5}}, "no partition 5"},
		{"change leader outside ISR", []Record{PartitionChangeRecord{TopicID: idA, Partition: 0, Leader: ptr[int32](7)}}, "not in the ISR"},
		{"config for unknown topic", []Record{ConfigRecord{ResourceType: ConfigResourceTopic, ResourceName: "zz", Name: "k", Value: ptr("v")}}, "unknown topic"},
		{"config bad broker name", []Record{ConfigRecord{ResourceType: ConfigResourceBroker, ResourceName: "01", Name: "k", Value: ptr("v")}}, "invalid broker config"},
		{"config bad resource type", []Record{ConfigRecord{ResourceType: 9, ResourceName: "x", Name: "k"}}, "unknown config resource type"},
		{"remove unknown topic", []Record{RemoveTopicRecord{TopicID: idB}}, "unknown topic id"},
		// A batch is atomic: the good first record is not applied either.
		{"atomic batch", []Record{TopicRecord{Name: "b", ID: idB}, RemoveTopicRecord{TopicID: UUID{9}}}, "record 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			next, err := base.Apply(tc.recs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Apply = %v, %v; want error containing %q", next, err, tc.want)
			}
			if next != nil {
				t.Fatal("got an image with the error")
			}
		})
	}
	if after := fingerprint(t, base); after != before {
		t.Fatalf("failed Apply changed the image:\n%s\n%s", before, after)
	}
}

func TestApplyLeavesPreviousImageUnchanged(t *testing.T) {
	prev := baseImage(t)
	before := fingerprint(t, prev)
	prevTopic := prev.Topics["a"]
	prevParts := prev.Topics["a"].Partitions
	prevISR0 := prev.Topics["a"].Partitions[0].ISR

	// Readers of prev run concurrently with Apply (the race detector checks we never write
	// what they read).
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, tp := range prev.Topics {
				for _, p := range tp.Partitions {
					_ = len(p.ISR) + int(p.Leader)
				}
				_ = len(tp.Configs)
			}
			_ = len(prev.Brokers) + len(prev.BrokerConfigs)
		}
	})

	next := mustApply(t, prev,
		ClusterRecord{ClusterID: "c1"},
		LeaderChangeRecord{LeaderID: 2},
		BrokerRecord{ID: 1, Fenced: true},
		BrokerRecord{ID: 3},
		TopicRecord{Name: "b", ID: idB},
		PartitionRecord{TopicID: idB, Partition: 0, Replicas: []int32{3}, ISR: []int32{3}, Leader: 3},
		PartitionRecord{TopicID: idA, Partition: 2, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1},
		PartitionRecord{TopicID: idA, Partition: 1, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1, LeaderEpoch: 4},
		PartitionChangeRecord{TopicID: idA, Partition: 0, ISR: []int32{1}},
		ConfigRecord{ResourceType: ConfigResourceTopic, ResourceName: "a", Name: "retention.ms", Value: nil},
		ConfigRecord{ResourceType: ConfigResourceTopic, ResourceName: "a", Name: "cleanup.policy", Value: ptr("compact")},
		ConfigRecord{ResourceType: ConfigResourceBroker, ResourceName: "", Name: "log.retention.ms", Value: ptr("5")},
		ConfigRecord{ResourceType: ConfigResourceBroker, ResourceName: "1", Name: "x", Value: ptr("y")},
	)
	close(stop)
	wg.Wait()

	if after := fingerprint(t, prev); after != before {
		t.Fatalf("Apply changed the previous image:\nbefore %s\nafter  %s", before, after)
	}
	if prev.Topics["a"] != prevTopic || &prev.Topics["a"].Partitions[0] != &prevParts[0] ||
		!reflect.DeepEqual(prev.Topics["a"].Partitions[0].ISR, []int32{1, 2}) || &prevISR0[0] != &prev.Topics["a"].Partitions[0].ISR[0] {
		t.Fatal("previous image's topic was replaced or changed")
	}
	if _, ok := prev.Topics["b"]; ok {
		t.Fatal("new topic leaked into the previous image")
	}
	if next.Topics["a"] == prevTopic {
		t.Fatal("changed topic is shared with the previous image")
	}
	if len(next.Topics["a"].Partitions) != 3 || next.Topics["a"].Configs["cleanup.policy"] != "compact" {
		t.Fatalf("next topic a: %+v", next.Topics["a"])
	}
	if _, ok := next.Topics["a"].Configs["retention.ms"]; ok {
		t.Fatal("deleted config still there")
	}
	if next.BrokerConfigs[""]["log.retention.ms"] != "5" || next.BrokerConfigs["1"]["x"] != "y" {
		t.Fatalf("broker configs: %v", next.BrokerConfigs)
	}

	// An unchanged topic is shared, not copied.
	third := mustApply(t, next, BrokerRecord{ID: 4})
	if third.Topics["a"] != next.Topics["a"] {
		t.Fatal("unchanged topic was copied")
	}
}

func TestRemoveTopic(t *testing.T) {
	img := baseImage(t)
	img = mustApply(t, img,
		TopicRecord{Name: "b", ID: idB},
		PartitionRecord{TopicID: idB, Partition: 0, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1},
	)
	next := mustApply(t, img, RemoveTopicRecord{TopicID: idA})
	if _, ok := next.Topics["a"]; ok {
		t.Fatal("topic a still there by name")
	}
	if _, ok := next.TopicsByID[idA]; ok {
		t.Fatal("topic a still there by id")
	}
	if _, ok := img.Topics["a"]; !ok {
		t.Fatal("removal changed the previous image")
	}
	// Configs go with the topic: a topic created again with the same name starts clean.
	next = mustApply(t, next,
		TopicRecord{Name: "a", ID: UUID{3}},
		PartitionRecord{TopicID: UUID{3}, Partition: 0, Replicas: []int32{2}, ISR: []int32{2}, Leader: 2},
	)
	if len(next.Topics["a"].Configs) != 0 {
		t.Fatalf("recreated topic has configs %v", next.Topics["a"].Configs)
	}
	// Created and removed in one batch.
	next = mustApply(t, next, TopicRecord{Name: "c", ID: UUID{4}}, RemoveTopicRecord{TopicID: UUID{4}})
	if _, ok := next.Topics["c"]; ok {
		t.Fatal("topic c survived")
	}
}

func TestConfigSetDelete(t *testing.T) {
	img := baseImage(t)
	img = mustApply(t, img,
		ConfigRecord{ResourceType: ConfigResourceTopic, ResourceName: "a", Name: "retention.ms", Value: ptr("2000")},
		ConfigRecord{ResourceType: ConfigResourceBroker, ResourceName: "2", Name: "k", Value: ptr("v")},
	)
	if img.Topics["a"].Configs["retention.ms"] != "2000" || img.BrokerConfigs["2"]["k"] != "v" {
		t.Fatalf("set: %v %v", img.Topics["a"].Configs, img.BrokerConfigs)
	}
	set := img
	img = mustApply(t, img,
		ConfigRecord{ResourceType: ConfigResourceTopic, ResourceName: "a", Name: "retention.ms"},
		ConfigRecord{ResourceType: ConfigResourceBroker, ResourceName: "2", Name: "k"},
		// Deleting what is not there is not an error (Kafka's replay does the same).
		ConfigRecord{ResourceType: ConfigResourceTopic, ResourceName: "a", Name: "never.set"},
	)
	if len(img.Topics["a"].Configs) != 0 || len(img.BrokerConfigs) != 0 {
		t.Fatalf("delete: %v %v", img.Topics["a"].Configs, img.BrokerConfigs)
	}
	if set.Topics["a"].Configs["retention.ms"] != "2000" || set.BrokerConfigs["2"]["k"] != "v" {
		t.Fatal("delete changed the previous image")
	}
}

func TestApplyOnLiteralImage(t *testing.T) {
	// Images built as literals (nil maps) are usable.
	img := mustApply(t, &Image{ControllerID: -1}, TopicRecord{Name: "x", ID: idA})
	if img.Topics["x"] == nil || img.Brokers == nil || img.BrokerConfigs == nil {
		t.Fatalf("%+v", img)
	}
	empty := mustApply(t, &Image{})
	if empty.Topics == nil || empty.TopicsByID == nil {
		t.Fatal("nil maps")
	}
}

func TestWithOffset(t *testing.T) {
	img := baseImage(t)
	next := img.WithOffset(42)
	if next.Offset != 42 || img.Offset != 0 || next.Topics["a"] != img.Topics["a"] {
		t.Fatal("WithOffset")
	}
}

// TestReassignmentFields checks that a reassignment's adding and removing replicas are
// applied, kept apart from Replicas' invariants, cleared by empty lists, and survive a
// snapshot (Records).
func TestReassignmentFields(t *testing.T) {
	id := UUID{9}
	img, err := Empty().Apply([]Record{
		TopicRecord{Name: "t", ID: id},
		PartitionRecord{TopicID: id, Partition: 0, Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 1},
		PartitionChangeRecord{TopicID: id, Partition: 0, Replicas: []int32{2, 3, 1}, AddingReplicas: []int32{3}, RemovingReplicas: []int32{1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, p, _ := img.Partition("t", 0)
	if !p.Reassigning() || !slices.Equal(p.TargetReplicas(), []int32{2, 3}) || !slices.Equal(p.OriginalReplicas(), []int32{2, 1}) {
		t.Fatalf("reassigning: %+v", p)
	}
	again, err := Empty().Apply(img.Records())
	if err != nil {
		t.Fatal(err)
	}
	if _, q, _ := again.Partition("t", 0); !slices.Equal(q.AddingReplicas, []int32{3}) || !slices.Equal(q.RemovingReplicas, []int32{1}) {
		t.Fatalf("after snapshot: %+v", q)
	}
	for _, bad := range []PartitionChangeRecord{
		{TopicID: id, Partition: 0, AddingReplicas: []int32{4}},
		{TopicID: id, Partition: 0, RemovingReplicas: []int32{3}},
	} {
		if _, err := img.Apply([]Record{bad}); err == nil {
			t.Errorf("%+v applied", bad)
		}
	}
	done, err := img.Apply([]Record{PartitionChangeRecord{TopicID: id, Partition: 0, Replicas: []int32{2, 3}, ISR: []int32{2, 3},
		AddingReplicas: []int32{}, RemovingReplicas: []int32{}, Leader: ptr(int32(2))}})
	if err != nil {
		t.Fatal(err)
	}
	if _, q, _ := done.Partition("t", 0); q.Reassigning() || q.AddingReplicas != nil {
		t.Fatalf("completed: %+v", q)
	}
}

func ptr[T any](v T) *T { return &v }
