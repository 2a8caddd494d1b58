package controller

import (
	"context"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/metadata"
)

// AlterPartition sets a partition's ISR on behalf of this node as its leader (Kafka's
// AlterPartition). leaderEpoch and partitionEpoch are what the leader last saw; the request
// carries this node's broker epoch (BrokerEpoch). It is refused with STALE_BROKER_EPOCH when
// that is not the broker's current epoch (a newer incarnation registered), FENCED_LEADER_EPOCH
// or INVALID_UPDATE_VERSION when the partition's epochs are stale, NOT_CONTROLLER when the
// controller is behind or not active, INVALID_REQUEST when this node is not the leader or the
// ISR leaves it out or names a non-replica, INELIGIBLE_REPLICA when it adds a fenced or
// shutting-down broker; otherwise the change is committed and the partition returned as
// committed. On a node that is not the active controller the request is forwarded.
//
// The broker epochs of the ISR members are not sent (the leader does not learn them: its
// followers fetch below Fetch v15, which would carry them), so an added replica is checked
// against its current registration only: registered, unfenced, not shutting down. An
// incarnation of it that a newer one replaced is fenced from the moment the newer one
// registers, and stays so until the newer one heartbeats, caught up.
func (c *Controller) AlterPartition(ctx context.Context, topic string, partition int32, leaderEpoch, partitionEpoch int32, isr []int32) (metadata.Partition, error) {
	req := alterPartitionRequest{
		brokerID: c.cfg.NodeID, brokerEpoch: c.BrokerEpoch(),
		topic: topic, partition: partition, leaderEpoch: leaderEpoch, partitionEpoch: partitionEpoch, isr: isr,
	}
	if !c.isActive() && c.remote() {
		return c.forwardAlterPartition(ctx, req)
	}
	return c.alterPartition(ctx, req)
}

// alterPartitionRequest is one partition of an AlterPartition.
type alterPartitionRequest struct {
	brokerID    int32
	brokerEpoch int64
	topic       string
	partition   int32
	// leaderEpoch and partitionEpoch are the partition's epochs as the leader saw them.
	leaderEpoch, partitionEpoch int32
	isr                         []int32
	// isrEpochs, when not nil, holds the broker epoch of each member of isr as the leader saw
	// it (AlterPartition v3's NewIsrWithEpochs, KIP-903), -1 where unknown.
	//
	// Invariant: nil or len(isrEpochs) == len(isr).
	isrEpochs []int64
}

func (c *Controller) alterPartition(ctx context.Context, req alterPartitionRequest) (metadata.Partition, error) {
	topic, partition := req.topic, req.partition
	var refused error
	err := c.decide(ctx, func(img *metadata.Image) []metadata.Record {
		if err := checkBrokerEpoch(img, req.brokerID, req.brokerEpoch); err != nil {
			refused = err
			return nil
		}
		t, p, ok := img.Partition(topic, partition)
		if !ok {
			refused = fail(kerr.UnknownTopicOrPartition, "")
			return nil
		}
		if ch, err := c.planAlterPartition(img, req.brokerID, t, p, req.leaderEpoch, req.partitionEpoch, req.isr, req.isrEpochs); err != nil {
			refused = err
		} else if ch != nil {
			return []metadata.Record{*ch}
		}
		return nil
	})
	if err == nil {
		err = refused
	}
	if err != nil {
		return metadata.Partition{}, err
	}
	_, p, ok := c.Image().Partition(topic, partition)
	if !ok {
		return metadata.Partition{}, fail(kerr.UnknownTopicOrPartition, "")
	}
	return *p, nil
}

// checkBrokerEpoch refuses a request of broker id that names epoch, unless that is the epoch
// of its current registration (Kafka's ClusterControlManager.checkBrokerEpoch).
func checkBrokerEpoch(img *metadata.Image, id int32, epoch int64) error {
	b, ok := img.Brokers[id]
	if !ok {
		return fail(kerr.StaleBrokerEpoch, fmt.Sprintf("broker %d is not registered", id))
	}
	if b.Epoch != epoch {
		return staleBrokerEpoch(b, epoch)
	}
	return nil
}

// planAlterPartition validates an AlterPartition in Kafka's order and returns the change, nil
// when the ISR is already the one asked for. isrEpochs is as in alterPartitionRequest.
func (c *Controller) planAlterPartition(img *metadata.Image, brokerID int32, t *metadata.Topic, p *metadata.Partition, leaderEpoch, partitionEpoch int32, isr []int32, isrEpochs []int64) (*metadata.PartitionChangeRecord, error) {
	switch {
	case leaderEpoch > p.LeaderEpoch:
		return nil, fail(kerr.NotController, "the controller has not seen this leader epoch yet")
	case leaderEpoch < p.LeaderEpoch:
		return nil, fail(kerr.FencedLeaderEpoch, fmt.Sprintf("leader epoch %d is older than %d", leaderEpoch, p.LeaderEpoch))
	case p.Leader != brokerID:
		return nil, fail(kerr.InvalidRequest, fmt.Sprintf("broker %d is not the leader of %s-%d", brokerID, t.Name, p.ID))
	case partitionEpoch > p.Epoch:
		return nil, fail(kerr.NotController, "the controller has not seen this partition epoch yet")
	case partitionEpoch < p.Epoch:
		return nil, fail(kerr.InvalidUpdateVersion, fmt.Sprintf("partition epoch %d is older than %d", partitionEpoch, p.Epoch))
	case !slices.Contains(isr, brokerID):
		return nil, fail(kerr.InvalidRequest, "the new ISR must contain the leader")
	case isrEpochs != nil && len(isrEpochs) != len(isr):
		return nil, fail(kerr.InvalidRequest, "the new ISR and its broker epochs differ in length")
	}
	seen := map[int32]bool{}
	alive := c.aliveWithout(img)
	for i, id := range isr {
		if seen[id] {
			return nil, fail(kerr.InvalidRequest, fmt.Sprintf("broker %d is in the new ISR twice", id))
		}
		seen[id] = true
		if !slices.Contains(p.Replicas, id) {
			return nil, fail(kerr.InvalidRequest, fmt.Sprintf("broker %d is not a replica of %s-%d", id, t.Name, p.ID))
		}
		if !alive(id) && !slices.Contains(p.ISR, id) {
			return nil, fail(kerr.IneligibleReplica, fmt.Sprintf("broker %d is fenced or shutting down", id))
		}
		// KIP-903: a member the leader saw in an epoch that is no longer the broker's is a
		// process of an older incarnation; what it fetched says nothing of the current one.
		if isrEpochs != nil && isrEpochs[i] != -1 && img.Brokers[id].Epoch != isrEpochs[i] {
			return nil, fail(kerr.IneligibleReplica, fmt.Sprintf("broker %d has epoch %d, not %d", id, img.Brokers[id].Epoch, isrEpochs[i]))
		}
	}
	// The change that brings the last target replica of a reassignment into the ISR also
	// completes the reassignment (reassign.go).
	s := stateOf(p)
	s.isr = slices.Clone(isr)
	return changeFrom(t, p, completeReassignment(s, alive)), nil
}

// ElectionType is ElectLeaders' election type (Kafka's ElectionType ids).
type ElectionType int8

// The election types.
const (
	ElectPreferred ElectionType = 0
	ElectUnclean   ElectionType = 1
)

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// ElectResult is the outcome of an election for one partition.
type ElectResult struct {
	TopicPartition
	Err     error // nil or a *kerr.Error
	Message string
}

// ElectLeaders runs preferred or unclean elections (Kafka's ElectLeaders) for the given
// partitions, or for every partition when partitions is nil (then only the partitions whose
// leader changed are in the results). Partitions whose leader is already right get
// ELECTION_NOT_NEEDED; PREFERRED_LEADER_NOT_AVAILABLE or ELIGIBLE_LEADERS_NOT_AVAILABLE when no
// broker fits.
func (c *Controller) ElectLeaders(ctx context.Context, typ ElectionType, partitions []TopicPartition) []ElectResult {
	if !c.isActive() && c.remote() {
		return c.forwardElectLeaders(ctx, typ, partitions)
	}
	return c.electLeaders(ctx, typ, partitions)
}

func (c *Controller) electLeaders(ctx context.Context, typ ElectionType, partitions []TopicPartition) []ElectResult {
	var results []ElectResult
	err := c.decide(ctx, func(img *metadata.Image) []metadata.Record {
		all := partitions == nil
		want := partitions
		if all {
			for _, name := range img.TopicNames() {
				for _, p := range img.Topics[name].Partitions {
					want = append(want, TopicPartition{name, p.ID})
				}
			}
		}
		alive := c.aliveWithout(img)
		var recs []metadata.Record
		results = results[:0]
		for _, tp := range want {
			t, p, ok := img.Partition(tp.Topic, tp.Partition)
			if !ok {
				results = append(results, ElectResult{tp, kerr.UnknownTopicOrPartition, ""})
				continue
			}
			var ch *metadata.PartitionChangeRecord
			var res ElectResult
			res.TopicPartition = tp
			switch typ {
			case ElectPreferred:
				pref := p.Replicas[0]
				switch {
				case p.Leader == pref:
					res.Err = kerr.ElectionNotNeeded
				case !alive(pref) || !slices.Contains(p.ISR, pref):
					res.Err, res.Message = kerr.PreferredLeaderNotAvailable, fmt.Sprintf("Failed to elect leader for partition %s-%d under strategy PreferredReplicaPartitionLeaderElectionStrategy", tp.Topic, tp.Partition)
				default:
					ch = electionPlan(t, p, alive, true, false)
				}
			default:
				if p.Leader >= 0 && alive(p.Leader) {
					res.Err = kerr.ElectionNotNeeded
					break
				}
				ch = electionPlan(t, p, alive, false, true)
				if ch == nil || ch.Leader == nil || *ch.Leader < 0 {
					ch = nil
					res.Err = kerr.EligibleLeadersNotAvailable
				}
			}
			if ch != nil {
				recs = append(recs, *ch)
			}
			if all && res.Err != nil {
				continue
			}
			results = append(results, res)
		}
		return recs
	})
	if err != nil {
		code, msg := toKafka(err)
		if results == nil {
			for _, tp := range partitions {
				results = append(results, ElectResult{tp, code, msg})
			}
		}
		for i := range results {
			if results[i].Err == nil {
				results[i].Err, results[i].Message = code, msg
			}
		}
	}
	return results
}
