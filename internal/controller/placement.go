package controller

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/metadata"
)

// replicaPlacer chooses the replicas of new partitions. The first replica of each is the
// preferred leader.
//
// newPlacer chooses the implementation: rackAwarePlacer, which falls back to round-robin when
// no broker has a rack.
type replicaPlacer interface {
	// place returns count replica lists of rf distinct brokers each, for partitions
	// firstPartition, firstPartition+1, ... brokers are the usable (unfenced) brokers, sorted
	// by id. It fails with INVALID_REPLICATION_FACTOR when rf cannot be met.
	place(brokers []metadata.Broker, firstPartition, count int32, rf int16) ([][]int32, error)
}

// usableBrokers returns the registered, unfenced brokers, sorted by id.
func usableBrokers(img *metadata.Image) []metadata.Broker {
	var bs []metadata.Broker
	for _, b := range img.Brokers {
		if !b.Fenced {
			bs = append(bs, b)
		}
	}
	slices.SortFunc(bs, func(a, b metadata.Broker) int { return int(a.ID) - int(b.ID) })
	return bs
}

// roundRobinPlacer spreads partitions over the brokers round-robin, starting at a random
// broker (so that many small topics do not all lead on the lowest broker id). Followers of
// partition p are the brokers after its leader, shifted by one more each time the leaders wrap
// around, so that the followers of one broker's partitions spread over the others.
type roundRobinPlacer struct {
	// start, when set (by tests), replaces the random starting broker.
	start func(n int) int
}

func (p roundRobinPlacer) place(brokers []metadata.Broker, firstPartition, count int32, rf int16) ([][]int32, error) {
	n := len(brokers)
	if n == 0 {
		return nil, fail(kerr.InvalidReplicationFactor, "All brokers are currently fenced.")
	}
	if int(rf) > n {
		return nil, fail(kerr.InvalidReplicationFactor, fmt.Sprintf(
			"Unable to replicate the partition %d time(s): The target replication factor of %d cannot be reached because only %d broker(s) are registered.",
			rf, rf, n))
	}
	start := 0
	if p.start != nil {
		start = p.start(n)
	} else {
		start = rand.IntN(n)
	}
	out := make([][]int32, count)
	for i := range out {
		pid := int(firstPartition) + i
		leader := (start + pid) % n
		shift := 0
		if n > 1 {
			shift = (pid / n) % (n - 1)
		}
		replicas := make([]int32, rf)
		replicas[0] = brokers[leader].ID
		for j := 1; j < int(rf); j++ {
			// (shift+j-1) % (n-1) takes rf-1 distinct values in [0, n-2], so the followers are
			// distinct and never the leader.
			replicas[j] = brokers[(leader+1+(shift+j-1)%(n-1))%n].ID
		}
		out[i] = replicas
	}
	return out, nil
}

func newPlacer() replicaPlacer { return rackAwarePlacer{} }

// rackAwarePlacer puts the replicas of each partition on distinct racks when there are enough
// racks (Kafka's rack-aware assignment). It orders the brokers so that racks alternate (the
// first broker of each rack, then the second of each, ...), spreads leaders over that order
// round-robin from a random start, and picks each follower as the next broker in the order
// whose rack the partition does not use yet, or, once every rack is used, the next broker not
// used yet. Brokers without a rack count as one rack, "". With a single rack it is the
// round-robin placer.
type rackAwarePlacer struct {
	// start, when set (by tests), replaces the random starting broker.
	start func(n int) int
}

func (p rackAwarePlacer) place(brokers []metadata.Broker, firstPartition, count int32, rf int16) ([][]int32, error) {
	byRack := map[string][]metadata.Broker{}
	var racks []string
	for _, b := range brokers {
		if _, ok := byRack[b.Rack]; !ok {
			racks = append(racks, b.Rack)
		}
		byRack[b.Rack] = append(byRack[b.Rack], b)
	}
	if len(racks) <= 1 {
		return roundRobinPlacer{start: p.start}.place(brokers, firstPartition, count, rf)
	}
	n := len(brokers)
	if int(rf) > n {
		return nil, fail(kerr.InvalidReplicationFactor, fmt.Sprintf(
			"Unable to replicate the partition %d time(s): The target replication factor of %d cannot be reached because only %d broker(s) are registered.",
			rf, rf, n))
	}
	slices.Sort(racks)
	ordered := make([]metadata.Broker, 0, n)
	for i := 0; len(ordered) < n; i++ {
		for _, r := range racks {
			if i < len(byRack[r]) {
				ordered = append(ordered, byRack[r][i])
			}
		}
	}
	start := 0
	if p.start != nil {
		start = p.start(n)
	} else {
		start = rand.IntN(n)
	}
	out := make([][]int32, count)
	for i := range out {
		pid := int(firstPartition) + i
		leader := (start + pid) % n
		shift := (pid / n) % n
		replicas := []int32{ordered[leader].ID}
		usedRacks := map[string]bool{ordered[leader].Rack: true}
		used := map[int32]bool{ordered[leader].ID: true}
		for k := 1; len(replicas) < int(rf) && k < 2*n+1; k++ {
			b := ordered[(leader+shift+k)%n]
			if used[b.ID] || (usedRacks[b.Rack] && len(usedRacks) < len(racks)) {
				continue
			}
			replicas = append(replicas, b.ID)
			used[b.ID], usedRacks[b.Rack] = true, true
		}
		for k := 1; len(replicas) < int(rf); k++ { // cannot loop forever: rf <= n
			if b := ordered[(leader+k)%n]; !used[b.ID] {
				replicas = append(replicas, b.ID)
				used[b.ID] = true
			}
		}
		out[i] = replicas
	}
	return out, nil
}
