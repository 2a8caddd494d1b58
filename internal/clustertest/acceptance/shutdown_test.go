package acceptance

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// SIGTERM on a broker that leads partitions: its controlled shutdown moves leadership before
// it stops serving, so an acks=all producer writing all along sees no error that it does not
// retry by itself, and every record it had acknowledged is there to read.
func TestSigtermMovesLeadershipWithoutErrors(t *testing.T) {
	const topic, partitions = "term", int32(6)
	c := startCluster(t, 3)
	minISR := "2"
	c.createTopic(topic, partitions, 3, map[string]*string{"min.insync.replicas": &minISR})
	prod := startProducer(t, c, topic, allPartitions(partitions))
	for p := range partitions {
		waitProgress(t, prod.l, p, 20)
	}
	victim := c.waitPartition(topic, 0, "a leader", func(tp *kmsg.MetadataResponseTopicPartition) bool {
		return tp.Leader > 0
	}).Leader
	c.stop(victim)
	for p := range partitions {
		c.waitPartition(topic, p, "a leader other than the stopped broker", func(tp *kmsg.MetadataResponseTopicPartition) bool {
			return tp.Leader > 0 && tp.Leader != victim
		})
		waitProgress(t, prod.l, p, 20)
	}
	c.restart(victim)
	c.waitFullISR(topic, partitions)
	for p := range partitions {
		waitProgress(t, prod.l, p, 20)
	}
	prod.stop()
	for _, err := range prod.l.failures() {
		t.Errorf("a record failed: %v", err)
	}
	verify(t, c, topic, partitions, prod.l)
}
