package group

import (
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/group/consumergroup"
	"github.com/gregorhq/gregor/internal/metadata"
)

// KIP-848 consumer groups live in the same per-shard map as classic groups: a Group whose
// consumer field is set is a consumer group, served by the consumergroup state machine, and
// keeps its committed offsets in the same place as a classic group does. One map keyed by
// group id is what guarantees that a classic group and a consumer group never share a name.
//
// Kafka's conversions between the two are allowed only through an empty group: a
// ConsumerGroupHeartbeat join turns an Empty classic group into a consumer group (its
// offsets stay), and a classic JoinGroup turns an empty consumer group back into a classic
// one. A non-empty group of the other type is GROUP_ID_NOT_FOUND for
// ConsumerGroupHeartbeat and INCONSISTENT_GROUP_PROTOCOL for JoinGroup.

// consumerConfig builds the state machine's settings from the broker's group.consumer.*
// configs; settings that the state machine refuses fall back to Kafka's defaults, which
// config.Validate makes unreachable for a validated broker config.
func consumerConfig(b config.Broker) consumergroup.Config {
	cfg := consumergroup.Config{
		SessionTimeout:    time.Duration(b.GroupConsumerSessionTimeoutMs) * time.Millisecond,
		HeartbeatInterval: time.Duration(b.GroupConsumerHeartbeatIntervalMs) * time.Millisecond,
		MaxSize:           int(b.GroupConsumerMaxSize),
	}
	for _, a := range strings.Split(b.GroupConsumerAssignors, ",") {
		if a = strings.TrimSpace(a); a != "" {
			cfg.Assignors = append(cfg.Assignors, a)
		}
	}
	if cfg.Validate() != nil {
		return consumergroup.DefaultConfig()
	}
	return cfg
}

// topicsOf is the view of an image's topics consumer groups assign from. It is built once
// per image and never modified afterwards (SetTopics keeps it).
func topicsOf(img *metadata.Image) map[string]consumergroup.TopicInfo {
	out := make(map[string]consumergroup.TopicInfo, len(img.Topics))
	for name, t := range img.Topics {
		if name == OffsetsTopic {
			continue
		}
		out[name] = consumergroup.TopicInfo{ID: t.ID, Partitions: int32(len(t.Partitions))}
	}
	return out
}

// applyTopics hands a new image's topics to every consumer group. The map is published
// before the shards are walked, so a group created concurrently sees either the new map at
// creation or is in its shard's map when the walk reaches it.
func (c *Coordinator) applyTopics(img *metadata.Image) {
	topics := topicsOf(img)
	c.topics.Store(&topics)
	for _, s := range c.loadedShards() {
		s.Lock()
		for _, g := range s.groups {
			g.mu.Lock()
			if g.consumer != nil {
				g.consumer.SetTopics(topics)
			}
			if g.share != nil {
				g.share.SetTopics(shareTopics(topics))
			}
			g.mu.Unlock()
		}
		s.Unlock()
	}
}

// currentTopics is the latest image's topics (empty before the first image).
func (c *Coordinator) currentTopics() map[string]consumergroup.TopicInfo {
	if p := c.topics.Load(); p != nil {
		return *p
	}
	return map[string]consumergroup.TopicInfo{}
}

// ConsumerGroupHeartbeat serves a KIP-848 ConsumerGroupHeartbeat: join, heartbeat,
// subscription change or leave. The response is complete but for the throttle time.
func (c *Coordinator) ConsumerGroupHeartbeat(req *kmsg.ConsumerGroupHeartbeatRequest, clientID, clientHost string) *kmsg.ConsumerGroupHeartbeatResponse {
	fail := func(err error) *kmsg.ConsumerGroupHeartbeatResponse {
		resp := kmsg.NewPtrConsumerGroupHeartbeatResponse()
		resp.Version = req.Version
		resp.ErrorCode, resp.ErrorMessage = consumergroup.ErrorCode(err)
		return resp
	}
	if err := consumergroup.ValidateHeartbeatRequest(req, c.consumerCfg); err != nil {
		return fail(err)
	}
	g, err := c.consumerGroupForHeartbeat(req)
	if err != nil {
		return fail(err)
	}
	defer g.mu.Unlock()
	resp := g.consumer.Heartbeat(c.clock.Now(), req, clientID, clientHost)
	g.armConsumerTimerLocked()
	return resp
}

// consumerGroupForHeartbeat finds, creates or converts the consumer group a heartbeat is
// for; the group's mu is held on success.
func (c *Coordinator) consumerGroupForHeartbeat(req *kmsg.ConsumerGroupHeartbeatRequest) (*Group, error) {
	s, err := c.shardFor(req.Group)
	if err != nil {
		return nil, err
	}
	defer s.Unlock()
	join := req.MemberEpoch == 0
	g := s.groups[req.Group]
	if g == nil {
		if !join {
			// Kafka answers a member of a group it does not know this way, so the member
			// rejoins with epoch 0 (after a coordinator restart, for one).
			return nil, kerr.UnknownMemberID
		}
		g = c.newGroup(s, req.Group)
		s.groups[req.Group] = g
	}
	g.mu.Lock()
	if g.share != nil {
		g.mu.Unlock()
		return nil, kerr.GroupIDNotFound
	}
	if g.consumer == nil {
		// A classic group: only an empty one may become a consumer group (Kafka's online
		// upgrade of an empty group), and only through a join. An Empty group that merely
		// holds offsets counts as unknown to a member that has an epoch.
		switch {
		case g.state != Empty:
			g.mu.Unlock()
			return nil, kerr.GroupIDNotFound
		case !join:
			g.mu.Unlock()
			return nil, kerr.UnknownMemberID
		}
		g.toConsumerLocked()
	}
	return g, nil
}

// toConsumerLocked turns an Empty classic group into an empty consumer group; its offsets
// stay.
func (g *Group) toConsumerLocked() {
	for id, stop := range g.pending {
		stop()
		delete(g.pending, id)
	}
	g.stopJoinTimerLocked()
	g.protocolType, g.protocol, g.leader, g.generation = "", nil, "", 0
	g.consumer = consumergroup.New(g.id, g.c.consumerCfg)
	g.consumer.SetTopics(g.c.currentTopics())
}

// toClassicLocked turns an empty consumer group back into an empty classic group (Kafka's
// offline downgrade); its offsets stay.
func (g *Group) toClassicLocked() {
	g.stopConsumerTimerLocked()
	g.consumer = nil
	g.transitionLocked(Empty)
}

// armConsumerTimerLocked sets the group's one timer to its next session or rebalance
// deadline; when it fires, expired members are removed and the timer re-armed.
func (g *Group) armConsumerTimerLocked() {
	g.stopConsumerTimerLocked()
	if g.consumer == nil {
		return
	}
	next := g.consumer.NextDeadline()
	if next.IsZero() {
		return
	}
	g.consumerTimerSeq++
	seq, cg := g.consumerTimerSeq, g.consumer
	g.consumerTimerStop = g.c.afterFunc(next.Sub(g.c.clock.Now()), func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.consumerTimerSeq != seq || g.consumer != cg || g.state == Dead {
			return // re-armed, converted or shut down since
		}
		g.consumerTimerStop = nil
		cg.Expire(g.c.clock.Now())
		g.armConsumerTimerLocked()
	})
}

func (g *Group) stopConsumerTimerLocked() {
	if g.consumerTimerStop != nil {
		g.consumerTimerStop()
		g.consumerTimerStop = nil
	}
	g.consumerTimerSeq++
}

// ConsumerGroupDescribe describes one consumer group. A group that does not exist, or is a
// classic group, is GROUP_ID_NOT_FOUND, as Kafka answers. AuthorizedOperations is left for
// the caller.
func (c *Coordinator) ConsumerGroupDescribe(groupID string) kmsg.ConsumerGroupDescribeResponseGroup {
	fail := func(err error, msg string) kmsg.ConsumerGroupDescribeResponseGroup {
		d := kmsg.NewConsumerGroupDescribeResponseGroup()
		d.Group = groupID
		d.ErrorCode = errCode(err)
		if msg != "" {
			d.ErrorMessage = &msg
		}
		return d
	}
	g, err := c.group(groupID, false)
	if err != nil {
		return fail(err, "")
	}
	if g == nil {
		return fail(kerr.GroupIDNotFound, "Group "+groupID+" not found.")
	}
	defer g.mu.Unlock()
	if g.consumer == nil || g.state == Dead {
		return fail(kerr.GroupIDNotFound, "Group "+groupID+" is not a consumer group.")
	}
	return g.consumer.Describe()
}

// consumerSubscribedLocked reports whether a consumer group's members subscribe to, or are
// assigned, a topic (OffsetDelete refuses to delete those offsets).
func (g *Group) consumerSubscribedLocked() func(string) bool {
	topics := map[string]bool{}
	regexes := false
	d := g.consumer.Describe()
	for _, m := range d.Members {
		for _, t := range m.SubscribedTopics {
			topics[t] = true
		}
		if m.SubscribedTopicRegex != nil && *m.SubscribedTopicRegex != "" {
			regexes = true
		}
		for _, a := range [][]kmsg.AssignmentTopicPartition{m.Assignment.TopicPartitions, m.TargetAssignment.TopicPartitions} {
			for _, tp := range a {
				topics[tp.Topic] = true
			}
		}
	}
	if regexes {
		// The regex is matched against topics by the state machine; without its matcher here,
		// treat every topic as subscribed so that nothing in use is deleted.
		return func(string) bool { return true }
	}
	return func(t string) bool { return topics[t] }
}
