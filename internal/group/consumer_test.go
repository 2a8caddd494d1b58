package group

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/metadata"
)

// newConsumerFixture is newFixture with a 1s consumer session and topic "t" (3 partitions)
// in the consumer groups' view of the metadata.
func newConsumerFixture(t *testing.T) *fixture {
	f := newFixture(t, nil, func(b *config.Broker) {
		b.GroupConsumerSessionTimeoutMs, b.GroupConsumerMinSessionTimeoutMs = 1000, 1000
		b.GroupConsumerHeartbeatIntervalMs, b.GroupConsumerMinHeartbeatIntervalMs = 100, 100
	})
	img := metadata.Empty()
	img.Topics["t"] = &metadata.Topic{Name: "t", ID: metadata.UUID{1}, Partitions: make([]metadata.Partition, 3)}
	f.c.applyTopics(img)
	return f
}

func cgReq(group, member string, epoch int32) *kmsg.ConsumerGroupHeartbeatRequest {
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Version = 1
	req.Group, req.MemberID, req.MemberEpoch = group, member, epoch
	if epoch == 0 {
		req.RebalanceTimeoutMillis = 5000
		req.SubscribedTopicNames = []string{"t"}
		req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	}
	return req
}

func (f *fixture) cgHeartbeat(group, member string, epoch int32) *kmsg.ConsumerGroupHeartbeatResponse {
	return f.c.ConsumerGroupHeartbeat(cgReq(group, member, epoch), "client", "/127.0.0.1")
}

func (f *fixture) groupType(group string) string {
	_, groups := f.c.ListGroups(nil, nil)
	for _, g := range groups {
		if g.Group == group {
			return g.GroupType
		}
	}
	return ""
}

func TestConsumerGroupUnknownGroup(t *testing.T) {
	f := newConsumerFixture(t)
	if r := f.cgHeartbeat("g", "m1", 3); r.ErrorCode != kerr.UnknownMemberID.Code {
		t.Fatalf("heartbeat with an epoch to an unknown group: code %d, want UNKNOWN_MEMBER_ID", r.ErrorCode)
	}
	if typ := f.groupType("g"); typ != "" {
		t.Fatalf("a refused heartbeat created a %s group", typ)
	}
	bad := cgReq("g", "m1", 0)
	bad.RebalanceTimeoutMillis = -1
	if r := f.c.ConsumerGroupHeartbeat(bad, "c", "h"); r.ErrorCode != kerr.InvalidRequest.Code || f.groupType("g") != "" {
		t.Fatalf("invalid join: code %d, group type %q; want INVALID_REQUEST and no group", r.ErrorCode, f.groupType("g"))
	}
	if d := f.c.ConsumerGroupDescribe("g"); d.ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("describe unknown: code %d, want GROUP_ID_NOT_FOUND", d.ErrorCode)
	}
}

func TestConsumerGroupJoinAndClassicAPIs(t *testing.T) {
	f := newConsumerFixture(t)
	r := f.cgHeartbeat("g", "m1", 0)
	if r.ErrorCode != 0 || r.MemberEpoch != 1 || r.Assignment == nil || len(r.Assignment.Topics) != 1 || len(r.Assignment.Topics[0].Partitions) != 3 {
		t.Fatalf("join: %+v", r)
	}
	if typ := f.groupType("g"); typ != TypeConsumer {
		t.Fatalf("ListGroups type %q, want consumer", typ)
	}
	if _, gs := f.c.ListGroups(nil, []string{"classic"}); len(gs) != 0 {
		t.Fatalf("types filter classic listed %+v", gs)
	}
	if d := f.c.ConsumerGroupDescribe("g"); d.ErrorCode != 0 || len(d.Members) != 1 || d.Epoch != 1 {
		t.Fatalf("describe: %+v", d)
	}
	if d := f.c.DescribeGroup("g"); d.State != string(Dead) || d.ErrorCode != 0 {
		t.Fatalf("DescribeGroups of a consumer group: %+v, want Dead", d)
	}

	// The classic protocol cannot join a non-empty consumer group, nor act in it.
	if jr := f.c.JoinGroup(context.Background(), joinReq("g", "", nil), "c", "h"); jr.ErrorCode != kerr.InconsistentGroupProtocol.Code {
		t.Fatalf("classic join: code %d, want INCONSISTENT_GROUP_PROTOCOL", jr.ErrorCode)
	}
	if code := f.heartbeat("g", "m1", 1, nil); code != kerr.UnknownMemberID.Code {
		t.Fatalf("classic heartbeat: code %d, want UNKNOWN_MEMBER_ID", code)
	}
	if sr := f.sync("g", "m1", 1, nil); sr.ErrorCode != kerr.UnknownMemberID.Code {
		t.Fatalf("classic sync: code %d, want UNKNOWN_MEMBER_ID", sr.ErrorCode)
	}

	// Commits: the member's exact epoch, OffsetCommit v9 or later.
	commit := func(version int16, member string, epoch int32) int16 {
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Version, req.Group, req.MemberID, req.Generation = version, "g", member, epoch
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = "t"
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset = 0, 42
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return commitCode(f.c.OffsetCommit(context.Background(), req))
	}
	for _, tc := range []struct {
		version int16
		member  string
		epoch   int32
		want    *kerr.Error
	}{
		{9, "m1", 0, kerr.StaleMemberEpoch},
		{9, "nobody", 1, kerr.UnknownMemberID},
		{8, "m1", 1, kerr.UnsupportedVersion},
		{9, "", -1, kerr.UnknownMemberID}, // an admin commit while the group has members
	} {
		if code := commit(tc.version, tc.member, tc.epoch); code != tc.want.Code {
			t.Errorf("commit v%d member %q epoch %d: code %d, want %s", tc.version, tc.member, tc.epoch, code, tc.want.Message)
		}
	}
	if code := commit(9, "m1", 1); code != 0 {
		t.Fatalf("commit at the member's epoch: code %d", code)
	}
	m1 := "m1"
	if code, _ := f.c.OffsetFetch(context.Background(), "g", &m1, 0, nil, false); code != kerr.StaleMemberEpoch.Code {
		t.Fatalf("fetch at an old epoch: code %d, want STALE_MEMBER_EPOCH", code)
	}
	if got := f.fetched("g"); got != 42 {
		t.Fatalf("admin fetch: offset %d, want 42", got)
	}

	if dg := f.c.DeleteGroups(context.Background(), []string{"g"}); dg[0].ErrorCode != kerr.NonEmptyGroup.Code {
		t.Fatalf("delete with members: code %d, want NON_EMPTY_GROUP", dg[0].ErrorCode)
	}

	// The member leaves: the empty consumer group may be taken over by the classic protocol,
	// and its offsets stay.
	if r := f.cgHeartbeat("g", "m1", -1); r.ErrorCode != 0 {
		t.Fatalf("leave: %+v", r)
	}
	first := f.c.JoinGroup(context.Background(), joinReq("g", "", nil), "c", "h")
	if first.ErrorCode != kerr.MemberIDRequired.Code {
		t.Fatalf("classic join of the empty consumer group: code %d, want MEMBER_ID_REQUIRED", first.ErrorCode)
	}
	if typ := f.groupType("g"); typ != TypeClassic {
		t.Fatalf("after a classic join: type %q, want classic", typ)
	}
	if got := f.fetched("g"); got != 42 {
		t.Fatalf("offset after the downgrade: %d, want 42", got)
	}
}

func TestConsumerGroupReplacesOnlyEmptyClassicGroup(t *testing.T) {
	f := newConsumerFixture(t)
	// A classic group with a member: a consumer-protocol join is told the group is not a
	// consumer group.
	jr := f.wait(f.joinNew("busy"))
	if jr.ErrorCode != 0 {
		t.Fatalf("classic join: %d", jr.ErrorCode)
	}
	if r := f.cgHeartbeat("busy", "m1", 0); r.ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("consumer join of a non-empty classic group: code %d, want GROUP_ID_NOT_FOUND", r.ErrorCode)
	}
	if d := f.c.ConsumerGroupDescribe("busy"); d.ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("ConsumerGroupDescribe of a classic group: code %d, want GROUP_ID_NOT_FOUND", d.ErrorCode)
	}

	// An empty classic group holding offsets becomes a consumer group on a join (not on a
	// heartbeat with an epoch), and keeps its offsets.
	f.commitSimple("idle", 7)
	if r := f.cgHeartbeat("idle", "m1", 2); r.ErrorCode != kerr.UnknownMemberID.Code {
		t.Fatalf("heartbeat with an epoch to an empty classic group: code %d, want UNKNOWN_MEMBER_ID", r.ErrorCode)
	}
	if r := f.cgHeartbeat("idle", "m1", 0); r.ErrorCode != 0 {
		t.Fatalf("consumer join of an empty classic group: %+v", r)
	}
	if typ := f.groupType("idle"); typ != TypeConsumer {
		t.Fatalf("type %q, want consumer", typ)
	}
	if got := f.fetched("idle"); got != 7 {
		t.Fatalf("offset after the upgrade: %d, want 7", got)
	}
}

func TestConsumerGroupSessionTimeout(t *testing.T) {
	f := newConsumerFixture(t)
	if r := f.cgHeartbeat("g", "m1", 0); r.ErrorCode != 0 {
		t.Fatalf("join m1: %+v", r)
	}
	r2 := f.cgHeartbeat("g", "m2", 0)
	if r2.ErrorCode != 0 {
		t.Fatalf("join m2: %+v", r2)
	}
	// m2 keeps heartbeating, m1 does not: after the session timeout only m2 is left.
	for i := 0; i < 3; i++ {
		f.clock.Advance(400 * time.Millisecond)
		req := cgReq("g", "m2", r2.MemberEpoch)
		r2 = f.c.ConsumerGroupHeartbeat(req, "client", "h")
		if r2.ErrorCode != 0 {
			t.Fatalf("m2 heartbeat: %+v", r2)
		}
	}
	d := f.c.ConsumerGroupDescribe("g")
	if len(d.Members) != 1 || d.Members[0].MemberID != "m2" {
		t.Fatalf("after m1's session timeout: members %+v, want only m2", d.Members)
	}
	f.clock.Advance(2 * time.Second)
	if d := f.c.ConsumerGroupDescribe("g"); len(d.Members) != 0 || d.State != "Empty" {
		t.Fatalf("after m2's session timeout: %+v, want Empty", d)
	}
	if dg := f.c.DeleteGroups(context.Background(), []string{"g"}); dg[0].ErrorCode != 0 {
		t.Fatalf("delete the empty group: code %d", dg[0].ErrorCode)
	}
	if typ := f.groupType("g"); typ != "" {
		t.Fatalf("deleted group still listed as %s", typ)
	}
}

// commitSimple commits offset o for partition 0 of topic "t" from outside any group.
func (f *fixture) commitSimple(group string, o int64) {
	f.t.Helper()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version, req.Group, req.Generation = 9, group, -1
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset = 0, o
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	if code := commitCode(f.c.OffsetCommit(context.Background(), req)); code != 0 {
		f.t.Fatalf("simple commit: code %d", code)
	}
}
