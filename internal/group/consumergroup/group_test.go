package consumergroup

import (
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func mustOK(t *testing.T, code int16, msg *string) {
	t.Helper()
	if code != 0 {
		t.Fatalf("error %v: %s", kerr.ErrorForCode(code), deref(msg))
	}
}

func wantErr(t *testing.T, code int16, want *kerr.Error) {
	t.Helper()
	if code != want.Code {
		t.Fatalf("got error %v, want %v", kerr.ErrorForCode(code), want)
	}
}

func TestThreeMembersJoinOneByOne(t *testing.T) {
	h := newHarness(t, DefaultConfig(), map[string]int32{"t": 6})

	// a joins alone: group epoch 1, all six partitions at once.
	r := h.join("a", "t")
	mustOK(t, r.ErrorCode, r.ErrorMessage)
	if r.MemberEpoch != 1 || r.HeartbeatIntervalMillis != 5000 || r.Assignment == nil {
		t.Fatalf("join a: epoch %d interval %d assignment %v", r.MemberEpoch, r.HeartbeatIntervalMillis, r.Assignment)
	}
	if got := h.owned("a", "t"); !slices.Equal(got, []int32{0, 1, 2, 3, 4, 5}) {
		t.Fatalf("a owns %v", got)
	}
	if h.g.State() != StateStable {
		t.Fatalf("state %s", h.g.State())
	}

	// b joins: group epoch 2. b is at the new epoch but gets nothing yet: a still owns
	// everything.
	r = h.join("b", "t")
	mustOK(t, r.ErrorCode, r.ErrorMessage)
	if r.MemberEpoch != 2 || len(h.owned("b", "t")) != 0 {
		t.Fatalf("join b: epoch %d owns %v", r.MemberEpoch, h.owned("b", "t"))
	}
	if h.g.State() != StateReconciling {
		t.Fatalf("state %s", h.g.State())
	}
	// b heartbeats again: still nothing released.
	h.hb("b")
	if len(h.owned("b", "t")) != 0 {
		t.Fatalf("b got partitions a has not released: %v", h.owned("b", "t"))
	}
	// a's heartbeat tells it to revoke half, keeping it at epoch 1 until it confirms.
	r = h.hb("a")
	if r.MemberEpoch != 1 || r.Assignment == nil || len(h.owned("a", "t")) != 3 {
		t.Fatalf("a revoking: epoch %d owns %v", r.MemberEpoch, h.owned("a", "t"))
	}
	kept := h.owned("a", "t")
	// a confirms: it moves to epoch 2.
	if r = h.hb("a"); r.MemberEpoch != 2 {
		t.Fatalf("a after revoking: epoch %d", r.MemberEpoch)
	}
	// Now b gets the released half.
	if r = h.hb("b"); r.Assignment == nil || len(h.owned("b", "t")) != 3 {
		t.Fatalf("b after release: owns %v", h.owned("b", "t"))
	}
	if h.g.State() != StateStable {
		t.Fatalf("state %s", h.g.State())
	}

	// c joins: group epoch 3; everyone settles with two each, a and b keeping partitions.
	r = h.join("c", "t")
	if r.MemberEpoch != 3 {
		t.Fatalf("join c: epoch %d", r.MemberEpoch)
	}
	bBefore := h.owned("b", "t")
	h.settle()
	for _, id := range []string{"a", "b", "c"} {
		if n := len(h.owned(id, "t")); n != 2 {
			t.Fatalf("%s owns %v", id, h.owned(id, "t"))
		}
		if h.clients[id].epoch != 3 {
			t.Fatalf("%s at epoch %d", id, h.clients[id].epoch)
		}
	}
	for _, p := range h.owned("a", "t") {
		if !slices.Contains(kept, p) {
			t.Fatalf("a moved: had %v, has %v", kept, h.owned("a", "t"))
		}
	}
	for _, p := range h.owned("b", "t") {
		if !slices.Contains(bBefore, p) {
			t.Fatalf("b moved: had %v, has %v", bBefore, h.owned("b", "t"))
		}
	}
	if ge, ae := h.g.Epochs(); ge != 3 || ae != 3 {
		t.Fatalf("epochs %d/%d", ge, ae)
	}
}

func TestPartitionWithheldUntilRevoked(t *testing.T) {
	h := newHarness(t, DefaultConfig(), map[string]int32{"t": 4})
	h.join("a", "t")
	h.join("b", "t")
	// a is told to revoke but is slow: its heartbeats keep reporting all four partitions.
	slow := h.clients["a"].owned.clone()
	h.hb("a")
	told := h.clients["a"].owned
	if len(told) != 2 {
		t.Fatalf("a told to keep %v", told)
	}
	h.clients["a"].owned = slow
	for range 3 {
		r := h.hb("a")
		if r.MemberEpoch != 1 {
			t.Fatalf("a moved to epoch %d before revoking", r.MemberEpoch)
		}
		h.clients["a"].owned = slow
		h.hb("b")
		if len(h.owned("b", "t")) != 0 {
			t.Fatalf("b got %v while a still owns them", h.owned("b", "t"))
		}
	}
	// A keepalive (Topics null) does not count as revoking either.
	req := h.hbReq(h.clients["a"])
	req.Topics = nil
	if r := h.send(nil, req); r.MemberEpoch != 1 || r.Assignment != nil {
		t.Fatalf("keepalive: epoch %d assignment %v", r.MemberEpoch, r.Assignment)
	}
	// a revokes for real.
	h.clients["a"].owned = told
	h.settle()
	if len(h.owned("a", "t")) != 2 || len(h.owned("b", "t")) != 2 {
		t.Fatalf("a %v b %v", h.owned("a", "t"), h.owned("b", "t"))
	}
}

func TestMemberLeaves(t *testing.T) {
	h := newHarness(t, DefaultConfig(), map[string]int32{"t": 6})
	h.join("a", "t")
	h.join("b", "t")
	h.join("c", "t")
	h.settle()
	aBefore, cBefore := h.owned("a", "t"), h.owned("c", "t")
	ge, _ := h.g.Epochs()
	r := h.leave("b", -1)
	mustOK(t, r.ErrorCode, r.ErrorMessage)
	if r.MemberEpoch != -1 || deref(r.MemberID) != "b" {
		t.Fatalf("leave response: %+v", r)
	}
	if ge2, _ := h.g.Epochs(); ge2 != ge+1 {
		t.Fatalf("group epoch %d after leave, was %d", ge2, ge)
	}
	h.settle()
	if len(h.owned("a", "t")) != 3 || len(h.owned("c", "t")) != 3 {
		t.Fatalf("a %v c %v", h.owned("a", "t"), h.owned("c", "t"))
	}
	for _, p := range aBefore {
		if !slices.Contains(h.owned("a", "t"), p) {
			t.Fatalf("a lost %d", p)
		}
	}
	for _, p := range cBefore {
		if !slices.Contains(h.owned("c", "t"), p) {
			t.Fatalf("c lost %d", p)
		}
	}
	// b is gone.
	r = h.send(nil, h.hbReq(&client{id: "b", epoch: 2}))
	wantErr(t, r.ErrorCode, kerr.UnknownMemberID)
}

func TestSessionTimeout(t *testing.T) {
	h := newHarness(t, DefaultConfig(), map[string]int32{"t": 4})
	h.join("a", "t")
	h.join("b", "t")
	h.settle()
	joinedAt := h.now
	if d := h.g.NextDeadline(); !d.Equal(joinedAt.Add(45 * time.Second)) {
		t.Fatalf("next deadline %v, want %v", d, joinedAt.Add(45*time.Second))
	}
	// a keeps heartbeating, b goes quiet.
	h.advance(30 * time.Second)
	h.hb("a")
	if h.g.Expire(h.now) {
		t.Fatal("expired before the session timeout")
	}
	if d := h.g.NextDeadline(); !d.Equal(joinedAt.Add(45 * time.Second)) {
		t.Fatalf("next deadline %v", d)
	}
	h.advance(15 * time.Second)
	if !h.g.Expire(h.now) {
		t.Fatal("b not expired at its session timeout")
	}
	delete(h.clients, "b")
	h.settle()
	if len(h.owned("a", "t")) != 4 {
		t.Fatalf("a owns %v", h.owned("a", "t"))
	}
	h.advance(45 * time.Second)
	if !h.g.Expire(h.now) || !h.g.IsEmpty() || h.g.State() != StateEmpty {
		t.Fatalf("a not expired: state %s", h.g.State())
	}
	if !h.g.NextDeadline().IsZero() {
		t.Fatal("deadline in an empty group")
	}
}

func TestRebalanceTimeoutFencesMember(t *testing.T) {
	h := newHarness(t, DefaultConfig(), map[string]int32{"t": 4})
	req := h.joinReq("a", "t")
	req.RebalanceTimeoutMillis = 10_000
	h.clients["a"] = &client{id: "a"}
	h.send(h.clients["a"], req)
	h.join("b", "t")

	// a is told to revoke and never does, though it keeps heartbeating.
	slow := h.clients["a"].owned.clone()
	h.hb("a")
	h.clients["a"].owned = slow
	if d := h.g.NextDeadline(); !d.Equal(h.now.Add(10 * time.Second)) {
		t.Fatalf("next deadline %v, want the rebalance timeout", d)
	}
	h.advance(9 * time.Second)
	h.hb("a")
	h.clients["a"].owned = slow
	if h.g.Expire(h.now) {
		t.Fatal("fenced before the rebalance timeout")
	}
	h.advance(time.Second)
	if !h.g.Expire(h.now) {
		t.Fatal("a not fenced at its rebalance timeout")
	}
	r := h.hb("a")
	wantErr(t, r.ErrorCode, kerr.UnknownMemberID)
	delete(h.clients, "a")
	h.settle()
	if len(h.owned("b", "t")) != 4 {
		t.Fatalf("b owns %v", h.owned("b", "t"))
	}
}

func TestStaticMemberTemporaryLeave(t *testing.T) {
	h := newHarness(t, DefaultConfig(), map[string]int32{"t": 6})
	h.joinStatic("a1", "i-a", "t")
	h.joinStatic("b1", "i-b", "t")
	h.settle()
	aOwned := h.owned("a1", "t")
	ge, _ := h.g.Epochs()

	r := h.leave("a1", -2)
	mustOK(t, r.ErrorCode, r.ErrorMessage)
	if r.MemberEpoch != -2 {
		t.Fatalf("static leave echoed epoch %d", r.MemberEpoch)
	}
	if ge2, _ := h.g.Epochs(); ge2 != ge {
		t.Fatalf("group epoch moved on a static leave: %d -> %d", ge, ge2)
	}
	d := h.g.Describe()
	if d.Members[0].MemberID != "a1" || d.Members[0].MemberEpoch != -2 {
		t.Fatalf("describe after static leave: %+v", d.Members[0])
	}
	// b is not given a's partitions meanwhile.
	h.hb("b1")
	if len(h.owned("b1", "t")) != 3 {
		t.Fatalf("b owns %v", h.owned("b1", "t"))
	}

	// The instance restarts with a new member id within the session timeout.
	h.advance(20 * time.Second)
	r = h.joinStatic("a2", "i-a", "t")
	mustOK(t, r.ErrorCode, r.ErrorMessage)
	if got := h.owned("a2", "t"); !slices.Equal(got, aOwned) {
		t.Fatalf("rejoined instance owns %v, had %v", got, aOwned)
	}
	if ge2, _ := h.g.Epochs(); ge2 != ge || r.MemberEpoch != ge {
		t.Fatalf("group epoch %d member epoch %d, want %d", ge2, r.MemberEpoch, ge)
	}
	if h.g.State() != StateStable {
		t.Fatalf("state %s", h.g.State())
	}
	// The old member id is fenced.
	old := &client{id: "a1", epoch: ge, instance: ptr("i-a")}
	wantErr(t, h.send(nil, h.hbReq(old)).ErrorCode, kerr.FencedInstanceID)
}

func TestStaticMemberSessionExpiresAfterLeave(t *testing.T) {
	h := newHarness(t, DefaultConfig(), map[string]int32{"t": 2})
	h.joinStatic("a1", "i-a", "t")
	h.joinStatic("b1", "i-b", "t")
	h.settle()
	h.leave("a1", -2)
	h.advance(45 * time.Second)
	h.hb("b1")
	if !h.g.Expire(h.now) {
		t.Fatal("static member not expired")
	}
	h.settle()
	if len(h.owned("b1", "t")) != 2 {
		t.Fatalf("b owns %v", h.owned("b1", "t"))
	}
	// The instance id is free again: a new member may take it, as a new member.
	r := h.joinStatic("a2", "i-a", "t")
	mustOK(t, r.ErrorCode, r.ErrorMessage)
}

func TestDuplicateInstanceID(t *testing.T) {
	h := newHarness(t, DefaultConfig(), map[string]int32{"t": 2})
	h.joinStatic("a1", "i-a", "t")
	// Another process with the same group.instance.id while the first is still in.
	r := h.joinStatic("x", "i-a", "t")
	wantErr(t, r.ErrorCode, kerr.UnreleasedInstanceID)
	delete(h.clients, "x")
	// A heartbeat for the instance from another member id is fenced.
	wantErr(t, h.send(nil, h.hbReq(&client{id: "x", epoch: 1, instance: ptr("i-a")})).ErrorCode, kerr.FencedInstanceID)
	// So is its leave.
	c := &client{id: "x", instance: ptr("i-a")}
	req := h.hbReq(c)
	req.MemberEpoch = -1
	wantErr(t, h.send(nil, req).ErrorCode, kerr.FencedInstanceID)
	// A heartbeat for an unknown instance.
	wantErr(t, h.send(nil, h.hbReq(&client{id: "y", epoch: 1, instance: ptr("i-y")})).ErrorCode, kerr.UnknownMemberID)
	// The same member rejoining with epoch 0 (after an error) keeps its place.
	r = h.joinStatic("a1", "i-a", "t")
	mustOK(t, r.ErrorCode, r.ErrorMessage)
	if r.MemberEpoch != 1 || len(h.owned("a1", "t")) != 2 {
		t.Fatalf("rejoin: epoch %d owns %v", r.MemberEpoch, h.owned("a1", "t"))
	}
}

func TestFencedMemberEpoch(t *testing.T) {
	h := newHarness(t, DefaultConfig(), map[string]int32{"t": 4})
	h.join("a", "t")
	h.join("b", "t")
	h.settle() // a: epoch 1 -> 2, previous 1.
	a := h.clients["a"]
	if a.epoch != 2 {
		t.Fatalf("a at epoch %d", a.epoch)
	}
	// Ahead of the coordinator.
	wantErr(t, h.send(nil, h.hbReq(&client{id: "a", epoch: 3, owned: a.owned})).ErrorCode, kerr.FencedMemberEpoch)
	// The previous epoch with a subset of the assignment: the response was lost; accepted.
	r := h.send(nil, h.hbReq(&client{id: "a", epoch: 1, owned: a.owned}))
	mustOK(t, r.ErrorCode, r.ErrorMessage)
	if r.MemberEpoch != 2 {
		t.Fatalf("epoch %d", r.MemberEpoch)
	}
	// The previous epoch owning more than the assignment is fenced.
	more := a.owned.clone()
	for tp := range h.clients["b"].owned {
		more[tp] = struct{}{}
	}
	wantErr(t, h.send(nil, h.hbReq(&client{id: "a", epoch: 1, owned: more})).ErrorCode, kerr.FencedMemberEpoch)
	// A rejoin at epoch 0 with the same member id keeps the member and resends its
	// assignment (franz-go does this after FENCED_MEMBER_EPOCH).
	r = h.send(nil, h.joinReq("a", "t"))
	mustOK(t, r.ErrorCode, r.ErrorMessage)
	if r.MemberEpoch != 2 || r.Assignment == nil || !setFromResp(r).equal(a.owned) {
		t.Fatalf("rejoin: epoch %d assignment %v", r.MemberEpoch, r.Assignment)
	}
}

func setFromResp(r *kmsg.ConsumerGroupHeartbeatResponse) partSet {
	s := partSet{}
	if r.Assignment == nil {
		return s
	}
	for _, t := range r.Assignment.Topics {
		for _, p := range t.Partitions {
			s[TopicPartition{t.TopicID, p}] = struct{}{}
		}
	}
	return s
}

func TestStaticRejoinWithNewSubscriptionRebalances(t *testing.T) {
	h := newHarness(t, DefaultConfig(), map[string]int32{"t1": 2, "t2": 2})
	h.joinStatic("a1", "i-a", "t1")
	h.settle()
	ge, _ := h.g.Epochs()
	h.leave("a1", -2)
	r := h.joinStatic("a2", "i-a", "t1", "t2")
	mustOK(t, r.ErrorCode, r.ErrorMessage)
	if ge2, _ := h.g.Epochs(); ge2 != ge+1 {
		t.Fatalf("group epoch %d, want %d", ge2, ge+1)
	}
	h.settle()
	if len(h.clients["a2"].owned) != 4 {
		t.Fatalf("a2 owns %v", h.clients["a2"].owned)
	}
}
