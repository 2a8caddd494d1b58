package admin

import (
	"testing"

	"github.com/gregorhq/gregor/internal/lag"
)

// A partition that stopped committing while its lag grows makes the group STOPPED_GROWING;
// one that stopped with its lag unchanged stays Burrow's ERR.
func TestGroupLagStoppedGrowing(t *testing.T) {
	end := &lag.Commit{Offset: 10, Lag: 5}
	gs := &lag.GroupStatus{Group: "g", Status: lag.Error, TotalLag: 5, Partitions: []*lag.PartitionStatus{
		{Topic: "t", Partition: 0, Status: lag.Stop, Start: end, End: end, CurrentLag: 5, LagSeconds: 3},
	}}
	if got := GroupLagOf(gs); got.Status != "ERR" || got.MaxLagSeconds != 3 || got.Partitions[0].CommittedOffset != 10 {
		t.Fatalf("stopped, lag unchanged: %+v", got)
	}
	gs.Partitions[0].CurrentLag, gs.Partitions[0].LagGrowing = 9, true
	if got := GroupLagOf(gs); got.Status != StatusStoppedGrowing || !got.Partitions[0].LagGrowing {
		t.Fatalf("stopped, lag growing: %+v", got)
	}
}
