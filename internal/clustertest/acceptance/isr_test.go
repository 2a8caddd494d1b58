package acceptance

import (
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// A follower paused (SIGSTOP) for longer than replica.lag.time.max.ms is shrunk out of the
// ISR by its leader while its session with the controller lives on (it stays registered and
// unfenced: this is lag, not death), and is expanded back in after SIGCONT once it has caught
// up.
//
// The ISR is read with a Metadata request sent straight to each broker that runs, in turn
// (cluster.metadata), not through a long-lived client: franz-go answers kadm's ListTopics from
// its metadata cache for metadata.min.age (5 s), and sends a request it does refresh to any
// broker it knows, the paused one included, where it hangs for the client's 10 s dial timeout
// whatever the context says; a few of those in a row outlast any deadline.
func TestPausedFollowerLeavesAndRejoinsISR(t *testing.T) {
	pausedFollowerLeavesAndRejoinsISR(t, false)
}

// The same when the paused follower is the active controller: its leader's AlterPartition,
// forwarded to it before the quorum elects another, goes to the new controller once Raft shows
// one (it waited out its whole 30 s timeout on the paused node, holding every ISR change of
// the partition meanwhile).
func TestPausedControllerLeavesAndRejoinsISR(t *testing.T) {
	pausedFollowerLeavesAndRejoinsISR(t, true)
}

func pausedFollowerLeavesAndRejoinsISR(t *testing.T, pauseController bool) {
	const topic, partitions = "lag", int32(3)
	c := startCluster(t, 3, "broker.session.timeout.ms=60000")
	c.createTopic(topic, partitions, 3, nil)
	c.logOnFailure(func(line string) bool {
		return strings.Contains(line, "topic="+topic) &&
			(strings.Contains(line, "ISR") || strings.Contains(line, "AlterPartition") || strings.Contains(line, "leader"))
	})
	ctrl := c.controller()
	// The first broker that is not the active controller, or the active controller.
	follower := ctrl
	for id := int32(1); id <= 3 && !pauseController && follower == ctrl; id++ {
		follower = id
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
	// (its session outlives the test), and its records would fill the producer's buffer. The
	// writes go on while the follower is paused (parked until the shrink, acks=all), so the
	// leader's log end moves past the follower's: only an out-of-sync replica is shrunk.
	prod := startProducer(t, c, topic, []int32{part})
	waitProgress(t, prod.l, part, 20)

	c.pause(follower) // resumed at the test's end whatever happens, before the producer stops
	c.waitPartition(topic, part, "the paused follower out of the ISR", func(tp *kmsg.MetadataResponseTopicPartition) bool {
		return !slices.Contains(tp.ISR, follower) && len(tp.ISR) == 2
	})
	if m := c.metadata(); m == nil || !slices.ContainsFunc(m.Brokers, func(b kmsg.MetadataResponseBroker) bool { return b.NodeID == follower }) {
		t.Fatalf("broker %d was fenced, want it only out of the ISR", follower)
	}
	// Writes go on with the two that are in sync.
	waitProgress(t, prod.l, part, 50)

	c.resume(follower)
	c.waitPartition(topic, part, "the resumed follower back in the ISR", func(tp *kmsg.MetadataResponseTopicPartition) bool {
		return slices.Contains(tp.ISR, follower)
	})
	prod.stop()
	for _, err := range prod.l.failures() {
		t.Errorf("a record failed: %v", err)
	}
	verify(t, c, topic, partitions, prod.l)
}
