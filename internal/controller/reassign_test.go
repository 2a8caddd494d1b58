package controller

import (
	"errors"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/metadata"
)

// TestReassignPlan walks reassignments through the states Kafka's controller gives them:
// start, catch up (AlterPartition), complete, replace, cancel.
func TestReassignPlan(t *testing.T) {
	id := metadata.UUID{7}
	img, err := metadata.Empty().Apply([]metadata.Record{
		metadata.BrokerRecord{ID: 1}, metadata.BrokerRecord{ID: 2}, metadata.BrokerRecord{ID: 3}, metadata.BrokerRecord{ID: 4},
		metadata.TopicRecord{Name: "t", ID: id},
		metadata.PartitionRecord{TopicID: id, Partition: 0, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}, Leader: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	alive := imageAlive(img)
	part := func(img *metadata.Image) *metadata.Partition { _, p, _ := img.Partition("t", 0); return p }
	apply := func(img *metadata.Image, ch *metadata.PartitionChangeRecord) *metadata.Image {
		t.Helper()
		if ch == nil {
			t.Fatal("no change")
		}
		next, err := img.Apply([]metadata.Record{*ch})
		if err != nil {
			t.Fatal(err)
		}
		return next
	}
	plan := func(img *metadata.Image, target []int32) (*metadata.PartitionChangeRecord, error) {
		return reassignPlan(img, img.Topics["t"], part(img), target, alive)
	}

	// Errors.
	for _, bad := range [][]int32{{}, {1, 1}, {1, 9}} {
		if _, err := plan(img, bad); !errors.Is(err, kerr.InvalidReplicaAssignment) {
			t.Errorf("target %v: %v", bad, err)
		}
	}
	if _, err := plan(img, nil); !errors.Is(err, kerr.NoReassignmentInProgress) {
		t.Errorf("cancel with none: %v", err)
	}

	// Start {1,2,3} -> {2,3,4}: target first, then the removed; the ISR and leader stay.
	ch, err := plan(img, []int32{2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	moving := apply(img, ch)
	p := part(moving)
	if !slices.Equal(p.Replicas, []int32{2, 3, 4, 1}) || !slices.Equal(p.AddingReplicas, []int32{4}) ||
		!slices.Equal(p.RemovingReplicas, []int32{1}) || p.Leader != 1 || !slices.Equal(p.ISR, []int32{1, 2, 3}) {
		t.Fatalf("started: %+v", p)
	}

	// The leader adds 4 to the ISR: the reassignment completes and 1 (the leader) goes.
	ch, err = (&Controller{}).planAlterPartitionForTest(moving, p, []int32{1, 2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	done := apply(moving, ch)
	p = part(done)
	if !slices.Equal(p.Replicas, []int32{2, 3, 4}) || !slices.Equal(p.ISR, []int32{2, 3, 4}) || p.Leader != 2 ||
		p.Reassigning() || p.LeaderEpoch != 1 {
		t.Fatalf("completed: %+v", p)
	}

	// Cancel reverts to the original replicas (without the added ones) and ISR.
	ch, err = plan(moving, nil)
	if err != nil {
		t.Fatal(err)
	}
	p = part(apply(moving, ch))
	if !slices.Equal(p.Replicas, []int32{2, 3, 1}) || !slices.Equal(p.ISR, []int32{1, 2, 3}) || p.Leader != 1 || p.Reassigning() {
		t.Fatalf("cancelled: %+v", p)
	}

	// A new target replaces a running reassignment, starting from the original replicas.
	ch, err = plan(moving, []int32{1, 2, 4})
	if err != nil {
		t.Fatal(err)
	}
	p = part(apply(moving, ch))
	if !slices.Equal(p.Replicas, []int32{1, 2, 4, 3}) || !slices.Equal(p.AddingReplicas, []int32{4}) ||
		!slices.Equal(p.RemovingReplicas, []int32{3}) {
		t.Fatalf("replaced: %+v", p)
	}

	// Only removing replicas that are in the ISR completes at once; the first target replica
	// in the ISR leads.
	ch, err = plan(img, []int32{3, 2})
	if err != nil {
		t.Fatal(err)
	}
	p = part(apply(img, ch))
	if !slices.Equal(p.Replicas, []int32{3, 2}) || !slices.Equal(p.ISR, []int32{2, 3}) || p.Leader != 3 || p.Reassigning() {
		t.Fatalf("shrunk: %+v", p)
	}
}

// planAlterPartitionForTest runs planAlterPartition as the partition's leader.
func (c *Controller) planAlterPartitionForTest(img *metadata.Image, p *metadata.Partition, isr []int32) (*metadata.PartitionChangeRecord, error) {
	c.shuttingDown = map[int32]bool{}
	return c.planAlterPartition(img, p.Leader, img.Topics["t"], p, p.LeaderEpoch, p.Epoch, isr, nil)
}
