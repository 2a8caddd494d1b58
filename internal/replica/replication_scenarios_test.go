package replica_test

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/storage"
)

// Followers copy the leader's batches byte for byte; acks=all is answered once the whole ISR
// has the batch; the high watermark is the smallest log end offset of the ISR; a stalled
// follower leaves the ISR after replica.lag.time.max.ms and comes back once it caught up,
// with its leader epoch checkpoint intact across the restart.
func TestReplicationISRAndHighWatermark(t *testing.T) {
	c := newCluster(t, time.Second, nil, rf3(1, 1), 1, 2, 3)
	leader := c.broker(1)
	all, one := client(t, leader, -1), client(t, leader, 1)
	for i := range 5 {
		produceOK(t, all, i+1)
	}
	lp := leader.partition(t)
	if hw := lp.HighWatermark(); hw != 15 {
		t.Fatalf("after acks=all produces the high watermark is %d, want 15", hw)
	}
	want := committed(t, lp)
	for _, id := range []int32{2, 3} {
		fp := c.broker(id).partition(t)
		waitFor(t, "followers to learn the high watermark", func() bool { return fp.HighWatermark() == 15 })
		if got := committed(t, fp); !bytes.Equal(got, want) {
			t.Fatalf("broker %d's log differs from the leader's", id)
		}
		if fp.IsLeader() {
			t.Fatalf("broker %d thinks it leads", id)
		}
	}
	epochsBefore := c.broker(3).partition(t).LeaderEpochs()
	if len(epochsBefore) != 1 || epochsBefore[0] != (storage.EpochEntry{Epoch: 1, StartOffset: 0}) {
		t.Fatalf("follower epochs %v, want [{1 0}]", epochsBefore)
	}

	// Broker 3 stops: the high watermark stays at its log end while it is in the ISR.
	fs3 := c.stop(3)
	produceOK(t, one, 2)
	waitFor(t, "broker 2 to fetch", func() bool { return c.broker(2).partition(t).LogEndOffset() == 17 })
	if hw := lp.HighWatermark(); hw != 15 {
		t.Fatalf("high watermark %d with an ISR member at 15, want 15 (ISR %v, calls %+v)", hw, c.isr(), c.alterCalls())
	}
	if sp := produce(t, all, 200*time.Millisecond, 1); sp.ErrorCode != kerr.RequestTimedOut.Code {
		t.Fatalf("acks=all with a stalled ISR member: %v, want REQUEST_TIMED_OUT", kerr.ErrorForCode(sp.ErrorCode))
	}

	// After replica.lag.time.max.ms it is shrunk out, and the high watermark moves on.
	waitFor(t, "the ISR to shrink to [1 2]", func() bool { return slices.Equal(c.isr(), []int32{1, 2}) })
	waitFor(t, "the high watermark to pass the stalled follower", func() bool { return lp.HighWatermark() == 18 })
	calls := c.alterCalls()
	if last := calls[len(calls)-1]; last.leaderEpoch != 1 || !slices.Equal(last.isr, []int32{1, 2}) {
		t.Fatalf("AlterPartition call %+v", last)
	}
	produceOK(t, all, 1) // two in sync, min.insync.replicas 1

	// Restarted, it keeps its epochs, catches up and is expanded back.
	b3 := c.start(3, fs3)
	c.publish(func(*metadata.Partition) {})
	fp := b3.partition(t)
	if got := fp.LeaderEpochs(); !slices.Equal(got, epochsBefore) {
		t.Fatalf("leader epochs after a restart %v, want %v", got, epochsBefore)
	}
	waitFor(t, "the ISR to expand back to [1 2 3]", func() bool { return slices.Equal(c.isr(), []int32{1, 2, 3}) })
	produceOK(t, all, 1)
	waitFor(t, "the restarted follower to learn the high watermark", func() bool { return fp.HighWatermark() == lp.HighWatermark() })
	if !bytes.Equal(committed(t, fp), committed(t, lp)) {
		t.Fatal("the restarted follower's log differs from the leader's")
	}
}

// An expansion the controller refuses with INELIGIBLE_REPLICA (the follower is in controlled
// shutdown) is dropped: the pending ISR must not keep the high watermark waiting for that
// follower once it stops fetching, or every acks=all write would time out.
func TestIneligibleReplicaDropsThePendingExpansion(t *testing.T) {
	part := rf3(1, 1)
	part.Replicas, part.ISR = []int32{1, 2}, []int32{1}
	c := newCluster(t, time.Minute, nil, part, 1)
	c.mu.Lock()
	c.ineligible = map[int32]bool{2: true}
	c.mu.Unlock()
	all := client(t, c.broker(1), -1)
	produceOK(t, all, 3)
	c.start(2, storage.NewMemFS())
	c.publish(func(*metadata.Partition) {})
	waitFor(t, "the refused expansion", func() bool {
		for _, call := range c.alterCalls() {
			if slices.Equal(call.isr, []int32{1, 2}) {
				return true
			}
		}
		return false
	})
	c.stop(2)
	if sp := produce(t, all, 5*time.Second, 1); sp.ErrorCode != 0 {
		t.Fatalf("acks=all after a refused expansion: %v (ISR %v, calls %+v)", kerr.ErrorForCode(sp.ErrorCode), c.isr(), c.alterCalls())
	}
}

// acks=all needs min.insync.replicas in the ISR before the append; acks=1 does not.
func TestNotEnoughReplicas(t *testing.T) {
	part := rf3(1, 1)
	part.ISR = []int32{1, 2}
	// Broker 3 never runs, so the ISR stays [1 2].
	c := newCluster(t, time.Minute, map[string]string{"min.insync.replicas": "3"}, part, 1, 2)
	all, one := client(t, c.broker(1), -1), client(t, c.broker(1), 1)
	if sp := produce(t, all, 5*time.Second, 1); sp.ErrorCode != kerr.NotEnoughReplicas.Code {
		t.Fatalf("acks=all with ISR 2 < min.insync.replicas 3: %v, want NOT_ENOUGH_REPLICAS", kerr.ErrorForCode(sp.ErrorCode))
	}
	if lp := c.broker(1).partition(t); lp.LogEndOffset() != 0 {
		t.Fatalf("a refused acks=all write was appended (log end %d)", lp.LogEndOffset())
	}
	produceOK(t, one, 1)
	// With min.insync.replicas 2 the same write succeeds once broker 2 has it.
	c.configs = map[string]string{"min.insync.replicas": "2"}
	c.publish(func(*metadata.Partition) {})
	produceOK(t, all, 1)
	if hw := c.broker(1).partition(t).HighWatermark(); hw != 2 {
		t.Fatalf("high watermark %d after acks=all, want 2", hw)
	}
}

// Fetch and OffsetForLeaderEpoch fence a stale or future leader epoch; followers answer
// neither consumers nor producers; a replica fetch from a broker outside the replica set
// is refused.
func TestLeaderEpochFencing(t *testing.T) {
	c := newCluster(t, time.Minute, nil, rf3(1, 5), 1, 2, 3)
	leader := c.broker(1)
	produceOK(t, client(t, leader, -1), 3)
	cl := client(t, leader, -1)

	fetch := func(cl *kgo.Client, replicaID, currentEpoch int32) int16 {
		req := kmsg.NewPtrFetchRequest()
		req.ReplicaID, req.ReplicaState.ID = replicaID, replicaID
		req.MaxBytes, req.SessionEpoch = 1<<20, -1
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic, rt.TopicID = topic, topicID
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.CurrentLeaderEpoch, rp.PartitionMaxBytes = currentEpoch, 1<<20
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return request[*kmsg.FetchResponse](t, cl, req).Topics[0].Partitions[0].ErrorCode
	}
	for _, tc := range []struct {
		name      string
		replicaID int32
		epoch     int32
		want      error
	}{
		{"consumer, current epoch", -1, 5, nil},
		{"consumer, no epoch", -1, -1, nil},
		{"consumer, older epoch", -1, 4, kerr.FencedLeaderEpoch},
		{"consumer, newer epoch", -1, 6, kerr.UnknownLeaderEpoch},
		{"follower, older epoch", 2, 4, kerr.FencedLeaderEpoch},
		{"follower, newer epoch", 2, 6, kerr.UnknownLeaderEpoch},
		{"unregistered replica id", 9, 5, kerr.NotLeaderForPartition},
	} {
		if got := fetch(cl, tc.replicaID, tc.epoch); got != errCode(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, kerr.ErrorForCode(got), tc.want)
		}
	}

	ofle := func(cl *kgo.Client, currentEpoch, epoch int32) kmsg.OffsetForLeaderEpochResponseTopicPartition {
		req := kmsg.NewPtrOffsetForLeaderEpochRequest()
		req.ReplicaID = -1
		rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		rp.CurrentLeaderEpoch, rp.LeaderEpoch = currentEpoch, epoch
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return request[*kmsg.OffsetForLeaderEpochResponse](t, cl, req).Topics[0].Partitions[0]
	}
	if r := ofle(cl, 5, 5); r.ErrorCode != 0 || r.LeaderEpoch != 5 || r.EndOffset != 3 {
		t.Errorf("OffsetForLeaderEpoch(5) = %v %d %d, want 5 3", kerr.ErrorForCode(r.ErrorCode), r.LeaderEpoch, r.EndOffset)
	}
	if r := ofle(cl, 5, 2); r.ErrorCode != 0 || r.LeaderEpoch != 2 || r.EndOffset != 0 {
		t.Errorf("OffsetForLeaderEpoch(2) = %v %d %d, want 2 0", kerr.ErrorForCode(r.ErrorCode), r.LeaderEpoch, r.EndOffset)
	}
	if r := ofle(cl, 4, 5); r.ErrorCode != kerr.FencedLeaderEpoch.Code {
		t.Errorf("OffsetForLeaderEpoch with an old current epoch: %v", kerr.ErrorForCode(r.ErrorCode))
	}
	if r := ofle(cl, 6, 5); r.ErrorCode != kerr.UnknownLeaderEpoch.Code {
		t.Errorf("OffsetForLeaderEpoch with a future current epoch: %v", kerr.ErrorForCode(r.ErrorCode))
	}

	follower := c.broker(2)
	fcl := client(t, follower, -1)
	// Before v11 a consumer may fetch only from the leader; from v11 (KIP-392) a follower
	// serves it up to its high watermark.
	v10 := kversion.Stable()
	v10.SetMaxKeyVersion(kmsg.Fetch.Int16(), 10)
	fcl10, err := kgo.NewClient(kgo.SeedBrokers(follower.addr()), kgo.MaxVersions(v10))
	if err != nil {
		t.Fatal(err)
	}
	defer fcl10.Close()
	if got := fetch(fcl10, -1, 5); got != kerr.NotLeaderForPartition.Code {
		t.Errorf("consumer fetch v10 from a follower: %v, want NOT_LEADER_OR_FOLLOWER", kerr.ErrorForCode(got))
	}
	if got := fetch(fcl, -1, 5); got != 0 {
		t.Errorf("consumer fetch v11 from a follower: %v, want served", kerr.ErrorForCode(got))
	}
	if sp := produce(t, fcl, time.Second, 1); sp.ErrorCode != kerr.NotLeaderForPartition.Code {
		t.Errorf("produce to a follower: %v, want NOT_LEADER_OR_FOLLOWER", kerr.ErrorForCode(sp.ErrorCode))
	}
	if r := ofle(fcl, 5, 5); r.ErrorCode != kerr.NotLeaderForPartition.Code {
		t.Errorf("OffsetForLeaderEpoch to a follower: %v", kerr.ErrorForCode(r.ErrorCode))
	}
}

func errCode(err error) int16 {
	if err == nil {
		return 0
	}
	return err.(*kerr.Error).Code
}

// A broker that led an epoch the others never saw wrote a tail that no one else has; when
// it becomes a follower of the next epoch it truncates that tail to where the leader's
// epoch ends and then follows the leader byte for byte. A follower fetch that claims the
// divergent epoch is told where it diverges.
func TestDivergentTailTruncation(t *testing.T) {
	c := newCluster(t, time.Minute, nil, rf3(1, 1), 1, 2, 3)
	all1 := client(t, c.broker(1), -1)
	produceOK(t, all1, 2)
	produceOK(t, all1, 3) // offsets [0,5) at epoch 1, on every broker

	// Broker 2 alone believes it leads epoch 2 and takes writes nobody replicates.
	c.applyOnly(2, func(p *metadata.Partition) { p.Leader, p.LeaderEpoch, p.ISR = 2, 2, []int32{2} })
	one2 := client(t, c.broker(2), 1)
	produceOK(t, one2, 4)
	produceOK(t, one2, 1)
	p2 := c.broker(2).partition(t)
	if p2.LogEndOffset() != 10 {
		t.Fatalf("broker 2 log end %d, want 10", p2.LogEndOffset())
	}

	// Epoch 3: broker 1 leads again; broker 2 follows and must drop offsets [5,10).
	c.publish(func(p *metadata.Partition) { p.Leader, p.LeaderEpoch, p.ISR = 1, 3, []int32{1, 3} })

	// The leader of epoch 3 tells a follower claiming epoch 2 that it diverges at 5.
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID, req.ReplicaState.ID, req.MaxBytes, req.SessionEpoch = 2, 2, 1<<20, -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, topicID
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.FetchOffset, rp.CurrentLeaderEpoch, rp.LastFetchedEpoch, rp.PartitionMaxBytes = 10, 3, 2, 1<<20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	got := request[*kmsg.FetchResponse](t, client(t, c.broker(1), -1), req).Topics[0].Partitions[0]
	if got.ErrorCode != 0 || got.DivergingEpoch.Epoch != 1 || got.DivergingEpoch.EndOffset != 5 || len(got.RecordBatches) != 0 {
		t.Fatalf("divergent follower fetch: %v diverging %+v, %d bytes; want epoch 1 end 5",
			kerr.ErrorForCode(got.ErrorCode), got.DivergingEpoch, len(got.RecordBatches))
	}

	waitFor(t, "broker 2 to truncate its divergent tail", func() bool { return p2.LogEndOffset() == 5 })
	produceOK(t, all1, 2)
	lp := c.broker(1).partition(t)
	waitFor(t, "broker 2 to follow the new epoch", func() bool { return p2.HighWatermark() == lp.LogEndOffset() })
	if !bytes.Equal(committed(t, p2), committed(t, lp)) {
		t.Fatal("after truncation broker 2's log differs from the leader's")
	}
	want := []storage.EpochEntry{{Epoch: 1, StartOffset: 0}, {Epoch: 3, StartOffset: 5}}
	if got := p2.LeaderEpochs(); !slices.Equal(got, want) {
		t.Fatalf("broker 2's epochs %v, want %v", got, want)
	}
	waitFor(t, "broker 2 back in the ISR", func() bool { return slices.Contains(c.isr(), 2) })
}

// An acks=all write parked for a follower that then drops out of the ISR completes when the
// high watermark passes it, but with NOT_ENOUGH_REPLICAS_AFTER_APPEND since the ISR is now
// below min.insync.replicas.
func TestNotEnoughReplicasAfterAppend(t *testing.T) {
	part := metadata.Partition{ID: 0, Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 1, LeaderEpoch: 1}
	c := newCluster(t, 500*time.Millisecond, map[string]string{"min.insync.replicas": "2"}, part, 1, 2)
	all := client(t, c.broker(1), -1)
	produceOK(t, all, 1)
	c.stop(2)
	sp := produce(t, all, 30*time.Second, 1)
	if sp.ErrorCode != kerr.NotEnoughReplicasAfterAppend.Code {
		t.Fatalf("acks=all while the ISR shrinks below min.insync.replicas: %v, want NOT_ENOUGH_REPLICAS_AFTER_APPEND",
			kerr.ErrorForCode(sp.ErrorCode))
	}
	if got := c.isr(); !slices.Equal(got, []int32{1}) {
		t.Fatalf("ISR %v, want [1]", got)
	}
	if sp := produce(t, all, time.Second, 1); sp.ErrorCode != kerr.NotEnoughReplicas.Code {
		t.Fatalf("acks=all with ISR [1]: %v, want NOT_ENOUGH_REPLICAS", kerr.ErrorForCode(sp.ErrorCode))
	}
}

// The high watermark survives a restart (replication-offset-checkpoint): a leader whose
// follower never fetched does not expose its unreplicated tail after it restarts.
func TestHighWatermarkCheckpoint(t *testing.T) {
	part := metadata.Partition{ID: 0, Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 1, LeaderEpoch: 1}
	c := newCluster(t, time.Minute, nil, part, 1) // broker 2 never runs
	produceOK(t, client(t, c.broker(1), 1), 3)
	if hw := c.broker(1).partition(t).HighWatermark(); hw != 0 {
		t.Fatalf("high watermark %d with a follower that never fetched, want 0", hw)
	}
	fs := c.stop(1)
	c.start(1, fs)
	c.publish(func(*metadata.Partition) {})
	p := c.broker(1).partition(t)
	if hw, leo := p.HighWatermark(), p.LogEndOffset(); hw != 0 || leo != 3 {
		t.Fatalf("after a restart: high watermark %d, log end %d; want 0, 3", hw, leo)
	}
}

// A new follower whose log end is below the leader's log start offset (records deleted on
// the leader) restarts its log there and then follows, joining the ISR.
func TestFollowerStartsAtLeaderLogStart(t *testing.T) {
	part := metadata.Partition{ID: 0, Replicas: []int32{1, 2}, ISR: []int32{1}, Leader: 1, LeaderEpoch: 1}
	c := newCluster(t, time.Minute, nil, part, 1)
	one := client(t, c.broker(1), 1)
	for range 3 {
		produceOK(t, one, 2)
	}
	lp := c.broker(1).partition(t)
	if lso, err := lp.DeleteRecords(4); err != nil || lso != 4 {
		t.Fatalf("DeleteRecords(4) = %d, %v", lso, err)
	}
	c.start(2, storage.NewMemFS())
	c.publish(func(*metadata.Partition) {})
	fp := c.broker(2).partition(t)
	waitFor(t, "the new follower to catch up", func() bool { return fp.LogEndOffset() == 6 })
	if fp.LogStartOffset() != 4 {
		t.Fatalf("follower log start %d, want 4", fp.LogStartOffset())
	}
	waitFor(t, "the new follower to join the ISR", func() bool { return slices.Equal(c.isr(), []int32{1, 2}) })
	produceOK(t, client(t, c.broker(1), -1), 1)
	waitFor(t, "the follower to learn the high watermark", func() bool { return fp.HighWatermark() == 7 })
	if !bytes.Equal(committed(t, fp), committed(t, lp)) {
		t.Fatal("follower's log differs from the leader's")
	}
	// Records deleted on the leader go on the follower too.
	if _, err := lp.DeleteRecords(6); err != nil {
		t.Fatal(err)
	}
	produceOK(t, one, 1)
	waitFor(t, "the follower to follow the leader's log start offset", func() bool { return fp.LogStartOffset() == 6 })
}
