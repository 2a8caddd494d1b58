package sharegroup

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestAssignSharesPartitionsWhenMembersOutnumberThem(t *testing.T) {
	topics := map[string]TopicInfo{"t": {ID: [16]byte{1}, Partitions: 2}}
	for _, n := range []int{1, 2, 3, 5, 6} {
		var ids []string
		subs := map[string][]string{}
		for i := 0; i < n; i++ {
			id := string(rune('a' + i))
			ids = append(ids, id)
			subs[id] = []string{"t"}
		}
		got := Assign(ids, subs, topics)
		perPartition := map[int32]int{}
		for _, id := range ids {
			if len(got[id]) == 0 {
				t.Fatalf("%d members: %s got nothing", n, id)
			}
			for tp := range got[id] {
				perPartition[tp.Partition]++
			}
		}
		want := max(1, (n+1)/2)
		for p := int32(0); p < 2; p++ {
			if perPartition[p] < want {
				t.Fatalf("%d members: partition %d has %d members, want >= %d", n, p, perPartition[p], want)
			}
		}
	}
}

func TestHeartbeatJoinEpochsLeaveAndExpire(t *testing.T) {
	now := time.Unix(1000, 0)
	g := New("g", DefaultConfig())
	g.SetTopics(map[string]TopicInfo{"t": {ID: [16]byte{1}, Partitions: 2}})
	join := func(id string) *kmsg.ShareGroupHeartbeatResponse {
		req := kmsg.NewPtrShareGroupHeartbeatRequest()
		req.GroupID, req.MemberID, req.SubscribedTopicNames = "g", id, []string{"t"}
		return g.Heartbeat(now, req, "c", "h")
	}
	a := join("a")
	if a.ErrorCode != 0 || a.Assignment == nil || len(a.Assignment.TopicPartitions[0].Partitions) != 2 {
		t.Fatalf("join a: %+v", a)
	}
	b := join("b")
	if b.MemberEpoch <= a.MemberEpoch {
		t.Fatalf("epoch did not move: %d then %d", a.MemberEpoch, b.MemberEpoch)
	}
	// a heartbeats with its old epoch and gets its shrunk assignment at the new epoch.
	req := kmsg.NewPtrShareGroupHeartbeatRequest()
	req.GroupID, req.MemberID, req.MemberEpoch = "g", "a", a.MemberEpoch
	hb := g.Heartbeat(now, req, "c", "h")
	if hb.ErrorCode != 0 || hb.MemberEpoch != b.MemberEpoch || hb.Assignment == nil || len(hb.Assignment.TopicPartitions[0].Partitions) != 1 {
		t.Fatalf("heartbeat a: %+v", hb)
	}
	req.MemberEpoch = 99
	if hb := g.Heartbeat(now, req, "c", "h"); hb.ErrorCode != kerr.FencedMemberEpoch.Code {
		t.Fatalf("stale epoch: %v", hb.ErrorCode)
	}
	req.MemberEpoch = -1
	if hb := g.Heartbeat(now, req, "c", "h"); hb.ErrorCode != 0 || hb.MemberEpoch != -1 {
		t.Fatalf("leave: %+v", hb)
	}
	if g.State() != StateStable {
		t.Fatal("b should remain")
	}
	if len(g.Expire(now.Add(DefaultConfig().SessionTimeout))) != 1 || g.State() != StateEmpty {
		t.Fatal("b should expire after the session timeout")
	}
}
