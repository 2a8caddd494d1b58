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
// Rack awareness belongs in another implementation of this interface (as Kafka's
// StripedReplicaPlacer places replicas on alternating racks); the brokers passed in carry their
// Rack already. Choose the implementation in Start.
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
