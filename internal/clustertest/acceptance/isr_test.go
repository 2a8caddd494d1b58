package acceptance

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// A follower paused (SIGSTOP) for longer than replica.lag.time.max.ms is shrunk out of the
// ISR by its leader while its session with the controller lives on (it stays registered and
// unfenced: this is lag, not death), and is expanded back in after SIGCONT once it has caught
// up.
func TestPausedFollowerLeavesAndRejoinsISR(t *testing.T) {
	// Flaky: in one CI run of four the paused follower was still in the ISR after 30 s, and the
	// producer's cleanup then blocked on the paused broker until the suite's timeout. Skipped
	// until the ISR shrink of a SIGSTOPped follower is understood (issue note of this test).
	t.Skip("flaky: a SIGSTOPped follower sometimes stays in the ISR past 30 s")
	const topic, partitions = "lag", int32(3)
	c := startCluster(t, 3, "broker.session.timeout.ms=60000")
	c.createTopic(topic, partitions, 3, nil)
	ctrl := c.controller()
	var follower int32
	for id := int32(1); id <= 3 && follower == 0; id++ {
		if id != ctrl {
			follower = id
		}
	}
	var part int32 = -1
	for p := range partitions {
		if tp := partition(c.metadata(), topic, p); tp != nil && tp.Leader != follower {
			part = p
			break
		}
	}
	if part < 0 {
		t.Fatalf("broker %d leads every partition", follower)
	}
	// Only to that partition: a partition the paused broker leads takes no writes meanwhile
	// (its session outlives the test), and its records would fill the producer's buffer.
	prod := startProducer(t, c, topic, []int32{part})
	waitProgress(t, prod.l, part, 20)

	c.procs[follower-1].Pause()
	c.down[follower-1] = true // not asked for metadata meanwhile
	adm := kadm.NewClient(c.client())
	isrOf := func() []int32 {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		td, err := adm.ListTopics(ctx, topic)
		if err != nil || td[topic].Err != nil {
			return nil
		}
		return td[topic].Partitions[part].ISR
	}
	clustertest.WaitFor(t, 30*time.Second, "the paused follower out of the ISR", func() bool {
		isr := isrOf()
		return isr != nil && !slices.Contains(isr, follower)
	})
	if m := c.metadata(); m == nil || !slices.ContainsFunc(m.Brokers, func(b kmsg.MetadataResponseBroker) bool { return b.NodeID == follower }) {
		t.Fatalf("broker %d was fenced, want it only out of the ISR", follower)
	}
	// Writes go on with the two that are in sync.
	waitProgress(t, prod.l, part, 50)

	c.procs[follower-1].Resume()
	c.down[follower-1] = false
	clustertest.WaitFor(t, 30*time.Second, "the resumed follower back in the ISR", func() bool {
		return slices.Contains(isrOf(), follower)
	})
	prod.stop()
	for _, err := range prod.l.failures() {
		t.Errorf("a record failed: %v", err)
	}
	verify(t, c, topic, partitions, prod.l)
}
