package consumergroup

import (
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// topicID makes a recognisable id from a topic name.
func topicID(name string) TopicID {
	var id TopicID
	copy(id[:], name)
	return id
}

// client is what a consumer knows: its epoch and the partitions it owns, which are the last
// assignment it received (it revokes and adopts at once, unless the test says otherwise).
type client struct {
	id       string
	instance *string
	epoch    int32
	owned    partSet
	topics   []string
	assignor *string
}

// harness drives one Group with a fake clock and checks the ownership invariants after
// every step.
type harness struct {
	t       *testing.T
	g       *Group
	now     time.Time
	topics  map[string]TopicInfo
	clients map[string]*client
}

func newHarness(t *testing.T, cfg Config, topics map[string]int32) *harness {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, g: New("g", cfg), now: time.Unix(1_000_000, 0), clients: map[string]*client{}}
	h.setTopics(topics)
	return h
}

func (h *harness) setTopics(topics map[string]int32) bool {
	h.topics = map[string]TopicInfo{}
	for n, p := range topics {
		h.topics[n] = TopicInfo{ID: topicID(n), Partitions: p}
	}
	changed := h.g.SetTopics(h.topics)
	h.check()
	return changed
}

func (h *harness) advance(d time.Duration) { h.now = h.now.Add(d) }

// joinReq is a v1 join as franz-go sends it.
func (h *harness) joinReq(id string, topics ...string) *kmsg.ConsumerGroupHeartbeatRequest {
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Version = 1
	req.Group = "g"
	req.MemberID = id
	req.MemberEpoch = 0
	req.RebalanceTimeoutMillis = 60_000
	req.SubscribedTopicNames = append([]string{}, topics...)
	req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	return req
}

func (h *harness) join(id string, topics ...string) *kmsg.ConsumerGroupHeartbeatResponse {
	h.t.Helper()
	c := &client{id: id, topics: topics}
	h.clients[id] = c
	return h.send(c, h.joinReq(id, topics...))
}

func (h *harness) joinStatic(id, instance string, topics ...string) *kmsg.ConsumerGroupHeartbeatResponse {
	h.t.Helper()
	c := &client{id: id, topics: topics, instance: &instance}
	h.clients[id] = c
	req := h.joinReq(id, topics...)
	req.InstanceID = &instance
	return h.send(c, req)
}

// hbReq is a full heartbeat reporting what the client owns.
func (h *harness) hbReq(c *client) *kmsg.ConsumerGroupHeartbeatRequest {
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Version = 1
	req.Group = "g"
	req.MemberID = c.id
	req.MemberEpoch = c.epoch
	req.InstanceID = c.instance
	req.RebalanceTimeoutMillis = -1
	req.Topics = ownedTopics(c.owned)
	return req
}

func ownedTopics(s partSet) []kmsg.ConsumerGroupHeartbeatRequestTopic {
	a := toAssignment(s)
	out := []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	for _, t := range sortedKeys(a) {
		rt := kmsg.NewConsumerGroupHeartbeatRequestTopic()
		rt.TopicID = t
		rt.Partitions = a[t]
		out = append(out, rt)
	}
	return out
}

func (h *harness) hb(id string) *kmsg.ConsumerGroupHeartbeatResponse {
	h.t.Helper()
	c := h.clients[id]
	return h.send(c, h.hbReq(c))
}

// send delivers req for client c and applies a successful response to c.
func (h *harness) send(c *client, req *kmsg.ConsumerGroupHeartbeatRequest) *kmsg.ConsumerGroupHeartbeatResponse {
	h.t.Helper()
	resp := h.g.Heartbeat(h.now, req, "client-"+req.MemberID, "/127.0.0.1")
	if resp.ErrorCode == 0 && c != nil && req.MemberEpoch >= 0 {
		c.epoch = resp.MemberEpoch
		if resp.Assignment != nil {
			c.owned = partSet{}
			for _, t := range resp.Assignment.Topics {
				for _, p := range t.Partitions {
					c.owned[TopicPartition{t.TopicID, p}] = struct{}{}
				}
			}
		}
	}
	h.check()
	return resp
}

func (h *harness) leave(id string, epoch int32) *kmsg.ConsumerGroupHeartbeatResponse {
	h.t.Helper()
	c := h.clients[id]
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Version = 1
	req.Group = "g"
	req.MemberID = id
	req.MemberEpoch = epoch
	req.InstanceID = c.instance
	req.RebalanceTimeoutMillis = -1
	resp := h.send(c, req)
	if resp.ErrorCode == 0 {
		delete(h.clients, id)
	}
	return resp
}

// settle heartbeats every client in turn until the group is Stable, failing if it takes
// more than a few rounds.
func (h *harness) settle() {
	h.t.Helper()
	for round := 0; round < 10; round++ {
		for _, id := range h.clientIDs() {
			if resp := h.hb(id); resp.ErrorCode != 0 {
				h.t.Fatalf("heartbeat of %s: error %d %v", id, resp.ErrorCode, deref(resp.ErrorMessage))
			}
		}
		if h.g.State() == StateStable {
			return
		}
	}
	h.t.Fatalf("group did not become stable: %s", h.g.State())
}

func (h *harness) clientIDs() []string {
	var ids []string
	for id := range h.clients {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// check asserts the invariants: no partition is owned by two clients, nor by two members as
// the group sees it, and the group's owner index matches its members.
func (h *harness) check() {
	h.t.Helper()
	seen := map[TopicPartition]string{}
	for _, id := range h.clientIDs() {
		for tp := range h.clients[id].owned {
			if other, ok := seen[tp]; ok {
				h.t.Fatalf("partition %v owned by clients %s and %s", tp, other, id)
			}
			seen[tp] = id
		}
	}
	g := h.g
	g.mu.Lock()
	defer g.mu.Unlock()
	want := map[TopicPartition]string{}
	for id, m := range g.members {
		for _, s := range []partSet{m.assigned, m.pendingRevocation} {
			for tp := range s {
				if other, ok := want[tp]; ok {
					h.t.Fatalf("partition %v owned by members %s and %s", tp, other, id)
				}
				want[tp] = id
			}
		}
	}
	if len(want) != len(g.owner) {
		h.t.Fatalf("owner index has %d partitions, members own %d", len(g.owner), len(want))
	}
	for tp, id := range want {
		if g.owner[tp] != id {
			h.t.Fatalf("owner index says %v is %q's, members say %q's", tp, g.owner[tp], id)
		}
	}
	if g.assignmentEpoch > g.groupEpoch {
		h.t.Fatalf("assignment epoch %d > group epoch %d", g.assignmentEpoch, g.groupEpoch)
	}
}

// owned returns a client's partitions of topic as a sorted list.
func (h *harness) owned(id, topic string) []int32 {
	var ps []int32
	for tp := range h.clients[id].owned {
		if tp.Topic == topicID(topic) {
			ps = append(ps, tp.Partition)
		}
	}
	slices.Sort(ps)
	return ps
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func ptr[T any](v T) *T { return &v }
