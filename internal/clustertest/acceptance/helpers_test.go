package acceptance

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// fastFailover are the settings every test cluster runs with: short sessions, short lag, short
// waits, so that a failover takes a second or two rather than Kafka's tens of seconds.
var fastFailover = []string{
	"broker.heartbeat.interval.ms=100",
	"broker.session.timeout.ms=1200",
	"replica.lag.time.max.ms=1500",
	"replica.fetch.wait.max.ms=100",
	"replica.fetch.backoff.ms=50",
	"offsets.topic.num.partitions=3",
	"transaction.state.log.num.partitions=3",
	"group.initial.rebalance.delay.ms=0",
}

// cluster is a process cluster and which of its processes are up.
type cluster struct {
	t     *testing.T
	procs []*clustertest.Process
	down  []bool
}

func startCluster(t *testing.T, n int, overrides ...string) *cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs gregor processes")
	}
	procs := clustertest.StartProcessCluster(t, n, append(slices.Clone(fastFailover), overrides...)...)
	c := &cluster{t: t, procs: procs, down: make([]bool, n)}
	c.waitBrokers(n)
	return c
}

// addrs are the client addresses of the processes that are up.
func (c *cluster) addrs() []string {
	var out []string
	for i, p := range c.procs {
		if !c.down[i] {
			out = append(out, p.Addr())
		}
	}
	return out
}

// kill sends SIGKILL to node id (1-based).
func (c *cluster) kill(id int32) {
	c.procs[id-1].Kill()
	c.down[id-1] = true
}

// stop sends SIGTERM to node id and waits for it to exit.
func (c *cluster) stop(id int32) {
	c.t.Helper()
	if err := c.procs[id-1].Stop(); err != nil {
		c.t.Errorf("SIGTERM node %d: %v", id, err)
	}
	c.down[id-1] = true
}

// pause sends SIGSTOP to node id: alive, registered, silent. It is not asked for metadata
// until resume (a request to it would hang); the process resumes it at the test's end if the
// test does not (clustertest.Process.Pause).
func (c *cluster) pause(id int32) {
	c.procs[id-1].Pause()
	c.down[id-1] = true
}

// resume sends SIGCONT to node id.
func (c *cluster) resume(id int32) {
	c.procs[id-1].Resume()
	c.down[id-1] = false
}

// logOnFailure logs, if the test fails, the nodes' log lines that match: the few lines that
// explain a failure, which the full logs the processes dump then bury.
func (c *cluster) logOnFailure(match func(line string) bool) {
	c.t.Cleanup(func() {
		if !c.t.Failed() {
			return
		}
		for i, p := range c.procs {
			for line := range strings.Lines(p.Log()) {
				if match(line) {
					c.t.Logf("node %d: %s", i+1, strings.TrimSuffix(line, "\n"))
				}
			}
		}
	})
}

// restart starts node id again on its data directory.
func (c *cluster) restart(id int32) {
	c.procs[id-1].Restart()
	c.down[id-1] = false
}

// client is a franz-go client seeded with every process that is up.
func (c *cluster) client(opts ...kgo.Opt) *kgo.Client {
	c.t.Helper()
	opts = append([]kgo.Opt{kgo.SeedBrokers(c.addrs()...)}, opts...)
	if os.Getenv("GREGOR_TEST_KGO_LOG") != "" {
		opts = append(opts, kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelDebug, func() string {
			return time.Now().Format("15:04:05.000 ")
		})))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(cl.Close)
	return cl
}

// metadata asks the processes that are up, in turn, for all topics' metadata; nil when none
// answers.
func (c *cluster) metadata() *kmsg.MetadataResponse {
	for _, addr := range c.addrs() {
		if m := metadataFrom(addr); m != nil {
			return m
		}
	}
	return nil
}

// metadataFrom sends one Metadata request (all topics) to addr, nil on any failure.
func metadataFrom(addr string) *kmsg.MetadataResponse {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return nil
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	m, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl.SeedBrokers()[0])
	if err != nil {
		return nil
	}
	return m
}

// waitBrokers waits until metadata lists n brokers and a controller.
func (c *cluster) waitBrokers(n int) {
	c.t.Helper()
	clustertest.WaitFor(c.t, 30*time.Second, "the brokers in metadata", func() bool {
		m := c.metadata()
		return m != nil && len(m.Brokers) == n && m.ControllerID > 0
	})
}

// controller is the active controller's node id as metadata gives it.
func (c *cluster) controller() int32 {
	c.t.Helper()
	var id int32
	clustertest.WaitFor(c.t, 20*time.Second, "a controller", func() bool {
		m := c.metadata()
		if m != nil {
			id = m.ControllerID
		}
		return id > 0 && !c.down[id-1]
	})
	return id
}

// partition is topic's partition p in m, nil when m lacks it.
func partition(m *kmsg.MetadataResponse, topic string, p int32) *kmsg.MetadataResponseTopicPartition {
	if m == nil {
		return nil
	}
	for _, t := range m.Topics {
		if t.Topic != nil && *t.Topic == topic {
			for i := range t.Partitions {
				if t.Partitions[i].Partition == p {
					return &t.Partitions[i]
				}
			}
		}
	}
	return nil
}

// waitPartition waits until cond holds for topic's partition p and returns it.
func (c *cluster) waitPartition(topic string, p int32, what string, cond func(*kmsg.MetadataResponseTopicPartition) bool) kmsg.MetadataResponseTopicPartition {
	c.t.Helper()
	var got kmsg.MetadataResponseTopicPartition
	clustertest.WaitFor(c.t, 30*time.Second, what, func() bool {
		tp := partition(c.metadata(), topic, p)
		if tp == nil || tp.ErrorCode != 0 && !errors.Is(kerr.ErrorForCode(tp.ErrorCode), kerr.LeaderNotAvailable) {
			return false
		}
		got = *tp
		return cond(tp)
	})
	return got
}

// waitFullISR waits until every partition of topic has a live leader and all of its replicas
// in the ISR.
func (c *cluster) waitFullISR(topic string, partitions int32) {
	c.t.Helper()
	clustertest.WaitFor(c.t, 30*time.Second, "every replica of "+topic+" in sync", func() bool {
		m := c.metadata()
		for p := range partitions {
			tp := partition(m, topic, p)
			if tp == nil || tp.Leader < 0 || len(tp.ISR) != len(tp.Replicas) {
				return false
			}
		}
		return true
	})
}

// createTopic creates topic with partitions and replication factor rf and the given configs,
// and waits until every replica is in sync.
func (c *cluster) createTopic(topic string, partitions int32, rf int16, configs map[string]*string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := kadm.NewClient(c.client()).CreateTopic(ctx, partitions, rf, configs, topic)
	if err == nil {
		err = res.Err
	}
	if err != nil {
		c.t.Fatalf("create %s: %v", topic, err)
	}
	c.waitFullISR(topic, partitions)
}

// readAll reads topic's partitions from the start up to their current end offsets and
// returns each partition's records in offset order. The topic must hold no transactions: a
// partition is done when a record at its end offset-1 arrives, which a commit marker never
// does.
func (c *cluster) readAll(topic string, partitions int32) map[int32][]*kgo.Record {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := kadm.NewClient(c.client())
	var ends kadm.ListedOffsets
	clustertest.WaitFor(c.t, 30*time.Second, "end offsets of "+topic, func() bool {
		var err error
		ends, err = adm.ListEndOffsets(ctx, topic)
		return err == nil && ends.Error() == nil
	})
	offsets := map[int32]kgo.Offset{}
	for p := range partitions {
		offsets[p] = kgo.NewOffset().AtStart()
	}
	cons := c.client(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}))
	out := map[int32][]*kgo.Record{}
	done := map[int32]bool{}
	for p := range partitions {
		if o, _ := ends.Lookup(topic, p); o.Offset == 0 {
			done[p] = true
		}
	}
	for len(done) < int(partitions) {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			c.t.Fatalf("reading %s back: %v (done %v)", topic, ctx.Err(), done)
		}
		fs.EachRecord(func(r *kgo.Record) {
			out[r.Partition] = append(out[r.Partition], r)
			if o, _ := ends.Lookup(topic, r.Partition); r.Offset+1 >= o.Offset {
				done[r.Partition] = true
			}
		})
	}
	return out
}
