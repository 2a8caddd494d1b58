package group

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/replica"
)

func txnCommitReq(group string, producerID int64, offset int64) *kmsg.TxnOffsetCommitRequest {
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.Version = 4
	req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch = "tx", group, producerID, 0
	t := kmsg.NewTxnOffsetCommitRequestTopic()
	t.Topic = "t"
	p := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	p.Partition, p.Offset, p.LeaderEpoch = 0, offset, 3
	t.Partitions = append(t.Partitions, p)
	req.Topics = append(req.Topics, t)
	return req
}

func (f *fixture) txnCommit(req *kmsg.TxnOffsetCommitRequest) int16 {
	return f.c.TxnOffsetCommit(context.Background(), req).Topics[0].Partitions[0].ErrorCode
}

// fetchStable is an OffsetFetch with require_stable of partition 0 of "t": its error code and
// offset.
func (f *fixture) fetchStable(group string) (int16, int64) {
	f.t.Helper()
	code, topics := f.c.OffsetFetch(context.Background(), group, nil, -1, []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{0}}}, true)
	if code != 0 {
		f.t.Fatalf("offset fetch: code %d", code)
	}
	p := topics[0].Partitions[0]
	return p.ErrorCode, p.Offset
}

// marker writes a transaction marker to the log and tells the coordinator, as the partition
// does after WriteTxnMarkers.
func (f *fixture) marker(producerID int64, commit bool) {
	off := f.log.appendMarker(producerID, commit)
	f.c.onTxnMarker(0, replica.TxnMarker{ProducerID: producerID, Commit: commit}, off)
}

func TestTxnOffsetsPendingUntilCommit(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.commitSimple("g", 5)
	if code := f.txnCommit(txnCommitReq("g", 7, 10)); code != 0 {
		t.Fatalf("txn offset commit: %d", code)
	}
	if f.fetched("g") != 5 {
		t.Fatalf("pending offset visible: %d", f.fetched("g"))
	}
	if code, off := f.fetchStable("g"); code != kerr.UnstableOffsetCommit.Code || off != -1 {
		t.Fatalf("require_stable with a pending offset: code %d offset %d", code, off)
	}
	// The whole-group fetch reports the partition unstable too.
	_, all := f.c.OffsetFetch(context.Background(), "g", nil, -1, nil, true)
	if len(all) != 1 || all[0].Partitions[0].ErrorCode != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("fetch all with require_stable: %+v", all)
	}
	// Another producer's marker changes nothing.
	f.marker(8, true)
	if code, _ := f.fetchStable("g"); code != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("after another producer's commit: %d", code)
	}
	f.marker(7, true)
	if code, off := f.fetchStable("g"); code != 0 || off != 10 {
		t.Fatalf("after the commit: code %d offset %d", code, off)
	}
	_, topics := f.c.OffsetFetch(context.Background(), "g", nil, -1, []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{0}}}, false)
	if p := topics[0].Partitions[0]; p.LeaderEpoch != 3 {
		t.Fatalf("leader epoch %d", p.LeaderEpoch)
	}
	if len(f.c.loadedShards()[0].txns.groups(7)) != 0 {
		t.Fatal("the group is still indexed under the ended transaction")
	}
}

func TestTxnOffsetsDroppedOnAbort(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.commitSimple("g", 5)
	f.txnCommit(txnCommitReq("g", 7, 10))
	f.marker(7, false)
	if code, off := f.fetchStable("g"); code != 0 || off != 5 {
		t.Fatalf("after the abort: code %d offset %d", code, off)
	}
	// A later transaction of the same producer commits.
	f.txnCommit(txnCommitReq("g", 7, 12))
	f.marker(7, true)
	if f.fetched("g") != 12 {
		t.Fatalf("next transaction: %d", f.fetched("g"))
	}
}

// TestTxnOffsetLaterCommitWins: at the transaction's commit its offset replaces the committed
// one only if its record is the later one.
func TestTxnOffsetLaterCommitWins(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.txnCommit(txnCommitReq("g", 7, 10))
	f.commitSimple("g", 20) // written after the transactional offset
	f.marker(7, true)
	if f.fetched("g") != 20 {
		t.Fatalf("a commit written after the transaction's offset was replaced: %d", f.fetched("g"))
	}
	f.commitSimple("g", 21)
	f.txnCommit(txnCommitReq("g", 7, 30))
	f.marker(7, true)
	if f.fetched("g") != 30 {
		t.Fatalf("the transaction's later offset lost: %d", f.fetched("g"))
	}
	g := newFixture(t, f.log, nil)
	if g.fetched("g") != 30 {
		t.Fatalf("after replay: %d", g.fetched("g"))
	}
}

func TestTxnOffsetsReplay(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.commitSimple("committed", 1)
	f.commitSimple("aborted", 1)
	f.commitSimple("open", 1)
	f.txnCommit(txnCommitReq("committed", 7, 10))
	f.txnCommit(txnCommitReq("aborted", 8, 10))
	f.txnCommit(txnCommitReq("open", 9, 10))
	f.marker(7, true)
	f.marker(8, false)

	g := newFixture(t, f.log, nil)
	if g.fetched("committed") != 10 || g.fetched("aborted") != 1 || g.fetched("open") != 1 {
		t.Fatalf("after replay: committed=%d aborted=%d open=%d", g.fetched("committed"), g.fetched("aborted"), g.fetched("open"))
	}
	if code, _ := g.fetchStable("open"); code != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("open transaction after replay: %d", code)
	}
	// The replayed pending offsets complete with the marker written after the restart.
	off := g.log.appendMarker(9, true)
	g.c.onTxnMarker(0, replica.TxnMarker{ProducerID: 9, Commit: true}, off)
	if code, o := g.fetchStable("open"); code != 0 || o != 10 {
		t.Fatalf("open transaction committed after replay: code %d offset %d", code, o)
	}
}

// blockingLog is a memLog whose Replay waits for release after reading its batches, so a
// test can write while the shard loads.
type blockingLog struct {
	*memLog
	replaying chan struct{}
	release   chan struct{}
}

func (l *blockingLog) Replay(fn func(LogBatch)) (int64, error) {
	l.memLog.mu.Lock()
	batches, next := append([]LogBatch(nil), l.memLog.batches...), l.memLog.next
	l.memLog.mu.Unlock()
	close(l.replaying)
	<-l.release
	for _, b := range batches {
		fn(b)
	}
	return next, nil
}

// TestTxnMarkerWhileLoading: a marker written after the replay read the log, but before the
// shard is loaded, is applied once it is.
func TestTxnMarkerWhileLoading(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.txnCommit(txnCommitReq("g", 7, 10))
	bl := &blockingLog{memLog: f.log, replaying: make(chan struct{}), release: make(chan struct{})}
	c := New(Config{Broker: config.Default(), Clock: f.clock, OpenLog: func(int32) (PartitionLog, error) { return bl, nil }})
	t.Cleanup(c.Close)
	c.setLeadership(1, []int32{0})
	<-bl.replaying
	off := f.log.appendMarker(7, true)
	c.onTxnMarker(0, replica.TxnMarker{ProducerID: 7, Commit: true}, off)
	close(bl.release)
	for deadline := time.Now().Add(10 * time.Second); !c.Loaded(0); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("shard did not load")
		}
	}
	g := &fixture{t: t, c: c, log: f.log, clock: f.clock}
	if code, o := g.fetchStable("g"); code != 0 || o != 10 {
		t.Fatalf("marker during load: code %d offset %d", code, o)
	}
}

func TestTxnOffsetCommitValidation(t *testing.T) {
	f := newFixture(t, nil, func(b *config.Broker) { b.OffsetMetadataMaxBytes = 4 })

	req := txnCommitReq("", 7, 1)
	if code := f.txnCommit(req); code != kerr.InvalidGroupID.Code {
		t.Fatalf("empty group id: %d", code)
	}
	req = txnCommitReq("nogroup", 7, 1)
	req.Generation, req.MemberID = 2, "m"
	if code := f.txnCommit(req); code != kerr.IllegalGeneration.Code {
		t.Fatalf("unknown group with a generation: %d", code)
	}
	req = txnCommitReq("simple", 7, 1)
	meta := "too long"
	req.Topics[0].Partitions[0].Metadata = &meta
	if code := f.txnCommit(req); code != kerr.OffsetMetadataTooLarge.Code {
		t.Fatalf("large metadata: %d", code)
	}

	a := f.wait(f.joinNew("g"))
	// During the rebalance (before SyncGroup) a transactional commit of the member is taken.
	req = txnCommitReq("g", 7, 1)
	req.Generation, req.MemberID = a.Generation, a.MemberID
	if code := f.txnCommit(req); code != 0 {
		t.Fatalf("member commit in CompletingRebalance: %d", code)
	}
	req.Generation = a.Generation + 1
	if code := f.txnCommit(req); code != kerr.IllegalGeneration.Code {
		t.Fatalf("wrong generation: %d", code)
	}
	req.Generation, req.MemberID = a.Generation, "stranger"
	if code := f.txnCommit(req); code != kerr.UnknownMemberID.Code {
		t.Fatalf("unknown member: %d", code)
	}
	instance := "i"
	req.MemberID, req.InstanceID = a.MemberID, &instance
	if code := f.txnCommit(req); code != kerr.UnknownMemberID.Code {
		t.Fatalf("unknown instance: %d", code)
	}
	// Without member fields (v0-v2 have none) the commit is taken from a group with members;
	// v2 ignores any fields set.
	req = txnCommitReq("g", 7, 2)
	if code := f.txnCommit(req); code != 0 {
		t.Fatalf("commit without member fields: %d", code)
	}
	req.Version, req.Generation, req.MemberID = 2, 99, "stranger"
	if code := f.txnCommit(req); code != 0 {
		t.Fatalf("v2 commit: %d", code)
	}
}

func TestTxnOffsetCommitStaticMemberFenced(t *testing.T) {
	f := newFixture(t, nil, nil)
	instance := "i"
	a := f.wait(f.join(joinReq("g", "", &instance)))
	req := txnCommitReq("g", 7, 1)
	req.Generation, req.MemberID, req.InstanceID = a.Generation, "old-member", &instance
	if code := f.txnCommit(req); code != kerr.FencedInstanceID.Code {
		t.Fatalf("stale static member: %d", code)
	}
	req.MemberID = a.MemberID
	if code := f.txnCommit(req); code != 0 {
		t.Fatalf("static member: %d", code)
	}
}

// TestPendingTxnOffsetsNotExpired: neither an offset with pending transactional offsets of
// its partition nor its group expires until the transaction ends.
func TestPendingTxnOffsetsNotExpired(t *testing.T) {
	f := newFixture(t, nil, func(b *config.Broker) {
		b.OffsetsRetentionMinutes = 1
		b.OffsetsRetentionCheckIntervalMs = 1000
	})
	f.commitSimple("g", 5)
	f.txnCommit(txnCommitReq("pending-only", 7, 1))
	f.txnCommit(txnCommitReq("g", 7, 10))
	f.clock.Advance(2 * time.Minute)
	if _, groups := f.c.ListGroups(nil, nil); len(groups) != 2 {
		t.Fatalf("groups with pending offsets expired: %+v", groups)
	}
	if f.fetched("g") != 5 {
		t.Fatalf("offset with pending transactional offsets expired: %d", f.fetched("g"))
	}
	f.marker(7, false)
	f.clock.Advance(2 * time.Minute)
	if _, groups := f.c.ListGroups(nil, nil); len(groups) != 0 {
		t.Fatalf("groups after the abort: %+v", groups)
	}
}

// TestDeleteGroupDropsPendingTxnOffsets: as in Kafka, deleting an empty group deletes its
// pending transactional offsets too (tombstones), so the transaction's commit brings nothing
// back, in memory and on replay alike.
func TestDeleteGroupDropsPendingTxnOffsets(t *testing.T) {
	f := newFixture(t, nil, nil)
	ctx := context.Background()
	f.commitSimple("g", 5)
	req := txnCommitReq("g", 7, 10)
	req.Topics[0].Partitions = append(req.Topics[0].Partitions, kmsg.TxnOffsetCommitRequestTopicPartition{Partition: 1, Offset: 11, LeaderEpoch: -1})
	f.txnCommit(req)
	if got := f.c.DeleteGroups(ctx, []string{"g"}); got[0].ErrorCode != 0 {
		t.Fatalf("delete: %d", got[0].ErrorCode)
	}
	f.marker(7, true)
	check := func(f *fixture, when string) {
		t.Helper()
		_, all := f.c.OffsetFetch(ctx, "g", nil, -1, nil, true)
		if len(all) != 0 {
			t.Fatalf("%s: offsets %+v", when, all)
		}
		if _, groups := f.c.ListGroups(nil, nil); len(groups) != 0 {
			t.Fatalf("%s: groups %+v", when, groups)
		}
	}
	check(f, "after the commit")
	check(newFixture(t, f.log, nil), "after replay")
}

// TestOffsetDeleteDropsPendingTxnOffsets: OffsetDelete's tombstone deletes the partition's
// pending offsets too, in memory and on replay alike.
func TestOffsetDeleteDropsPendingTxnOffsets(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.txnCommit(txnCommitReq("g", 7, 10))
	req := kmsg.NewPtrOffsetDeleteRequest()
	req.Group = "g"
	rt := kmsg.NewOffsetDeleteRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewOffsetDeleteRequestTopicPartition()
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	if resp := f.c.OffsetDelete(context.Background(), req); resp.ErrorCode != 0 || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("offset delete: %+v", resp)
	}
	f.marker(7, true)
	if code, o := f.fetchStable("g"); code != 0 || o != -1 {
		t.Fatalf("after delete and commit: code %d offset %d", code, o)
	}
	g := newFixture(t, f.log, nil)
	if code, o := g.fetchStable("g"); code != 0 || o != -1 {
		t.Fatalf("after replay: code %d offset %d", code, o)
	}
}

// TestTxnOffsetCommitConsumerGroup: a KIP-848 group checks member and epoch when sent; an
// epoch other than the member's is ILLEGAL_GENERATION (the transactional API's error in place
// of STALE_MEMBER_EPOCH).
func TestTxnOffsetCommitConsumerGroup(t *testing.T) {
	f := newConsumerFixture(t)
	if r := f.cgHeartbeat("g", "m1", 0); r.ErrorCode != 0 || r.MemberEpoch != 1 {
		t.Fatalf("join: %+v", r)
	}
	for _, tc := range []struct {
		member string
		epoch  int32
		want   int16
	}{
		{"m1", 1, 0},
		{"m1", 0, kerr.IllegalGeneration.Code},
		{"m1", 2, kerr.IllegalGeneration.Code},
		{"m2", 1, kerr.UnknownMemberID.Code},
		{"", -1, 0},
	} {
		req := txnCommitReq("g", 7, 1)
		req.MemberID, req.Generation = tc.member, tc.epoch
		if code := f.txnCommit(req); code != tc.want {
			t.Errorf("member %q epoch %d: code %d, want %d", tc.member, tc.epoch, code, tc.want)
		}
	}
}

// TestTxnOffsetCommitTellsTheLagEvaluator: offsets that become committed at a transaction's
// COMMIT marker reach OnOffsetCommit as OffsetCommit's do; aborted ones do not.
func TestTxnOffsetCommitTellsTheLagEvaluator(t *testing.T) {
	f := newFixture(t, nil, nil)
	type seen struct {
		group, topic string
		partition    int32
		offset       int64
	}
	var mu sync.Mutex
	var got []seen
	f.c.cfg.OnOffsetCommit = func(group, topic string, partition int32, offset int64, _ time.Time) {
		mu.Lock()
		got = append(got, seen{group, topic, partition, offset})
		mu.Unlock()
	}
	f.txnCommit(txnCommitReq("g", 7, 10))
	f.marker(7, false)
	f.txnCommit(txnCommitReq("g", 7, 12))
	mu.Lock()
	if len(got) != 0 {
		t.Fatalf("told of pending or aborted offsets: %v", got)
	}
	mu.Unlock()
	f.marker(7, true)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != (seen{"g", "t", 0, 12}) {
		t.Fatalf("after the commit marker: %v, want g t 0 12", got)
	}
}
