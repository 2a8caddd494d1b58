package controller

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/metadata"
)

// Broker lifecycle, as the active controller sees it (Kafka's BrokerHeartbeatManager and
// ReplicationControlManager):
//
//	register (fenced) --heartbeat, caught up--> unfenced --no heartbeat for the session timeout--> fenced
//	                                            unfenced --heartbeat wantShutDown--> leadership moved away, then fenced
//
// Fencing a broker moves leadership of its partitions to another ISR member and removes it
// from ISRs (see elections.go). Liveness (lastHeartbeat) lives only in the active controller's
// memory: a new active controller starts every broker's timer from "now", as Kafka does.
//
// Broker epochs (Kafka's, KIP-631): every registration gets a new epoch, the offset of its log
// entry, kept in the image (metadata.Broker.Epoch). The broker names it on every heartbeat and
// AlterPartition; a request with any other epoch is refused with STALE_BROKER_EPOCH and changes
// nothing, so a process of a replaced incarnation (paused while a new one registered, then
// resumed) can neither keep the broker's session alive nor change an ISR.

// BrokerHeartbeat is one heartbeat of a broker (Kafka's BrokerHeartbeatRequest).
type BrokerHeartbeat struct {
	BrokerID int32
	// BrokerEpoch is the epoch the broker's registration returned.
	BrokerEpoch int64
	// MetadataOffset is how far the broker has applied the metadata log.
	MetadataOffset uint64
	WantFence      bool
	WantShutDown   bool
}

// HeartbeatResult is the controller's answer to a heartbeat.
type HeartbeatResult struct {
	IsCaughtUp     bool
	IsFenced       bool
	ShouldShutDown bool
}

// RegisterBroker records a broker's registration (or its new registration, replacing the old).
// A broker registered fenced loses the leadership of its partitions until it heartbeats again
// (a restart). On a node that is not the active controller it is forwarded, and then always
// registers fenced (Kafka's BrokerRegistration). It returns the broker's epoch, or a
// *kerr.Error (NOT_CONTROLLER) or the context's error on failure. The epoch of this node's
// own broker is kept for its heartbeats and AlterPartitions (see BrokerEpoch).
func (c *Controller) RegisterBroker(ctx context.Context, b metadata.Broker) (int64, error) {
	if b.ID < 0 {
		return 0, &codedError{kerr.InvalidRequest, fmt.Sprintf("invalid broker id %d", b.ID)}
	}
	return c.register(ctx, b, -1)
}

// register is RegisterBroker; previousEpoch is as in registerBroker.
func (c *Controller) register(ctx context.Context, b metadata.Broker, previousEpoch int64) (int64, error) {
	var epoch int64
	var err error
	if !c.isActive() && c.remote() {
		epoch, err = c.forwardRegisterBroker(ctx, b, previousEpoch)
	} else {
		epoch, err = c.registerBroker(ctx, b, "", previousEpoch)
	}
	if err == nil && b.ID == c.cfg.NodeID {
		c.brokerEpoch.Store(epoch)
	}
	return epoch, err
}

// BrokerEpoch is the epoch of this node's broker as its last registration returned (0 before
// it registered).
func (c *Controller) BrokerEpoch() int64 { return c.brokerEpoch.Load() }

// registerBroker decides a registration on the active controller and returns the broker's
// epoch. raftAddr, when not empty, is the Raft address of a broker-only node, which joins the
// quorum as a non-voter. A registration that changes nothing (a retry of the same incarnation)
// keeps its epoch; any other gets a new one.
//
// previousEpoch is -1 for the registration of a starting process. A running process that
// registers again (its heartbeat was refused for its epoch) names the epoch it had
// (BrokerRegistration v3's PreviousBrokerEpoch); if another incarnation holds the
// registration now, that process was replaced while it was paused or cut off, and it is
// refused with DUPLICATE_BROKER_REGISTRATION rather than allowed to take the broker back
// from its replacement.
func (c *Controller) registerBroker(ctx context.Context, b metadata.Broker, raftAddr string, previousEpoch int64) (int64, error) {
	var refused error
	err := c.decide(ctx, func(img *metadata.Image) []metadata.Record {
		old, ok := img.Brokers[b.ID]
		if ok && brokersEqual(old, b) {
			return nil
		}
		if ok && previousEpoch >= 0 && old.IncarnationID != b.IncarnationID {
			refused = fail(kerr.DuplicateBrokerRegistration, fmt.Sprintf(
				"broker %d (epoch %d) was registered again by another incarnation (epoch %d)", b.ID, previousEpoch, old.Epoch))
			return nil
		}
		// No Epoch: a new registration, whose epoch is its log offset.
		recs := []metadata.Record{metadata.BrokerRecord{
			ID: b.ID, Endpoints: b.Endpoints, Rack: b.Rack, Fenced: b.Fenced, IncarnationID: b.IncarnationID,
		}}
		if b.Fenced {
			recs = append(recs, c.electAll(img, []int32{b.ID}, c.aliveWithout(img, b.ID), false)...)
		}
		c.brokersMu.Lock()
		c.lastHeartbeat[b.ID] = c.cfg.Now()
		delete(c.shuttingDown, b.ID)
		c.brokersMu.Unlock()
		return recs
	})
	if err == nil {
		err = refused
	}
	if err != nil {
		return 0, err
	}
	// The image holds the registration now (decide returns once it is applied here). A later
	// registration of the same id may have followed it; then this one's epoch is already stale
	// and its heartbeats are refused, which is what a superseded registration deserves.
	epoch := c.Image().Brokers[b.ID].Epoch
	if raftAddr == "" {
		return epoch, nil
	}
	return epoch, c.addNonvoter(b.ID, raftAddr)
}

// addNonvoter makes a broker-only node follow the metadata log.
func (c *Controller) addNonvoter(id int32, addr string) error {
	f := c.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	for _, s := range f.Configuration().Servers {
		if s.ID == serverID(id) && string(s.Address) == addr {
			return nil
		}
	}
	if err := c.raft.AddNonvoter(serverID(id), raftAddress(addr), 0, 5*time.Second).Error(); err != nil {
		return &codedError{kerr.NotController, err.Error()}
	}
	return nil
}

func brokersEqual(a, b metadata.Broker) bool {
	return a.ID == b.ID && a.Rack == b.Rack && a.Fenced == b.Fenced && a.IncarnationID == b.IncarnationID &&
		slices.Equal(a.Endpoints, b.Endpoints)
}

// aliveWithout is the active controller's liveness: registered, unfenced, not in controlled
// shutdown, and not one of gone.
func (c *Controller) aliveWithout(img *metadata.Image, gone ...int32) aliveFunc {
	c.brokersMu.Lock()
	shutting := make([]int32, 0, len(c.shuttingDown))
	for id := range c.shuttingDown {
		shutting = append(shutting, id)
	}
	c.brokersMu.Unlock()
	return imageAlive(img, append(shutting, gone...)...)
}

// Heartbeat handles a broker heartbeat on any node (forwarded to the active controller).
func (c *Controller) Heartbeat(ctx context.Context, hb BrokerHeartbeat) (HeartbeatResult, error) {
	if !c.isActive() && c.remote() {
		return c.forwardHeartbeat(ctx, hb)
	}
	return c.heartbeat(ctx, hb)
}

func (c *Controller) heartbeat(ctx context.Context, hb BrokerHeartbeat) (HeartbeatResult, error) {
	var res HeartbeatResult
	var refused error
	err := c.decide(ctx, func(img *metadata.Image) []metadata.Record {
		b, ok := img.Brokers[hb.BrokerID]
		if !ok {
			refused = fail(kerr.BrokerIDNotRegistered, fmt.Sprintf("broker %d is not registered", hb.BrokerID))
			return nil
		}
		// Before anything else, and before the session timer: a stale heartbeat must not keep
		// the registration of a newer incarnation alive.
		if hb.BrokerEpoch != b.Epoch {
			refused = staleBrokerEpoch(b, hb.BrokerEpoch)
			return nil
		}
		c.brokersMu.Lock()
		c.lastHeartbeat[hb.BrokerID] = c.cfg.Now()
		if hb.WantShutDown {
			c.shuttingDown[hb.BrokerID] = true
		}
		shutting := c.shuttingDown[hb.BrokerID]
		c.brokersMu.Unlock()

		// Caught up: the broker has applied the log at least up to its registration (whose
		// offset is its epoch).
		res.IsCaughtUp = hb.MetadataOffset >= uint64(b.Epoch)
		res.IsFenced = b.Fenced
		switch {
		case shutting:
			recs := c.electAll(img, []int32{b.ID}, c.aliveWithout(img), false)
			if len(recs) == 0 {
				// Nothing left to move: it may go, fenced so that nothing is placed on it.
				res.ShouldShutDown = true
				if !b.Fenced {
					b.Fenced = true
					res.IsFenced = true
					recs = append(recs, brokerRecord(b))
				}
			}
			return recs
		case hb.WantFence && !b.Fenced:
			b.Fenced = true
			res.IsFenced = true
			return append([]metadata.Record{brokerRecord(b)}, c.electAll(img, []int32{b.ID}, c.aliveWithout(img, b.ID), false)...)
		case !hb.WantFence && b.Fenced && res.IsCaughtUp:
			b.Fenced = false
			res.IsFenced = false
			next := []metadata.Record{brokerRecord(b)}
			alive := func(id int32) bool { return id == b.ID || c.aliveWithout(img)(id) }
			return append(next, c.electAll(img, []int32{b.ID}, alive, false)...)
		}
		return nil
	})
	if err == nil {
		err = refused
	}
	return res, err
}

// staleBrokerEpoch is the refusal of a request that names epoch for broker b.
func staleBrokerEpoch(b metadata.Broker, epoch int64) error {
	return fail(kerr.StaleBrokerEpoch, fmt.Sprintf("expected broker epoch %d of broker %d, but got %d", b.Epoch, b.ID, epoch))
}

// brokerRecord is the record of b's registration as it is, epoch included: a change of its
// state (fencing), not a new registration.
func brokerRecord(b metadata.Broker) metadata.BrokerRecord {
	return metadata.BrokerRecord{ID: b.ID, Endpoints: b.Endpoints, Rack: b.Rack, Fenced: b.Fenced, IncarnationID: b.IncarnationID, Epoch: b.Epoch}
}

// resetLiveness starts every broker's session timer from now and forgets controlled
// shutdowns in progress: a new active controller knows nothing of the old one's timers.
func (c *Controller) resetLiveness(img *metadata.Image) {
	c.brokersMu.Lock()
	defer c.brokersMu.Unlock()
	now := c.cfg.Now()
	clear(c.lastHeartbeat)
	clear(c.shuttingDown)
	for id := range img.Brokers {
		c.lastHeartbeat[id] = now
	}
}

// livenessLoop fences brokers whose session expired, gives offline partitions whose topic
// allows it an unclean leader, and, with auto.leader.rebalance.enable, moves leadership back
// to preferred replicas; only the active controller acts.
func (c *Controller) livenessLoop() {
	defer c.wg.Done()
	tick := c.cfg.SessionTimeout / 8
	if tick < 10*time.Millisecond {
		tick = 10 * time.Millisecond
	}
	if tick > time.Second {
		tick = time.Second
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	lastRebalance := c.cfg.Now()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		if !c.isActive() {
			continue
		}
		c.fenceExpired()
		c.electOfflineUnclean()
		if c.cfg.AutoLeaderRebalance && c.cfg.Now().Sub(lastRebalance) >= c.cfg.ImbalanceCheckInterval {
			lastRebalance = c.cfg.Now()
			c.rebalanceLeaders()
		}
	}
}

// fenceExpired fences the unfenced brokers that missed their session timeout.
func (c *Controller) fenceExpired() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.decide(ctx, func(img *metadata.Image) []metadata.Record {
		now := c.cfg.Now()
		var expired []int32
		c.brokersMu.Lock()
		for id, b := range img.Brokers {
			last, ok := c.lastHeartbeat[id]
			if !ok {
				c.lastHeartbeat[id] = now
				continue
			}
			if !b.Fenced && now.Sub(last) > c.cfg.SessionTimeout && id != c.cfg.NodeID {
				expired = append(expired, id)
			}
		}
		c.brokersMu.Unlock()
		if len(expired) == 0 {
			return nil
		}
		slices.Sort(expired)
		c.log.Info("fencing brokers whose session expired", "brokers", expired)
		var recs []metadata.Record
		for _, id := range expired {
			b := img.Brokers[id]
			b.Fenced = true
			recs = append(recs, brokerRecord(b))
		}
		return append(recs, c.electAll(img, expired, c.aliveWithout(img, expired...), false)...)
	})
	if err != nil {
		c.log.Warn("fencing failed", "err", err)
	}
}

// electOfflineUnclean gives a leader to the offline partitions (leader -1) whose topic allows
// unclean leader election and that have a live replica. Broker events run the same election,
// but an offline partition can become electable without one: unclean.leader.election.enable
// turned on for its topic or the cluster while its replicas are up (Kafka's controller also
// re-checks leaderless partitions periodically).
func (c *Controller) electOfflineUnclean() {
	if !c.hasUncleanCandidate(c.Image()) {
		return // the common case, decided without taking the decision slot
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.decide(ctx, func(img *metadata.Image) []metadata.Record {
		alive := c.aliveWithout(img)
		var recs []metadata.Record
		for _, name := range img.TopicNames() {
			t := img.Topics[name]
			if !c.uncleanAllowed(img, t) {
				continue
			}
			for i := range t.Partitions {
				p := &t.Partitions[i]
				if p.Leader != -1 {
					continue
				}
				if ch := electionPlan(t, p, alive, false, true); ch != nil && ch.Leader != nil {
					c.log.Warn("unclean leader election", "topic", name, "partition", p.ID, "leader", *ch.Leader)
					recs = append(recs, *ch)
				}
			}
		}
		return recs
	})
	if err != nil {
		c.log.Warn("unclean election of offline partitions failed", "err", err)
	}
}

// hasUncleanCandidate reports whether some partition of img has no leader and a topic that
// allows unclean election.
func (c *Controller) hasUncleanCandidate(img *metadata.Image) bool {
	for _, t := range img.Topics {
		if !c.uncleanAllowed(img, t) {
			continue
		}
		for i := range t.Partitions {
			if t.Partitions[i].Leader == -1 {
				return true
			}
		}
	}
	return false
}

// rebalanceLeaders moves leadership to preferred replicas when a broker leads more than
// leader.imbalance.per.broker.percentage percent fewer of its preferred partitions than it
// could (Kafka's auto leader rebalance).
func (c *Controller) rebalanceLeaders() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = c.decide(ctx, func(img *metadata.Image) []metadata.Record {
		preferred := map[int32]int{}
		notLed := map[int32]int{}
		for _, t := range img.Topics {
			for _, p := range t.Partitions {
				if len(p.Replicas) == 0 {
					continue
				}
				preferred[p.Replicas[0]]++
				if p.Leader != p.Replicas[0] {
					notLed[p.Replicas[0]]++
				}
			}
		}
		var imbalanced []int32
		for id, n := range preferred {
			if n > 0 && notLed[id]*100/n > int(c.cfg.ImbalancePercentage) {
				imbalanced = append(imbalanced, id)
			}
		}
		if len(imbalanced) == 0 {
			return nil
		}
		alive := c.aliveWithout(img)
		var recs []metadata.Record
		for _, name := range img.TopicNames() {
			t := img.Topics[name]
			for i := range t.Partitions {
				p := &t.Partitions[i]
				if len(p.Replicas) == 0 || !slices.Contains(imbalanced, p.Replicas[0]) || p.Leader == p.Replicas[0] {
					continue
				}
				if ch := electionPlan(t, p, alive, true, false); ch != nil && ch.Leader != nil && *ch.Leader == p.Replicas[0] {
					recs = append(recs, *ch)
				}
			}
		}
		return recs
	})
}
