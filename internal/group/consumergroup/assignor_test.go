package consumergroup

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// randomSpec builds a spec of n members over topics t0..t(k-1); homogeneous specs subscribe
// everyone to everything.
func randomSpec(rng *rand.Rand, homogeneous bool) AssignmentSpec {
	spec := AssignmentSpec{Topics: map[TopicID]TopicSpec{}}
	numTopics := 1 + rng.IntN(5)
	var all []TopicID
	for i := range numTopics {
		name := fmt.Sprintf("t%d", i)
		spec.Topics[topicID(name)] = TopicSpec{Name: name, Partitions: int32(rng.IntN(20))}
		all = append(all, topicID(name))
	}
	for i := range 1 + rng.IntN(10) {
		m := MemberSpec{MemberID: fmt.Sprintf("m%02d", i)}
		for _, t := range all {
			if homogeneous || rng.IntN(2) == 0 {
				m.Topics = append(m.Topics, t)
			}
		}
		spec.Members = append(spec.Members, m)
	}
	return spec
}

// withCurrent returns spec with each member's Current set from a previous result.
func withCurrent(spec AssignmentSpec, prev map[string]Assignment) AssignmentSpec {
	out := spec
	out.Members = slices.Clone(spec.Members)
	for i := range out.Members {
		out.Members[i].Current = prev[out.Members[i].MemberID]
	}
	return out
}

// checkComplete asserts every partition of every subscribed topic is assigned exactly once,
// to a subscriber, and that every member has an entry.
func checkComplete(t *testing.T, spec AssignmentSpec, got map[string]Assignment) {
	t.Helper()
	owner := map[TopicPartition]string{}
	for _, m := range spec.Members {
		a, ok := got[m.MemberID]
		if !ok {
			t.Fatalf("no entry for %s", m.MemberID)
		}
		for tid, ps := range a {
			if !slices.Contains(m.Topics, tid) {
				t.Fatalf("%s got %s, which it does not subscribe to", m.MemberID, spec.Topics[tid].Name)
			}
			for _, p := range ps {
				tp := TopicPartition{tid, p}
				if p < 0 || p >= spec.Topics[tid].Partitions {
					t.Fatalf("%s got nonexistent partition %v", m.MemberID, tp)
				}
				if o, dup := owner[tp]; dup {
					t.Fatalf("partition %s-%d assigned to %s and %s", spec.Topics[tid].Name, p, o, m.MemberID)
				}
				owner[tp] = m.MemberID
			}
		}
	}
	for tid, ts := range spec.Topics {
		subscribed := false
		for _, m := range spec.Members {
			subscribed = subscribed || slices.Contains(m.Topics, tid)
		}
		for p := range ts.Partitions {
			if _, ok := owner[TopicPartition{tid, p}]; subscribed && !ok {
				t.Fatalf("partition %s-%d unassigned", ts.Name, p)
			}
		}
	}
}

func count(a Assignment) int {
	n := 0
	for _, ps := range a {
		n += len(ps)
	}
	return n
}

// checkUniformBalance asserts no partition could move to another subscriber with a load two
// lower; with homogeneous subscriptions that means loads within one.
func checkUniformBalance(t *testing.T, spec AssignmentSpec, got map[string]Assignment, homogeneous bool) {
	t.Helper()
	load := map[string]int{}
	for id, a := range got {
		load[id] = count(a)
	}
	if homogeneous {
		lo, hi := 1<<30, -1
		for _, l := range load {
			lo, hi = min(lo, l), max(hi, l)
		}
		if hi-lo > 1 {
			t.Fatalf("loads differ by %d: %v", hi-lo, load)
		}
		return
	}
	for _, m := range spec.Members {
		for tid := range got[m.MemberID] {
			for _, o := range spec.Members {
				if slices.Contains(o.Topics, tid) && load[o.MemberID]+1 < load[m.MemberID] {
					t.Fatalf("%s (load %d) could give a partition of %s to %s (load %d)",
						m.MemberID, load[m.MemberID], spec.Topics[tid].Name, o.MemberID, load[o.MemberID])
				}
			}
		}
	}
}

func TestAssignorsProperties(t *testing.T) {
	for _, as := range []Assignor{UniformAssignor{}, RangeAssignor{}} {
		for seed := range uint64(300) {
			homogeneous := seed%2 == 0
			t.Run(fmt.Sprintf("%s/%d", as.Name(), seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 7))
				spec := randomSpec(rng, homogeneous)
				first := as.Assign(spec)
				checkComplete(t, spec, first)
				// Determinism.
				if again := as.Assign(spec); !reflect.DeepEqual(first, again) {
					t.Fatalf("not deterministic:\n%v\n%v", first, again)
				}
				if as.Name() == UniformAssignorName {
					checkUniformBalance(t, spec, first, homogeneous)
				}
				// A second round from the first result, with one member gone and one new.
				next := withCurrent(spec, first)
				next.Members = append(next.Members[1:], MemberSpec{MemberID: "zz", Topics: spec.Members[0].Topics})
				second := as.Assign(next)
				checkComplete(t, next, second)
				if as.Name() == UniformAssignorName {
					checkUniformBalance(t, next, second, homogeneous)
				}
			})
		}
	}
}

// TestUniformStickyOnJoin: when a member joins a balanced homogeneous group, the others only
// give partitions up (never receive others'), and only as many as balance requires.
func TestUniformStickyOnJoin(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 11))
		spec := randomSpec(rng, true)
		before := UniformAssignor{}.Assign(spec)
		next := withCurrent(spec, before)
		next.Members = append(next.Members, MemberSpec{MemberID: "zz", Topics: spec.Members[0].Topics})
		after := UniformAssignor{}.Assign(next)
		checkComplete(t, next, after)
		total := 0
		for _, a := range before {
			total += count(a)
		}
		quota := total / len(next.Members)
		for _, m := range spec.Members {
			old := setFromAssignment(before[m.MemberID])
			now := setFromAssignment(after[m.MemberID])
			for tp := range now {
				if !old.has(tp) {
					t.Fatalf("seed %d: %s received %v on someone else's join", seed, m.MemberID, tp)
				}
			}
			if len(now) < min(len(old), quota) {
				t.Fatalf("seed %d: %s kept %d of %d, quota %d", seed, m.MemberID, len(now), len(old), quota)
			}
		}
	}
}

// TestUniformStickyOnLeave: when a member leaves, the others keep everything they had.
func TestUniformStickyOnLeave(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 13))
		spec := randomSpec(rng, seed%2 == 0)
		before := UniformAssignor{}.Assign(spec)
		next := withCurrent(spec, before)
		next.Members = next.Members[1:]
		after := UniformAssignor{}.Assign(next)
		checkComplete(t, next, after)
		if seed%2 != 0 {
			continue // heterogeneous: rebalancing may legitimately move partitions
		}
		for _, m := range next.Members {
			now := setFromAssignment(after[m.MemberID])
			for tp := range setFromAssignment(before[m.MemberID]) {
				if !now.has(tp) {
					t.Fatalf("seed %d: %s lost %v when another member left", seed, m.MemberID, tp)
				}
			}
		}
	}
}

func TestUniformHeterogeneous(t *testing.T) {
	// a subscribes to t1 only, b and c to t1 and t2: a should not be starved by t1 going
	// to b and c, and t2 can only go to b and c.
	spec := AssignmentSpec{
		Topics: map[TopicID]TopicSpec{topicID("t1"): {"t1", 3}, topicID("t2"): {"t2", 3}},
		Members: []MemberSpec{
			{MemberID: "a", Topics: []TopicID{topicID("t1")}},
			{MemberID: "b", Topics: []TopicID{topicID("t1"), topicID("t2")}},
			{MemberID: "c", Topics: []TopicID{topicID("t1"), topicID("t2")}},
		},
	}
	got := UniformAssignor{}.Assign(spec)
	checkComplete(t, spec, got)
	for _, id := range []string{"a", "b", "c"} {
		if count(got[id]) != 2 {
			t.Fatalf("%s got %v", id, got[id])
		}
	}
	if len(got["a"][topicID("t1")]) != 2 {
		t.Fatalf("a got %v", got["a"])
	}
}

func TestRangeFreshAndCopartitioned(t *testing.T) {
	t1, t2, t3 := topicID("t1"), topicID("t2"), topicID("t3")
	spec := AssignmentSpec{
		Topics: map[TopicID]TopicSpec{t1: {"t1", 7}, t2: {"t2", 7}, t3: {"t3", 2}},
		Members: []MemberSpec{
			{MemberID: "a", Topics: []TopicID{t1, t2, t3}},
			{MemberID: "b", Topics: []TopicID{t1, t2, t3}},
			{MemberID: "c", Topics: []TopicID{t1, t2}},
		},
	}
	got := RangeAssignor{}.Assign(spec)
	checkComplete(t, spec, got)
	want := map[string]Assignment{
		"a": {t1: {0, 1, 2}, t2: {0, 1, 2}, t3: {0}},
		"b": {t1: {3, 4}, t2: {3, 4}, t3: {1}},
		"c": {t1: {5, 6}, t2: {5, 6}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	// Members come and go; t1 and t2 stay co-partitioned and members keep their quota.
	members := slices.Clone(spec.Members)
	for round, change := range []func(){
		func() { members = append(members, MemberSpec{MemberID: "d", Topics: []TopicID{t1, t2}}) },
		func() { members = members[1:] },
		func() { members = append(members, MemberSpec{MemberID: "0", Topics: []TopicID{t1, t2, t3}}) },
	} {
		change()
		next := withCurrent(AssignmentSpec{Topics: spec.Topics, Members: members}, got)
		slices.SortFunc(next.Members, func(a, b MemberSpec) int {
			if a.MemberID < b.MemberID {
				return -1
			}
			return 1
		})
		after := RangeAssignor{}.Assign(next)
		checkComplete(t, next, after)
		n := 0
		for _, m := range next.Members {
			if !slices.Equal(after[m.MemberID][t1], after[m.MemberID][t2]) {
				t.Fatalf("round %d: t1 and t2 not co-partitioned for %s: %v", round, m.MemberID, after[m.MemberID])
			}
			if slices.Contains(m.Topics, t1) {
				n++
			}
		}
		quota := 7 / n
		for _, m := range next.Members {
			kept := 0
			for _, p := range after[m.MemberID][t1] {
				if slices.Contains(got[m.MemberID][t1], p) {
					kept++
				}
			}
			if kept < min(len(got[m.MemberID][t1]), quota) {
				t.Fatalf("round %d: %s kept %d of %v", round, m.MemberID, kept, got[m.MemberID][t1])
			}
		}
		got = after
	}
}
