package consumergroup

import (
	"cmp"
	"slices"
)

// UniformAssignor is the "uniform" server assignor (Kafka's UniformAssignor, which the Java
// and franz-go clients map their sticky balancers to). It spreads partitions so that member
// loads differ by at most one where subscriptions allow it, and it is sticky: a member keeps
// the partitions of its current target unless they must move for balance.
//
// It handles homogeneous and heterogeneous subscriptions with one algorithm:
//
//  1. keep: every member keeps the partitions of its current target that still exist and
//     that it still subscribes to (the first member in id order wins a duplicate);
//  2. fill: each unassigned partition goes to its least-loaded subscriber, the partitions
//     with the fewest subscribers placed first;
//  3. balance: while some partition can move from its owner to a subscriber whose load is at
//     least two lower, move it (the owner's highest-numbered partition first). Each move
//     lowers the sum of squared loads, so this ends; when every member subscribes to every
//     topic it leaves loads within one of each other.
type UniformAssignor struct{}

// Name implements Assignor.
func (UniformAssignor) Name() string { return UniformAssignorName }

// Assign implements Assignor.
func (UniformAssignor) Assign(spec AssignmentSpec) map[string]Assignment {
	n := len(spec.Members)
	// subscribers[topic] are member indexes in id order.
	subscribers := map[TopicID][]int{}
	for i, m := range spec.Members {
		for _, t := range m.Topics {
			if _, ok := spec.Topics[t]; ok {
				subscribers[t] = append(subscribers[t], i)
			}
		}
	}
	subscribes := func(i int, t TopicID) bool {
		_, found := slices.BinarySearch(subscribers[t], i)
		return found
	}

	owner := map[TopicPartition]int{}
	owned := make([][]TopicPartition, n) // per member, kept sorted by partitionLess
	load := func(i int) int { return len(owned[i]) }
	order := sortedTopics(spec)
	rank := make(map[TopicID]int, len(order))
	for i, t := range order {
		rank[t] = i
	}
	partitionLess := func(a, b TopicPartition) int {
		if c := cmp.Compare(rank[a.Topic], rank[b.Topic]); c != 0 {
			return c
		}
		return cmp.Compare(a.Partition, b.Partition)
	}
	give := func(i int, tp TopicPartition) {
		owner[tp] = i
		pos, _ := slices.BinarySearchFunc(owned[i], tp, partitionLess)
		owned[i] = slices.Insert(owned[i], pos, tp)
	}

	// 1. keep.
	for i, m := range spec.Members {
		for _, t := range sortedKeys(m.Current) {
			ts, ok := spec.Topics[t]
			if !ok || !subscribes(i, t) {
				continue
			}
			for _, p := range m.Current[t] {
				tp := TopicPartition{t, p}
				if p < 0 || p >= ts.Partitions {
					continue
				}
				if _, taken := owner[tp]; taken {
					continue
				}
				give(i, tp)
			}
		}
	}

	// 2. fill.
	var unassigned []TopicPartition
	for _, t := range order {
		if len(subscribers[t]) == 0 {
			continue
		}
		for p := range spec.Topics[t].Partitions {
			tp := TopicPartition{t, p}
			if _, taken := owner[tp]; !taken {
				unassigned = append(unassigned, tp)
			}
		}
	}
	slices.SortStableFunc(unassigned, func(a, b TopicPartition) int {
		return cmp.Compare(len(subscribers[a.Topic]), len(subscribers[b.Topic]))
	})
	leastLoaded := func(t TopicID) int {
		best := -1
		for _, i := range subscribers[t] {
			if best < 0 || load(i) < load(best) {
				best = i
			}
		}
		return best
	}
	for _, tp := range unassigned {
		give(leastLoaded(tp.Topic), tp)
	}

	// 3. balance.
	byLoad := make([]int, n)
	for i := range byLoad {
		byLoad[i] = i
	}
	for moved := true; moved; {
		moved = false
		slices.SortStableFunc(byLoad, func(a, b int) int { return cmp.Compare(load(b), load(a)) })
	donors:
		for _, d := range byLoad {
			for k := len(owned[d]) - 1; k >= 0; k-- {
				tp := owned[d][k]
				r := leastLoaded(tp.Topic)
				if load(r)+1 < load(d) {
					owned[d] = slices.Delete(owned[d], k, k+1)
					give(r, tp)
					moved = true
					break donors
				}
			}
		}
	}

	out := make(map[string]Assignment, n)
	for i, m := range spec.Members {
		a := Assignment{}
		for _, tp := range owned[i] {
			a[tp.Topic] = append(a[tp.Topic], tp.Partition)
		}
		for t := range a {
			slices.Sort(a[t])
		}
		out[m.MemberID] = a
	}
	return out
}

// sortedKeys returns an assignment's topic ids in byte order.
func sortedKeys(a Assignment) []TopicID {
	ids := make([]TopicID, 0, len(a))
	for id := range a {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, compareIDs)
	return ids
}
