package group_test

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestSmokeGroupConsumeCommit(t *testing.T) {
	n := startNode(t)
	createTopic(t, n.Addr(), "smoke", 3)
	produce(t, n.Addr(), "smoke", 3, 10)
	cl := newClient(t, n.Addr(), kgo.ConsumerGroup("g1"), kgo.ConsumeTopics("smoke"), kgo.DisableAutoCommit(),
		kgo.SessionTimeout(2*time.Second), kgo.HeartbeatInterval(200*time.Millisecond))
	defer cl.Close()
	got := 0
	ctx := ctxT(t, 20*time.Second)
	for got < 30 {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		got += fs.NumRecords()
		if err := cl.CommitUncommittedOffsets(ctx); err != nil {
			t.Fatal(err)
		}
	}
	offs, err := admin(t, n.Addr()).FetchOffsets(ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	for p := int32(0); p < 3; p++ {
		if o, ok := offs.Lookup("smoke", p); !ok || o.At != 10 {
			t.Fatalf("partition %d: %+v %v", p, o, ok)
		}
	}
}
