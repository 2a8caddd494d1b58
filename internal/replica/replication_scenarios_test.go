package replica_test

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

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
