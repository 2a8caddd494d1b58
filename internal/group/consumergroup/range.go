package consumergroup

import "slices"

// RangeAssignor is the "range" server assignor (Kafka's server-side RangeAssignor). Topic by
// topic, the subscribers in member id order share the partitions in contiguous ranges: with
// P partitions and N subscribers each gets P/N, and the first P%N one more. Topics with the
// same subscribers and the same partition count are therefore co-partitioned: member i gets
// the same partition numbers of each, which joins across topics rely on.
//
// Like Kafka's, it is sticky within that quota: a member first keeps the partitions of its
// current target (up to its quota, or quota+1 while extra partitions remain), and only the
// rest is handed out in ranges. Because every topic is processed alike, co-partitioned
// topics stay co-partitioned as members come and go.
type RangeAssignor struct{}

// Name implements Assignor.
func (RangeAssignor) Name() string { return RangeAssignorName }

// Assign implements Assignor.
func (RangeAssignor) Assign(spec AssignmentSpec) map[string]Assignment {
	out := make(map[string]Assignment, len(spec.Members))
	for _, m := range spec.Members {
		out[m.MemberID] = Assignment{}
	}
	for _, t := range sortedTopics(spec) {
		var subs []int
		for i, m := range spec.Members {
			if slices.Contains(m.Topics, t) {
				subs = append(subs, i)
			}
		}
		if len(subs) == 0 {
			continue
		}
		numParts := spec.Topics[t].Partitions
		quota := int(numParts) / len(subs)
		extra := int(numParts) % len(subs)
		taken := make([]bool, numParts)
		kept := make([][]int32, len(subs))
		hasExtra := make([]bool, len(subs))
		for k, i := range subs {
			for _, p := range spec.Members[i].Current[t] {
				if p < 0 || p >= numParts || taken[p] {
					continue
				}
				switch {
				case len(kept[k]) < quota:
				case len(kept[k]) == quota && extra > 0 && !hasExtra[k]:
					hasExtra[k] = true
					extra--
				default:
					continue
				}
				taken[p] = true
				kept[k] = append(kept[k], p)
			}
		}
		next := int32(0)
		for k := range subs {
			want := quota
			if !hasExtra[k] && extra > 0 {
				hasExtra[k] = true
				extra--
				want++
			}
			for len(kept[k]) < want {
				for taken[next] {
					next++
				}
				taken[next] = true
				kept[k] = append(kept[k], next)
			}
		}
		for k, i := range subs {
			if len(kept[k]) == 0 {
				continue
			}
			ps := slices.Clone(kept[k])
			slices.Sort(ps)
			out[spec.Members[i].MemberID][t] = ps
		}
	}
	return out
}
