package group

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/coordinator"
	"github.com/gregorhq/gregor/internal/records"
)

// memLog is an in-memory PartitionLog whose writes are committed at once. Every record takes
// one offset, as in a partition.
type memLog struct {
	mu      sync.Mutex
	batches []LogBatch
	next    int64
}

func (l *memLog) Append(recs []records.Record) (int64, error) {
	return l.append(LogBatch{ProducerID: -1}, recs), nil
}

func (l *memLog) AppendTransactional(producerID int64, _ int16, recs []records.Record) (int64, error) {
	return l.append(LogBatch{ProducerID: producerID, Transactional: true}, recs), nil
}

func (l *memLog) append(b LogBatch, recs []records.Record) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range recs {
		b.Records = append(b.Records, LogRecord{Offset: l.next, Key: append([]byte(nil), r.Key...), Value: cloneOrNil(r.Value)})
		l.next++
	}
	l.batches = append(l.batches, b)
	return l.next
}

// appendMarker writes a transaction marker, as the partition does for WriteTxnMarkers, and
// returns its offset.
func (l *memLog) appendMarker(producerID int64, commit bool) int64 {
	k := kmsg.NewControlRecordKey()
	k.Type = kmsg.ControlRecordKeyTypeAbort
	if commit {
		k.Type = kmsg.ControlRecordKeyTypeCommit
	}
	v := kmsg.NewEndTxnMarker()
	next := l.append(LogBatch{ProducerID: producerID, Transactional: true, Control: true},
		[]records.Record{{Key: k.AppendTo(nil), Value: v.AppendTo(nil)}})
	return next - 1
}

func cloneOrNil(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

func (l *memLog) WaitCommitted(context.Context, int64) error { return nil }

func (l *memLog) Replay(fn func(LogBatch)) (int64, error) {
	l.mu.Lock()
	batches, next := append([]LogBatch(nil), l.batches...), l.next
	l.mu.Unlock()
	for _, b := range batches {
		fn(b)
	}
	return next, nil
}

// manualClock fires timers only when advanced (timers of zero or less fire at once).
type manualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*manualTimer
}

type manualTimer struct {
	at   time.Time
	f    func()
	done bool
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) AfterFunc(d time.Duration, f func()) func() bool {
	if d <= 0 {
		go f()
		return func() bool { return false }
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &manualTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.done
		t.done = true
		return was
	}
}

// Advance moves time forward, firing due timers in order, each to completion.
func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for {
		var next *manualTimer
		for _, t := range c.timers {
			if !t.done && !t.at.After(end) && (next == nil || t.at.Before(next.at)) {
				next = t
			}
		}
		if next == nil {
			break
		}
		next.done = true
		if next.at.After(c.now) {
			c.now = next.at
		}
		c.mu.Unlock()
		next.f()
		c.mu.Lock()
	}
	c.now = end
	c.mu.Unlock()
}

type fixture struct {
	t     *testing.T
	c     *Coordinator
	log   *memLog
	clock *manualClock
}

func newFixture(t *testing.T, log *memLog, edit func(*config.Broker)) *fixture {
	t.Helper()
	b := config.Default()
	b.GroupInitialRebalanceDelayMs = 0
	b.GroupMinSessionTimeoutMs = 10
	b.OffsetsRetentionCheckIntervalMs = 3600 * 1000
	if edit != nil {
		edit(&b)
	}
	if log == nil {
		log = &memLog{}
	}
	clock := &manualClock{now: time.UnixMilli(1_700_000_000_000)}
	c := New(Config{Broker: b, Clock: clock, OpenLog: func(int32) (PartitionLog, error) { return log, nil }})
	t.Cleanup(c.Close)
	c.setLeadership(1, []int32{0})
	deadline := time.Now().Add(10 * time.Second)
	for !c.Loaded(0) {
		if time.Now().After(deadline) {
			t.Fatal("shard did not load")
		}
		time.Sleep(time.Millisecond)
	}
	return &fixture{t: t, c: c, log: log, clock: clock}
}

func joinReq(group, member string, instance *string) *kmsg.JoinGroupRequest {
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version = 9
	req.Group, req.MemberID, req.InstanceID = group, member, instance
	req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 1000, 5000
	req.ProtocolType = "consumer"
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = "range", []byte{1}
	req.Protocols = []kmsg.JoinGroupRequestProtocol{p}
	return req
}

// join runs a JoinGroup in the background; the result arrives on the channel.
func (f *fixture) join(req *kmsg.JoinGroupRequest) chan *kmsg.JoinGroupResponse {
	ch := make(chan *kmsg.JoinGroupResponse, 1)
	go func() { ch <- f.c.JoinGroup(context.Background(), req, "client", "/127.0.0.1") }()
	return ch
}

func (f *fixture) wait(ch chan *kmsg.JoinGroupResponse) *kmsg.JoinGroupResponse {
	f.t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		f.t.Fatal("JoinGroup did not complete")
		return nil
	}
}

// joinNew joins a dynamic member the KIP-394 way and returns the response of its real join.
func (f *fixture) joinNew(group string) chan *kmsg.JoinGroupResponse {
	f.t.Helper()
	r := f.c.JoinGroup(context.Background(), joinReq(group, "", nil), "client", "/127.0.0.1")
	if r.ErrorCode != kerr.MemberIDRequired.Code || r.MemberID == "" {
		f.t.Fatalf("first join: code %d member %q", r.ErrorCode, r.MemberID)
	}
	return f.join(joinReq(group, r.MemberID, nil))
}

func (f *fixture) sync(group, member string, gen int32, assign map[string][]byte) *kmsg.SyncGroupResponse {
	req := kmsg.NewPtrSyncGroupRequest()
	req.Version = 5
	req.Group, req.MemberID, req.Generation = group, member, gen
	for m, a := range assign {
		ga := kmsg.NewSyncGroupRequestGroupAssignment()
		ga.MemberID, ga.MemberAssignment = m, a
		req.GroupAssignment = append(req.GroupAssignment, ga)
	}
	return f.c.SyncGroup(context.Background(), req)
}

func (f *fixture) heartbeat(group, member string, gen int32, instance *string) int16 {
	req := kmsg.NewPtrHeartbeatRequest()
	req.Group, req.MemberID, req.Generation, req.InstanceID = group, member, gen, instance
	return f.c.Heartbeat(context.Background(), req)
}

func (f *fixture) state(group string) string { return f.c.DescribeGroup(group).State }

// waitState waits until the group is in state s (a JoinGroup running in the background
// gets there on its own time).
func (f *fixture) waitState(group, s string) {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for f.state(group) != s {
		if time.Now().After(deadline) {
			f.t.Fatalf("group %s is %s, not %s", group, f.state(group), s)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestJoinSyncHeartbeatLeave(t *testing.T) {
	f := newFixture(t, nil, nil)
	a := f.wait(f.joinNew("g"))
	if a.ErrorCode != 0 || a.Generation != 1 || a.LeaderID != a.MemberID || len(a.Members) != 1 || *a.Protocol != "range" {
		t.Fatalf("first member: %+v", a)
	}
	if s := f.sync("g", a.MemberID, 1, map[string][]byte{a.MemberID: []byte("A")}); s.ErrorCode != 0 || string(s.MemberAssignment) != "A" {
		t.Fatalf("sync: %+v", s)
	}
	if code := f.heartbeat("g", a.MemberID, 1, nil); code != 0 {
		t.Fatalf("heartbeat: %d", code)
	}
	if code := f.heartbeat("g", a.MemberID, 7, nil); code != kerr.IllegalGeneration.Code {
		t.Fatalf("heartbeat with a wrong generation: %d", code)
	}
	if code := f.heartbeat("g", "nobody", 1, nil); code != kerr.UnknownMemberID.Code {
		t.Fatalf("heartbeat of an unknown member: %d", code)
	}

	// A second member starts a rebalance; the first learns of it from its heartbeat.
	bCh := f.joinNew("g")
	f.waitState("g", "PreparingRebalance")
	if code := f.heartbeat("g", a.MemberID, 1, nil); code != kerr.RebalanceInProgress.Code {
		t.Fatalf("heartbeat during rebalance: %d", code)
	}
	a2 := f.wait(f.join(joinReq("g", a.MemberID, nil)))
	b := f.wait(bCh)
	if a2.Generation != 2 || b.Generation != 2 || a2.LeaderID != a.MemberID || len(a2.Members) != 2 || len(b.Members) != 0 {
		t.Fatalf("second generation: leader %+v follower %+v", a2, b)
	}
	// The follower's sync waits for the leader's.
	bSync := make(chan *kmsg.SyncGroupResponse, 1)
	go func() { bSync <- f.sync("g", b.MemberID, 2, nil) }()
	if s := f.sync("g", a.MemberID, 2, map[string][]byte{a.MemberID: []byte("A"), b.MemberID: []byte("B")}); string(s.MemberAssignment) != "A" {
		t.Fatalf("leader sync: %+v", s)
	}
	if s := <-bSync; s.ErrorCode != 0 || string(s.MemberAssignment) != "B" {
		t.Fatalf("follower sync: %+v", s)
	}
	if f.state("g") != "Stable" {
		t.Fatalf("state %s", f.state("g"))
	}

	// The leader leaves: the follower must rejoin, and becomes the leader.
	code, res := f.c.LeaveGroup(context.Background(), "g", []kmsg.LeaveGroupRequestMember{{MemberID: a.MemberID}})
	if code != 0 || len(res) != 1 || res[0].ErrorCode != 0 {
		t.Fatalf("leave: %d %+v", code, res)
	}
	if code := f.heartbeat("g", b.MemberID, 2, nil); code != kerr.RebalanceInProgress.Code {
		t.Fatalf("heartbeat after leave: %d", code)
	}
	b3 := f.wait(f.join(joinReq("g", b.MemberID, nil)))
	if b3.Generation != 3 || b3.LeaderID != b.MemberID {
		t.Fatalf("after leave: %+v", b3)
	}
}

func TestSessionTimeoutRemovesMember(t *testing.T) {
	f := newFixture(t, nil, nil)
	a := f.wait(f.joinNew("g"))
	f.sync("g", a.MemberID, a.Generation, map[string][]byte{a.MemberID: {}})
	f.clock.Advance(900 * time.Millisecond)
	if code := f.heartbeat("g", a.MemberID, a.Generation, nil); code != 0 {
		t.Fatalf("heartbeat within the session: %d", code)
	}
	f.clock.Advance(900 * time.Millisecond) // 1.8s after joining, 0.9s after the heartbeat
	if s := f.state("g"); s != "Stable" {
		t.Fatalf("state %s while the session is alive", s)
	}
	f.clock.Advance(200 * time.Millisecond)
	if s := f.state("g"); s != "Empty" {
		t.Fatalf("state %s after the session expired", s)
	}
	if code := f.heartbeat("g", a.MemberID, a.Generation, nil); code != kerr.UnknownMemberID.Code {
		t.Fatalf("heartbeat after expiry: %d", code)
	}
}

func TestJoinValidation(t *testing.T) {
	f := newFixture(t, nil, func(b *config.Broker) { b.GroupMaxSize = 1 })
	req := joinReq("g", "", nil)
	req.SessionTimeoutMillis = 5
	if r := f.c.JoinGroup(context.Background(), req, "c", "h"); r.ErrorCode != kerr.InvalidSessionTimeout.Code {
		t.Fatalf("short session: %d", r.ErrorCode)
	}
	if r := f.c.JoinGroup(context.Background(), joinReq("", "", nil), "c", "h"); r.ErrorCode != kerr.InvalidGroupID.Code {
		t.Fatalf("empty group id: %d", r.ErrorCode)
	}
	if r := f.c.JoinGroup(context.Background(), joinReq("g", "ghost", nil), "c", "h"); r.ErrorCode != kerr.UnknownMemberID.Code {
		t.Fatalf("unknown member of an unknown group: %d", r.ErrorCode)
	}
	a := f.wait(f.joinNew("g"))
	if a.ErrorCode != 0 {
		t.Fatalf("join: %d", a.ErrorCode)
	}
	if r := f.c.JoinGroup(context.Background(), joinReq("g", "", nil), "c", "h"); r.ErrorCode != kerr.GroupMaxSizeReached.Code {
		t.Fatalf("join beyond group.max.size: %d", r.ErrorCode)
	}
	other := joinReq("g", "", nil)
	other.ProtocolType = "connect"
	if r := f.c.JoinGroup(context.Background(), other, "c", "h"); r.ErrorCode != kerr.InconsistentGroupProtocol.Code {
		t.Fatalf("other protocol type: %d", r.ErrorCode)
	}
}

func TestStaticMemberReplacedAndFenced(t *testing.T) {
	f := newFixture(t, nil, nil)
	inst := "i1"
	a := f.wait(f.join(joinReq("g", "", &inst))) // static members skip MEMBER_ID_REQUIRED
	if a.ErrorCode != 0 || a.Generation != 1 {
		t.Fatalf("static join: %+v", a)
	}
	f.sync("g", a.MemberID, 1, map[string][]byte{a.MemberID: []byte("A")})

	// The same instance comes back with no member id: it takes the old member's place.
	a2 := f.wait(f.join(joinReq("g", "", &inst)))
	if a2.ErrorCode != 0 || a2.Generation != 1 || a2.MemberID == a.MemberID || a2.LeaderID != a2.MemberID || !a2.SkipAssignment {
		t.Fatalf("static rejoin: %+v", a2)
	}
	if s := f.sync("g", a2.MemberID, 1, nil); s.ErrorCode != 0 || string(s.MemberAssignment) != "A" {
		t.Fatalf("sync after rejoin: %+v", s)
	}
	if code := f.heartbeat("g", a.MemberID, 1, &inst); code != kerr.FencedInstanceID.Code {
		t.Fatalf("old member id: %d", code)
	}
	if code := f.heartbeat("g", a2.MemberID, 1, &inst); code != 0 {
		t.Fatalf("new member id: %d", code)
	}
	code, res := f.c.LeaveGroup(context.Background(), "g", []kmsg.LeaveGroupRequestMember{{MemberID: a.MemberID, InstanceID: &inst}})
	if code != 0 || res[0].ErrorCode != kerr.FencedInstanceID.Code {
		t.Fatalf("leave with the old member id: %d %+v", code, res)
	}
}

func commitReq(group, member string, gen int32, offset int64, meta string) *kmsg.OffsetCommitRequest {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version = 9
	req.Group, req.MemberID, req.Generation = group, member, gen
	t := kmsg.NewOffsetCommitRequestTopic()
	t.Topic = "t"
	p := kmsg.NewOffsetCommitRequestTopicPartition()
	p.Partition, p.Offset, p.Metadata = 0, offset, &meta
	t.Partitions = append(t.Partitions, p)
	req.Topics = append(req.Topics, t)
	return req
}

func commitCode(r *kmsg.OffsetCommitResponse) int16 { return r.Topics[0].Partitions[0].ErrorCode }

func (f *fixture) fetched(group string) int64 {
	_, topics := f.c.OffsetFetch(context.Background(), group, nil, -1, []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{0}}}, false)
	return topics[0].Partitions[0].Offset
}

func TestOffsetCommitChecks(t *testing.T) {
	f := newFixture(t, nil, func(b *config.Broker) { b.OffsetMetadataMaxBytes = 4 })
	ctx := context.Background()
	if f.fetched("simple") != -1 {
		t.Fatal("offset of an unknown group")
	}
	if r := f.c.OffsetCommit(ctx, commitReq("simple", "", -1, 5, "")); commitCode(r) != 0 || f.fetched("simple") != 5 {
		t.Fatalf("simple commit: %d", commitCode(r))
	}
	if r := f.c.OffsetCommit(ctx, commitReq("simple", "", -1, 6, "too long")); commitCode(r) != kerr.OffsetMetadataTooLarge.Code || f.fetched("simple") != 5 {
		t.Fatalf("large metadata: %d", commitCode(r))
	}
	if r := f.c.OffsetCommit(ctx, commitReq("nogroup", "m", 3, 1, "")); commitCode(r) != kerr.IllegalGeneration.Code {
		t.Fatalf("commit to an unknown group with a generation: %d", commitCode(r))
	}

	a := f.wait(f.joinNew("g"))
	if r := f.c.OffsetCommit(ctx, commitReq("g", a.MemberID, a.Generation, 1, "")); commitCode(r) != kerr.RebalanceInProgress.Code {
		t.Fatalf("commit before sync: %d", commitCode(r))
	}
	f.sync("g", a.MemberID, a.Generation, nil)
	if r := f.c.OffsetCommit(ctx, commitReq("g", a.MemberID, a.Generation, 10, "m")); commitCode(r) != 0 || f.fetched("g") != 10 {
		t.Fatalf("member commit: %d", commitCode(r))
	}
	if r := f.c.OffsetCommit(ctx, commitReq("g", a.MemberID, a.Generation+1, 11, "")); commitCode(r) != kerr.IllegalGeneration.Code {
		t.Fatalf("wrong generation: %d", commitCode(r))
	}
	if r := f.c.OffsetCommit(ctx, commitReq("g", "stranger", a.Generation, 11, "")); commitCode(r) != kerr.UnknownMemberID.Code {
		t.Fatalf("unknown member: %d", commitCode(r))
	}
	if r := f.c.OffsetCommit(ctx, commitReq("g", "", -1, 11, "")); commitCode(r) != kerr.UnknownMemberID.Code {
		t.Fatalf("admin commit to a group with members: %d", commitCode(r))
	}
	if got := f.c.DeleteGroups(ctx, []string{"g", "simple", "missing"}); got[0].ErrorCode != kerr.NonEmptyGroup.Code ||
		got[1].ErrorCode != 0 || got[2].ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("delete groups: %+v", got)
	}
	if f.fetched("simple") != -1 {
		t.Fatal("offsets of a deleted group")
	}

	// Everything written replays into the same state.
	g := newFixture(t, f.log, nil)
	if g.fetched("g") != 10 || g.fetched("simple") != -1 {
		t.Fatalf("after replay: g=%d simple=%d", g.fetched("g"), g.fetched("simple"))
	}
	if d := g.c.DescribeGroup("g"); d.State != "Stable" || len(d.Members) != 1 || d.Members[0].MemberID != a.MemberID {
		t.Fatalf("group after replay: %+v", d)
	}
}

func TestOffsetsOfEmptyGroupsExpire(t *testing.T) {
	f := newFixture(t, nil, func(b *config.Broker) {
		b.OffsetsRetentionMinutes = 1
		b.OffsetsRetentionCheckIntervalMs = 1000
	})
	ctx := context.Background()
	f.c.OffsetCommit(ctx, commitReq("old", "", -1, 3, ""))
	f.clock.Advance(30 * time.Second)
	f.c.OffsetCommit(ctx, commitReq("young", "", -1, 4, ""))
	f.clock.Advance(31 * time.Second) // "old" is 61s old, "young" 31s
	if f.fetched("old") != -1 || f.fetched("young") != 4 {
		t.Fatalf("after a minute: old=%d young=%d", f.fetched("old"), f.fetched("young"))
	}
	if _, groups := f.c.ListGroups(nil, nil); len(groups) != 1 || groups[0].Group != "young" {
		t.Fatalf("groups %+v", groups)
	}
	// The expiry wrote tombstones: a replay agrees.
	g := newFixture(t, f.log, nil)
	if g.fetched("old") != -1 || g.fetched("young") != 4 {
		t.Fatalf("after replay: old=%d young=%d", g.fetched("old"), g.fetched("young"))
	}
}

func TestOffsetDeleteRefusesSubscribedTopics(t *testing.T) {
	f := newFixture(t, nil, nil)
	ctx := context.Background()
	req := joinReq("g", "", nil)
	md := kmsg.NewConsumerMemberMetadata()
	md.Topics = []string{"t"}
	req.Protocols[0].Metadata = md.AppendTo(nil)
	first := f.c.JoinGroup(ctx, req, "c", "h")
	req.MemberID = first.MemberID
	a := f.wait(f.join(req))
	f.sync("g", a.MemberID, a.Generation, nil)
	f.c.OffsetCommit(ctx, commitReq("g", a.MemberID, a.Generation, 7, ""))
	c2 := commitReq("g", a.MemberID, a.Generation, 8, "")
	c2.Topics[0].Topic = "other"
	f.c.OffsetCommit(ctx, c2)

	del := kmsg.NewPtrOffsetDeleteRequest()
	del.Group = "g"
	for _, topic := range []string{"t", "other"} {
		dt := kmsg.NewOffsetDeleteRequestTopic()
		dt.Topic = topic
		dt.Partitions = []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}
		del.Topics = append(del.Topics, dt)
	}
	resp := f.c.OffsetDelete(ctx, del)
	if resp.ErrorCode != 0 || resp.Topics[0].Partitions[0].ErrorCode != kerr.GroupSubscribedToTopic.Code || resp.Topics[1].Partitions[0].ErrorCode != 0 {
		t.Fatalf("offset delete: %+v", resp)
	}
	if f.fetched("g") != 7 {
		t.Fatal("subscribed offset deleted")
	}
}

func TestNotCoordinatorAndLoading(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.c.setLeadership(2, []int32{PartitionFor("mine", 2)})
	other := "x"
	for PartitionFor(other, 2) == PartitionFor("mine", 2) {
		other += "x"
	}
	if r := f.c.OffsetCommit(context.Background(), commitReq(other, "", -1, 1, "")); commitCode(r) != kerr.NotCoordinator.Code {
		t.Fatalf("group of another broker: %d", commitCode(r))
	}
	f.c.setLeadership(0, nil)
	if code, _ := f.c.OffsetFetch(context.Background(), "mine", nil, -1, nil, false); code != kerr.CoordinatorNotAvailable.Code {
		t.Fatalf("no offsets topic: %d", code)
	}
}

// TestFailedLoadIsRetried: a shard whose log cannot be opened stays loading (clients get
// COORDINATOR_LOAD_IN_PROGRESS and retry) and loads once the log opens, without waiting for
// another metadata change.
func TestFailedLoadIsRetried(t *testing.T) {
	log := &memLog{}
	var mu sync.Mutex
	failing, attempts := true, 0
	clock := &manualClock{now: time.UnixMilli(1_700_000_000_000)}
	b := config.Default()
	c := New(Config{Broker: b, Clock: clock, OpenLog: func(int32) (PartitionLog, error) {
		mu.Lock()
		defer mu.Unlock()
		attempts++
		if failing {
			return nil, errors.New("disk on fire")
		}
		return log, nil
	}})
	t.Cleanup(c.Close)
	c.setLeadership(1, []int32{0})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		mu.Lock()
		n := attempts
		mu.Unlock()
		if n > 0 {
			break // the first load failed (or is failing)
		}
		if time.Now().After(deadline) {
			t.Fatal("no load attempt")
		}
	}
	if _, err := c.shardFor("g"); !errors.Is(err, kerr.CoordinatorLoadInProgress) {
		t.Fatalf("while the load fails: %v, want COORDINATOR_LOAD_IN_PROGRESS", err)
	}
	mu.Lock()
	failing = false
	mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for !c.Loaded(0) {
		if time.Now().After(deadline) {
			t.Fatal("the shard was not loaded again")
		}
		clock.Advance(coordinator.LoadRetryBackoff)
		time.Sleep(time.Millisecond)
	}
}

// The leader of a group of one rejoining a Stable group (as a consumer does after its
// coordinator moved) completes the rebalance at once: every member has rejoined, so there is
// nothing to wait the rebalance timeout for. (The clock does not move here: a join that
// waited for the timer would never finish.)
func TestSoleLeaderRejoinCompletesAtOnce(t *testing.T) {
	f := newFixture(t, nil, nil)
	a := f.wait(f.joinNew("g"))
	if s := f.sync("g", a.MemberID, a.Generation, map[string][]byte{a.MemberID: []byte("A")}); s.ErrorCode != 0 {
		t.Fatalf("sync: %+v", s)
	}
	f.waitState("g", "Stable")
	again := f.wait(f.join(joinReq("g", a.MemberID, nil)))
	if again.ErrorCode != 0 || again.Generation != a.Generation+1 || again.LeaderID != a.MemberID {
		t.Fatalf("rejoin: %+v", again)
	}
	// And again while the group awaits the leader's assignment.
	f.waitState("g", "CompletingRebalance")
	req := joinReq("g", a.MemberID, nil)
	req.Protocols[0].Metadata = []byte{2} // changed subscription: a new rebalance
	third := f.wait(f.join(req))
	if third.ErrorCode != 0 || third.Generation != a.Generation+2 {
		t.Fatalf("rejoin while completing: %+v", third)
	}
}
