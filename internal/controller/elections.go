package controller

import (
	"slices"
	"strconv"

	"github.com/gregorhq/gregor/internal/metadata"
)

// Leader election and ISR decisions (Kafka's PartitionChangeBuilder). They are pure functions
// of an image and a liveness predicate, so that the same rules serve fencing, controlled
// shutdown, unfencing, ElectLeaders and the leader rebalance, and are testable without Raft.
//
// The rules, as in Kafka:
//   - A clean election picks the first replica, in replica order, that is in the ISR and alive.
//   - When a broker leaves (fenced, or in controlled shutdown) it is removed from every ISR,
//     except that an ISR never drops below one member: the last member stays, and the
//     partition is offline (leader -1) until it comes back or an unclean election runs.
//   - An unclean election (unclean.leader.election.enable, or ElectLeaders UNCLEAN) picks the
//     first alive replica when no ISR member is alive; the ISR becomes just that replica.

// aliveFunc reports whether a broker may lead or be in the ISR.
type aliveFunc func(id int32) bool

// uncleanAllowed reports whether unclean.leader.election.enable is on for topic t: the topic
// override, else the cluster-wide dynamic default, else the static broker config.
func (c *Controller) uncleanAllowed(img *metadata.Image, t *metadata.Topic) bool {
	const key = "unclean.leader.election.enable"
	if v, ok := t.Configs[key]; ok {
		b, _ := strconv.ParseBool(v)
		return b
	}
	if v, ok := img.BrokerConfigs[""][key]; ok {
		b, _ := strconv.ParseBool(v)
		return b
	}
	return c.cfg.UncleanLeaderElection
}

// electionPlan returns the change that gives p a valid leader and ISR when the brokers for
// which alive is false are gone, or nil when nothing changes. preferred asks to move
// leadership to the first replica when it is alive and in the ISR; unclean allows an
// out-of-sync replica when no ISR member is alive.
func electionPlan(t *metadata.Topic, p *metadata.Partition, alive aliveFunc, preferred, unclean bool) *metadata.PartitionChangeRecord {
	isr := make([]int32, 0, len(p.ISR))
	for _, id := range p.ISR {
		if alive(id) {
			isr = append(isr, id)
		}
	}
	if len(isr) == 0 && len(p.ISR) > 0 {
		isr = []int32{p.ISR[0]} // keep the last member, as Kafka does
		if slices.Contains(p.ISR, p.Leader) {
			isr = []int32{p.Leader}
		}
	}
	leader := p.Leader
	switch {
	case preferred && len(p.Replicas) > 0 && alive(p.Replicas[0]) && slices.Contains(isr, p.Replicas[0]):
		leader = p.Replicas[0]
	case leader >= 0 && alive(leader) && slices.Contains(isr, leader):
		// keep the current leader
	default:
		leader = -1
		for _, r := range p.Replicas {
			if alive(r) && slices.Contains(isr, r) {
				leader = r
				break
			}
		}
		if leader == -1 && unclean {
			for _, r := range p.Replicas {
				if alive(r) {
					leader = r
					isr = []int32{r}
					break
				}
			}
		}
	}
	if leader == p.Leader && slices.Equal(isr, p.ISR) {
		return nil
	}
	ch := &metadata.PartitionChangeRecord{TopicID: t.ID, Partition: p.ID}
	if leader != p.Leader {
		ch.Leader = &leader
	}
	if !slices.Equal(isr, p.ISR) {
		ch.ISR = isr
	}
	return ch
}

// electAll runs electionPlan over every partition that has one of the given brokers as a
// replica (all partitions when brokers is nil) and returns the changes.
func (c *Controller) electAll(img *metadata.Image, brokers []int32, alive aliveFunc, preferred bool) []metadata.Record {
	var recs []metadata.Record
	for _, name := range img.TopicNames() {
		t := img.Topics[name]
		unclean := c.uncleanAllowed(img, t)
		for i := range t.Partitions {
			p := &t.Partitions[i]
			if brokers != nil && !slices.ContainsFunc(p.Replicas, func(r int32) bool { return slices.Contains(brokers, r) }) {
				continue
			}
			if ch := electionPlan(t, p, alive, preferred, unclean); ch != nil {
				recs = append(recs, *ch)
			}
		}
	}
	return recs
}

// imageAlive is the liveness of brokers as img records it (registered and unfenced), minus the
// given ones.
func imageAlive(img *metadata.Image, gone ...int32) aliveFunc {
	return func(id int32) bool {
		b, ok := img.Brokers[id]
		return ok && !b.Fenced && !slices.Contains(gone, id)
	}
}
