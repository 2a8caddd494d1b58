package consumergroup

import (
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestHeartbeatRequestValidation(t *testing.T) {
	h := newHarness(t, DefaultConfig(), map[string]int32{"t": 1})
	for _, tc := range []struct {
		name   string
		modify func(*kmsg.ConsumerGroupHeartbeatRequest)
		want   *kerr.Error
	}{
		{"v1 join without member id", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberID = "" }, kerr.InvalidRequest},
		{"empty group id", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.Group = "" }, kerr.InvalidRequest},
		{"empty instance id", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.InstanceID = ptr("") }, kerr.InvalidRequest},
		{"empty rack id", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.RackID = ptr("") }, kerr.InvalidRequest},
		{"join without rebalance timeout", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.RebalanceTimeoutMillis = -1 }, kerr.InvalidRequest},
		{"join with null topics", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.Topics = nil }, kerr.InvalidRequest},
		{"join owning partitions", func(r *kmsg.ConsumerGroupHeartbeatRequest) {
			r.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{{TopicID: topicID("t"), Partitions: []int32{0}}}
		}, kerr.InvalidRequest},
		{"join without subscription", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.SubscribedTopicNames = nil }, kerr.InvalidRequest},
		{"static leave without instance id", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberEpoch = -2 }, kerr.InvalidRequest},
		{"epoch below -2", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberEpoch = -3 }, kerr.InvalidRequest},
		{"unsupported assignor", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.ServerAssignor = ptr("cooperative-sticky") }, kerr.UnsupportedAssignor},
		{"bad regex", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.SubscribedTopicRegex = ptr("t(") }, kerr.InvalidRegularExpression},
		{"unknown member", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberEpoch = 1; r.RebalanceTimeoutMillis = -1 }, kerr.UnknownMemberID},
		{"unknown member leaving", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberEpoch = -1 }, kerr.UnknownMemberID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := h.joinReq("m", "t")
			tc.modify(req)
			r := h.send(nil, req)
			wantErr(t, r.ErrorCode, tc.want)
			if r.ErrorMessage == nil || r.MemberID != nil {
				t.Fatalf("error response: message %v member id %v", r.ErrorMessage, r.MemberID)
			}
		})
	}
	if !h.g.IsEmpty() {
		t.Fatal("a refused request added a member")
	}
}

func TestV0JoinGetsMemberID(t *testing.T) {
	h := newHarness(t, DefaultConfig(), map[string]int32{"t": 1})
	req := h.joinReq("", "t")
	req.Version = 0
	r := h.send(nil, req)
	mustOK(t, r.ErrorCode, r.ErrorMessage)
	if r.MemberID == nil || *r.MemberID == "" || r.MemberEpoch != 1 {
		t.Fatalf("v0 join: member id %v epoch %d", r.MemberID, r.MemberEpoch)
	}
}

func TestGroupMaxSize(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxSize = 2
	h := newHarness(t, cfg, map[string]int32{"t": 2})
	h.join("a", "t")
	h.join("b", "t")
	r := h.join("c", "t")
	wantErr(t, r.ErrorCode, kerr.GroupMaxSizeReached)
	delete(h.clients, "c")
	// Members already in may still rejoin.
	mustOK(t, h.send(nil, h.joinReq("a", "t")).ErrorCode, nil)
}

func TestServerAssignorSelection(t *testing.T) {
	h := newHarness(t, DefaultConfig(), map[string]int32{"t": 6})
	h.join("a", "t")
	if d := h.g.Describe(); d.AssignorName != "uniform" {
		t.Fatalf("default assignor %q", d.AssignorName)
	}
	// Members naming "range" win, and the group rebalances with it.
	for _, id := range []string{"b", "c"} {
		req := h.joinReq(id, "t")
		req.ServerAssignor = ptr("range")
		h.clients[id] = &client{id: id}
		mustOK(t, h.send(h.clients[id], req).ErrorCode, nil)
	}
	h.settle()
	d := h.g.Describe()
	if d.AssignorName != "range" {
		t.Fatalf("assignor %q", d.AssignorName)
	}
	// Range is sticky within its quota: a keeps the start of what it had, b what it got
	// when it joined, and c the rest.
	want := map[string][]int32{"a": {0, 1}, "b": {3, 4}, "c": {2, 5}}
	for id, ps := range want {
		if got := h.owned(id, "t"); !slices.Equal(got, ps) {
			t.Fatalf("%s owns %v, want %v", id, got, ps)
		}
	}
}

func TestSubscriptionChange(t *testing.T) {
	h := newHarness(t, DefaultConfig(), map[string]int32{"t1": 2, "t2": 2})
	h.join("a", "t1")
	h.join("b", "t1", "t2")
	h.settle()
	if len(h.owned("b", "t2")) != 2 || len(h.owned("a", "t2")) != 0 {
		t.Fatalf("a %v b %v", h.owned("a", "t2"), h.owned("b", "t2"))
	}
	ge, _ := h.g.Epochs()
	// a subscribes to t2 too.
	req := h.hbReq(h.clients["a"])
	req.SubscribedTopicNames = []string{"t1", "t2"}
	mustOK(t, h.send(h.clients["a"], req).ErrorCode, nil)
	if ge2, _ := h.g.Epochs(); ge2 != ge+1 {
		t.Fatalf("group epoch %d, want %d", ge2, ge+1)
	}
	h.settle()
	if n := len(h.clients["a"].owned); n != 2 {
		t.Fatalf("a owns %v", h.clients["a"].owned)
	}
	// Resending the same subscription changes nothing.
	ge, _ = h.g.Epochs()
	req = h.hbReq(h.clients["a"])
	req.SubscribedTopicNames = []string{"t2", "t1"}
	mustOK(t, h.send(h.clients["a"], req).ErrorCode, nil)
	if ge2, _ := h.g.Epochs(); ge2 != ge {
		t.Fatalf("group epoch moved on an unchanged subscription")
	}
	// b unsubscribes from everything: it keeps its place, owns nothing.
	req = h.hbReq(h.clients["b"])
	req.SubscribedTopicNames = []string{}
	mustOK(t, h.send(h.clients["b"], req).ErrorCode, nil)
	h.settle()
	if len(h.clients["b"].owned) != 0 || len(h.clients["a"].owned) != 4 {
		t.Fatalf("a %v b %v", h.clients["a"].owned, h.clients["b"].owned)
	}
}

func TestPartitionCountIncrease(t *testing.T) {
	h := newHarness(t, DefaultConfig(), map[string]int32{"t": 4, "other": 1})
	h.join("a", "t")
	h.join("b", "t")
	h.settle()
	ge, _ := h.g.Epochs()
	if h.setTopics(map[string]int32{"t": 4, "other": 3}) {
		t.Fatal("a topic nobody subscribes to bumped the group epoch")
	}
	if !h.setTopics(map[string]int32{"t": 8, "other": 3}) {
		t.Fatal("partition count increase did not bump the group epoch")
	}
	if ge2, _ := h.g.Epochs(); ge2 != ge+1 {
		t.Fatalf("group epoch %d, want %d", ge2, ge+1)
	}
	h.settle()
	if len(h.owned("a", "t")) != 4 || len(h.owned("b", "t")) != 4 {
		t.Fatalf("a %v b %v", h.owned("a", "t"), h.owned("b", "t"))
	}
	// The topic is deleted: the members are told to drop it.
	h.setTopics(map[string]int32{"other": 3})
	h.settle()
	if len(h.clients["a"].owned)+len(h.clients["b"].owned) != 0 {
		t.Fatalf("deleted topic still owned")
	}
}

func TestRegexSubscription(t *testing.T) {
	h := newHarness(t, DefaultConfig(), map[string]int32{"orders-eu": 2, "payments": 2})
	req := h.joinReq("a")
	req.SubscribedTopicNames = nil
	req.SubscribedTopicRegex = ptr("orders-.*")
	h.clients["a"] = &client{id: "a"}
	mustOK(t, h.send(h.clients["a"], req).ErrorCode, nil)
	if len(h.owned("a", "orders-eu")) != 2 || len(h.clients["a"].owned) != 2 {
		t.Fatalf("a owns %v", h.clients["a"].owned)
	}
	// A new matching topic is picked up.
	if !h.setTopics(map[string]int32{"orders-eu": 2, "orders-us": 1, "payments": 2}) {
		t.Fatal("new matching topic did not bump the group epoch")
	}
	h.settle()
	if len(h.clients["a"].owned) != 3 {
		t.Fatalf("a owns %v", h.clients["a"].owned)
	}
	// The regex must match the whole name, as Kafka's does.
	if h.setTopics(map[string]int32{"orders-eu": 2, "orders-us": 1, "payments": 2, "x-orders-": 1}) {
		t.Fatal("a partial match bumped the group epoch")
	}
	d := h.g.Describe()
	if deref(d.Members[0].SubscribedTopicRegex) != "orders-.*" {
		t.Fatalf("described regex %v", d.Members[0].SubscribedTopicRegex)
	}
}

func TestDescribe(t *testing.T) {
	h := newHarness(t, DefaultConfig(), map[string]int32{"t": 2})
	if d := h.g.Describe(); d.State != StateEmpty || d.Epoch != 0 || len(d.Members) != 0 {
		t.Fatalf("empty group: %+v", d)
	}
	req := h.joinReq("a", "t")
	req.InstanceID = ptr("i-a")
	req.RackID = ptr("r1")
	h.clients["a"] = &client{id: "a", instance: ptr("i-a")}
	h.send(h.clients["a"], req)
	h.join("b", "t")
	d := h.g.Describe()
	if d.Group != "g" || d.State != StateReconciling || d.Epoch != 2 || d.AssignmentEpoch != 2 || d.AssignorName != "uniform" {
		t.Fatalf("group: %+v", d)
	}
	a, b := d.Members[0], d.Members[1]
	if a.MemberID != "a" || deref(a.InstanceID) != "i-a" || deref(a.RackID) != "r1" || a.ClientID != "client-a" ||
		a.ClientHost != "/127.0.0.1" || !slices.Equal(a.SubscribedTopics, []string{"t"}) || a.MemberType != 1 {
		t.Fatalf("member a: %+v", a)
	}
	// a still owns both partitions; its target is one; b's target is the other, not yet given.
	if len(a.Assignment.TopicPartitions) != 1 || len(a.Assignment.TopicPartitions[0].Partitions) != 2 ||
		a.Assignment.TopicPartitions[0].Topic != "t" || len(a.TargetAssignment.TopicPartitions[0].Partitions) != 1 {
		t.Fatalf("member a assignment %+v target %+v", a.Assignment, a.TargetAssignment)
	}
	if len(b.Assignment.TopicPartitions) != 0 || len(b.TargetAssignment.TopicPartitions[0].Partitions) != 1 {
		t.Fatalf("member b assignment %+v target %+v", b.Assignment, b.TargetAssignment)
	}
	h.settle()
	if d := h.g.Describe(); d.State != StateStable {
		t.Fatalf("state %s", d.State)
	}
	if err := h.g.ValidateDelete(); err != kerr.NonEmptyGroup {
		t.Fatalf("delete non-empty group: %v", err)
	}
}

func TestOffsetCommitValidation(t *testing.T) {
	h := newHarness(t, DefaultConfig(), map[string]int32{"t": 2})
	// Empty group: admin commits (epoch -1) are fine.
	if err := h.g.ValidateOffsetCommit("", nil, -1, false, 9); err != nil {
		t.Fatal(err)
	}
	h.join("a", "t")
	h.join("b", "t")
	h.settle()
	epoch := h.clients["a"].epoch
	code := func(err error) int16 { c, _ := ErrorCode(err); return c }
	for _, tc := range []struct {
		name  string
		err   error
		wantC int16
	}{
		{"current epoch", h.g.ValidateOffsetCommit("a", nil, epoch, false, 9), 0},
		{"older epoch", h.g.ValidateOffsetCommit("a", nil, epoch-1, false, 9), kerr.StaleMemberEpoch.Code},
		{"newer epoch", h.g.ValidateOffsetCommit("a", nil, epoch+1, false, 9), kerr.StaleMemberEpoch.Code},
		{"unknown member", h.g.ValidateOffsetCommit("z", nil, epoch, false, 9), kerr.UnknownMemberID.Code},
		{"admin commit to a live group", h.g.ValidateOffsetCommit("", nil, -1, false, 9), kerr.UnknownMemberID.Code},
		{"old OffsetCommit version", h.g.ValidateOffsetCommit("a", nil, epoch, false, 8), kerr.UnsupportedVersion.Code},
		{"anonymous txn commit", h.g.ValidateOffsetCommit("", nil, -1, true, 3), 0},
		{"txn commit at current epoch", h.g.ValidateOffsetCommit("a", nil, epoch, true, 3), 0},
		{"fetch by admin", h.g.ValidateOffsetFetch(nil, -1), 0},
		{"fetch at current epoch", h.g.ValidateOffsetFetch(ptr("a"), epoch), 0},
		{"fetch at stale epoch", h.g.ValidateOffsetFetch(ptr("a"), epoch-1), kerr.StaleMemberEpoch.Code},
		{"fetch by unknown member", h.g.ValidateOffsetFetch(ptr("z"), 1), kerr.UnknownMemberID.Code},
	} {
		if got := code(tc.err); got != tc.wantC {
			t.Errorf("%s: got %v, want %v", tc.name, kerr.ErrorForCode(got), kerr.ErrorForCode(tc.wantC))
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := DefaultConfig()
	bad.Assignors = []string{"sticky"}
	if bad.Validate() == nil {
		t.Fatal("unknown assignor accepted")
	}
	bad = DefaultConfig()
	bad.HeartbeatInterval = bad.SessionTimeout
	if bad.Validate() == nil {
		t.Fatal("heartbeat interval >= session timeout accepted")
	}
}
