package share_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// clusterMember is a share group member on a cluster: its heartbeats go to the group
// coordinator (kgo routes them), its ShareFetch and ShareAcknowledge to the broker it names.
type clusterMember struct {
	t         *testing.T
	cl        *kgo.Client
	group, id string
	topic     string
	topicID   [16]byte
	epoch     int32
	session   int32
}

// join (re)joins the group until the coordinator answers, and starts a new share session.
func (m *clusterMember) join() {
	m.t.Helper()
	var last error
	defer func() {
		if m.t.Failed() {
			m.t.Logf("last heartbeat error: %v", last)
		}
	}()
	clustertest.WaitFor(m.t, 30*time.Second, "member "+m.id+" joined", func() bool {
		req := kmsg.NewPtrShareGroupHeartbeatRequest()
		req.GroupID, req.MemberID, req.MemberEpoch, req.SubscribedTopicNames = m.group, m.id, 0, []string{m.topic}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := req.RequestWith(ctx, m.cl)
		if err == nil {
			err = kerr.ErrorForCode(resp.ErrorCode)
		}
		if last = err; err != nil {
			return false
		}
		m.epoch = resp.MemberEpoch
		return true
	})
	m.session = 0
}

// fetch sends a ShareFetch of partition 0 to broker, acquiring at most max records, and
// returns the acquired offsets, or the error the broker answered.
func (m *clusterMember) fetch(broker int32, max int32) ([]int64, error) {
	req := kmsg.NewPtrShareFetchRequest()
	req.GroupID, req.MemberID = &m.group, &m.id
	req.ShareSessionEpoch, req.MaxWaitMillis, req.MinBytes, req.MaxBytes, req.MaxRecords = m.session, 50, 1, 1<<20, max
	req.BatchSize = max
	rt := kmsg.NewShareFetchRequestTopic()
	rt.TopicID = m.topicID
	rt.Partitions = []kmsg.ShareFetchRequestTopicPartition{{Partition: 0}}
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, m.cl.Broker(int(broker)))
	if err != nil {
		return nil, err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return nil, err
	}
	m.session++
	var out []int64
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return nil, err
			}
			for _, r := range p.AcquiredRecords {
				for o := r.FirstOffset; o <= r.LastOffset; o++ {
					out = append(out, o)
				}
			}
		}
	}
	return out, nil
}

// accept acknowledges offsets (ACCEPT) with a ShareAcknowledge to broker and returns the
// partition's error: nil means the acknowledgement is durable.
func (m *clusterMember) accept(broker int32, offsets []int64) error {
	req := kmsg.NewPtrShareAcknowledgeRequest()
	req.GroupID, req.MemberID, req.ShareSessionEpoch = &m.group, &m.id, m.session
	rt := kmsg.NewShareAcknowledgeRequestTopic()
	rt.TopicID = m.topicID
	rp := kmsg.NewShareAcknowledgeRequestTopicPartition()
	for _, o := range offsets {
		b := kmsg.NewShareAcknowledgeRequestTopicPartitionAcknowledgementBatch()
		b.FirstOffset, b.LastOffset, b.AcknowledgeTypes = o, o, []int8{1}
		rp.AcknowledgementBatches = append(rp.AcknowledgementBatches, b)
	}
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, m.cl.Broker(int(broker)))
	if err != nil {
		return err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return err
	}
	m.session++
	return kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode)
}

// leaderOf returns the leader of topic's partition 0 as the cluster's metadata says.
func leaderOf(t *testing.T, adm *kadm.Client, topic string) int32 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	md, err := adm.Metadata(ctx, topic)
	if err != nil {
		return -1
	}
	td, ok := md.Topics[topic]
	if !ok || td.Err != nil || len(td.Partitions) == 0 {
		return -1
	}
	return td.Partitions[0].Leader
}

// On three brokers, with the data topic and __share_group_state replicated three times: a
// member acknowledges records on the data partition's leader, that leader stops, and the
// new leader carries on from the committed state: no acknowledged record comes back, and
// every other record (those the member held unacknowledged included) is delivered. Where
// the leaders land is the controller's choice: the stopped broker may lead
// __share_group_state too (its leadership moves as well), or another broker does (the
// state is written and read there over the inter-broker listener).
func TestShareGroupSurvivesDataLeaderChange(t *testing.T) {
	c := clustertest.StartCluster(t, 3, clustertest.Overrides(
		"offsets.topic.num.partitions", "1",
		"offsets.topic.replication.factor", "3",
		"share.coordinator.state.topic.replication.factor", "3",
		"group.share.auto.offset.reset", "earliest",
		"group.share.record.lock.duration.ms", "60000",
	))
	addrs := c.Addrs()
	cl := client(t, addrs[0], kgo.SeedBrokers(addrs...))
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if r, err := adm.CreateTopic(ctx, 1, 3, nil, "moving"); err != nil || r.Err != nil {
		t.Fatalf("create: %v %v", err, r.Err)
	}
	const total = 30
	produce(t, cl, "moving", 0, total)
	topics, err := adm.ListTopics(ctx, "moving")
	if err != nil {
		t.Fatal(err)
	}

	m := &clusterMember{t: t, cl: cl, group: "gm", id: "member-1", topic: "moving", topicID: topics["moving"].ID}
	m.join()
	old := leaderOf(t, adm, "moving")
	// Acquire and accept 10 records on the first leader; then hold 5 more unacknowledged.
	var acked []int64
	clustertest.WaitFor(t, 30*time.Second, "10 records acknowledged on the first leader", func() bool {
		got, err := m.fetch(old, int32(10-len(acked)))
		if kerr.IsRetriable(err) {
			return false // __share_group_state is being created
		}
		if err != nil {
			t.Fatalf("fetch from leader %d: %v", old, err)
		}
		if len(got) > 0 {
			if err := m.accept(old, got); err != nil {
				t.Fatalf("acknowledging %v: %v", got, err)
			}
			acked = append(acked, got...)
		}
		return len(acked) >= 10
	})
	var held []int64
	clustertest.WaitFor(t, 30*time.Second, "5 records held on the first leader", func() bool {
		got, err := m.fetch(old, int32(5-len(held)))
		if err != nil {
			t.Fatalf("fetch from leader %d: %v", old, err)
		}
		held = append(held, got...)
		return len(held) >= 5
	})

	c.Stop(int(old - 1))
	// A client of the running brokers only: kgo would keep sending heartbeats to a stopped
	// coordinator it had found.
	var live []string
	for i := range c.N() {
		if int32(i+1) != old {
			live = append(live, c.Node(i).Addr())
		}
	}
	alive := client(t, live[0], kgo.SeedBrokers(live...))
	m.cl = alive
	aadm := kadm.NewClient(alive)
	var now int32
	clustertest.WaitFor(t, 30*time.Second, "a new leader of the data partition", func() bool {
		now = leaderOf(t, aadm, "moving")
		return now >= 0 && now != old
	})

	// The new leader serves the share-partition from __share_group_state: a new session there.
	wasAcked := map[int64]bool{}
	for _, o := range acked {
		wasAcked[o] = true
	}
	delivered := map[int64]bool{}
	m.session = 0
	clustertest.WaitFor(t, 45*time.Second, "every unacknowledged record delivered by the new leader", func() bool {
		got, err := m.fetch(now, 100)
		if err != nil {
			// The member may have to rejoin (its coordinator moved too), or the broker
			// may still be loading: start over with a new session.
			m.join()
			return false
		}
		for _, o := range got {
			if wasAcked[o] {
				t.Fatalf("offset %d was acknowledged on the old leader and is delivered again", o)
			}
			delivered[o] = true
		}
		if len(got) > 0 {
			if err := m.accept(now, got); err != nil {
				t.Fatalf("acknowledging %v on the new leader: %v", got, err)
			}
		}
		return len(delivered) == total-len(acked)
	})
	for _, o := range held {
		if !delivered[o] {
			t.Errorf("offset %d, held unacknowledged on the old leader, was not delivered again", o)
		}
	}
}
