package replica

import "slices"

// RackAwareSelector is the replica.selector.class value that turns on fetching from followers
// (KIP-392).
const RackAwareSelector = "org.apache.kafka.common.replica.RackAwareReplicaSelector"

// PreferredReadReplica picks the replica a consumer in rack should fetch from at offset
// (KIP-392, Kafka's RackAwareReplicaSelector over the replicas the leader finds viable), or
// -1 to keep reading from this broker: it is not the leader, the rack is empty, no viable
// replica is in the rack, or the leader itself is. A viable follower is in the ISR, has
// fetched at least up to offset (so it can serve it), and is eligible (registered, unfenced,
// reachable by the consumer: the caller's predicate). Among several, the most caught-up wins
// (largest log end offset, then the most recently caught up, then replica order).
func (p *Partition) PreferredReadReplica(rack string, offset int64, rackOf func(id int32) (string, bool)) int32 {
	if rack == "" || rackOf == nil {
		return -1
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.leader != p.nodeID {
		return -1
	}
	if r, ok := rackOf(p.nodeID); ok && r == rack {
		return -1
	}
	best := int32(-1)
	var bestLEO, bestCaughtUp int64
	for _, id := range p.replicas {
		f := p.followers[id]
		if id == p.nodeID || f == nil || !slices.Contains(p.isr, id) || f.leo < offset {
			continue
		}
		if r, ok := rackOf(id); !ok || r != rack {
			continue
		}
		if best < 0 || f.leo > bestLEO || (f.leo == bestLEO && f.lastCaughtUpMs > bestCaughtUp) {
			best, bestLEO, bestCaughtUp = id, f.leo, f.lastCaughtUpMs
		}
	}
	return best
}
