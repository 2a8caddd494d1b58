package group

import (
	"context"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/metadata"
)

// FindCoordinator returns the broker that coordinates groupID: the leader of its
// __consumer_offsets partition. The topic is created on first use, as Kafka does.
func (c *Coordinator) FindCoordinator(ctx context.Context, groupID string) (int32, error) {
	img, err := c.ensureTopic(ctx)
	if err != nil {
		return -1, err
	}
	t := img.Topics[OffsetsTopic]
	p := t.Partitions[OffsetsPartition(img, groupID, 0)]
	if p.Leader < 0 {
		return -1, kerr.CoordinatorNotAvailable
	}
	return p.Leader, nil
}

// EnsureOffsetsTopic creates __consumer_offsets, with its configured partitions and configs,
// when it does not exist yet (a Metadata request that auto-creates topics asks for it).
func (c *Coordinator) EnsureOffsetsTopic(ctx context.Context) error {
	_, err := c.ensureTopic(ctx)
	return err
}

// ensureTopic creates __consumer_offsets when it does not exist, and returns an image that has
// it.
func (c *Coordinator) ensureTopic(ctx context.Context) (*metadata.Image, error) {
	ctrl := c.cfg.Controller
	if ctrl == nil {
		return nil, kerr.CoordinatorNotAvailable
	}
	if img := ctrl.Image(); img.Topics[OffsetsTopic] != nil && len(img.Topics[OffsetsTopic].Partitions) > 0 {
		return img, nil
	}
	c.createMu.Lock()
	defer c.createMu.Unlock()
	img := ctrl.Image()
	if img.Topics[OffsetsTopic] == nil {
		b := c.cfg.Broker
		// Deviation from Kafka (see config.Broker.OffsetsTopicReplicationFactor): never ask
		// for more replicas than there are live brokers.
		rf := b.OffsetsTopicReplicationFactor
		if live := int16(liveBrokers(img)); live < rf {
			rf = max(live, 1)
		}
		compact := "compact"
		segment := strconv.Itoa(int(b.OffsetsTopicSegmentBytes))
		res := ctrl.CreateTopics(ctx, []controller.TopicSpec{{
			Name:              OffsetsTopic,
			NumPartitions:     b.OffsetsTopicNumPartitions,
			ReplicationFactor: rf,
			Configs:           map[string]*string{"cleanup.policy": &compact, "segment.bytes": &segment},
		}}, false)
		if err := res[0].Err; err != nil && !isCode(err, kerr.TopicAlreadyExists) {
			c.log.Warn("creating __consumer_offsets failed", "err", err, "message", res[0].Message)
			return nil, kerr.CoordinatorNotAvailable
		}
		img = ctrl.Image()
		if c.cfg.Replicas != nil {
			if err := c.cfg.Replicas.Apply(img); err != nil {
				c.log.Error("opening __consumer_offsets failed", "err", err)
			}
		}
		c.Apply(img)
	}
	if img.Topics[OffsetsTopic] == nil || len(img.Topics[OffsetsTopic].Partitions) == 0 {
		return nil, kerr.CoordinatorNotAvailable
	}
	return img, nil
}

func liveBrokers(img *metadata.Image) int {
	n := 0
	for _, b := range img.Brokers {
		if !b.Fenced {
			n++
		}
	}
	return n
}

func isCode(err error, want *kerr.Error) bool {
	ke, ok := err.(*kerr.Error)
	return ok && ke.Code == want.Code
}
