package group

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/config"
)

// A share member that stops heartbeating is removed at its session timeout, and one that
// leaves is removed at once; both times OnShareMemberRemoved is told, so the share-partition
// manager releases the member's records.
func TestShareMemberRemovalIsReported(t *testing.T) {
	f := newFixture(t, nil, func(b *config.Broker) {
		b.GroupShareSessionTimeoutMs, b.GroupShareHeartbeatIntervalMs = 10000, 1000
	})
	var mu sync.Mutex
	var removed []string
	f.c.cfg.OnShareMemberRemoved = func(group, member string) {
		mu.Lock()
		removed = append(removed, group+"/"+member)
		mu.Unlock()
	}
	got := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(removed)
	}
	hb := func(member string, epoch int32) int16 {
		req := kmsg.NewPtrShareGroupHeartbeatRequest()
		req.GroupID, req.MemberID, req.MemberEpoch, req.SubscribedTopicNames = "sg", member, epoch, []string{"t"}
		return f.c.ShareGroupHeartbeat(req, "client", "/127.0.0.1").ErrorCode
	}
	if hb("a", 0) != 0 || hb("b", 0) != 0 {
		t.Fatal("join failed")
	}
	f.clock.Advance(5 * time.Second)
	if hb("b", -1) != 0 {
		t.Fatal("leave failed")
	}
	if r := got(); !slices.Equal(r, []string{"sg/b"}) {
		t.Fatalf("after b left: %v", r)
	}
	f.clock.Advance(6 * time.Second) // a's session (10s) has timed out
	if r := got(); !slices.Equal(r, []string{"sg/b", "sg/a"}) {
		t.Fatalf("after a's session timed out: %v", r)
	}
}
