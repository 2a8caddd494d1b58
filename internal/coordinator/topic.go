package coordinator

import (
	"context"
	"log/slog"
	"strconv"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/replica"
)

// InternalTopic is the internal topic a coordinator keeps its state in, created on first use
// (FindCoordinator, or a Metadata request that auto-creates topics), as Kafka does.
type InternalTopic struct {
	// Name is the topic: __consumer_offsets, __transaction_state.
	Name string
	// NumPartitions, ReplicationFactor and SegmentBytes are the topic's settings
	// (offsets.topic.* or transaction.state.log.*). The topic is compacted.
	NumPartitions     int32
	ReplicationFactor int16
	SegmentBytes      int32
	// Controller creates the topic; when nil (unit tests), Ensure answers
	// COORDINATOR_NOT_AVAILABLE. Replicas, when set, opens the new topic's partitions at once.
	Controller *controller.Controller
	Replicas   *replica.Manager
	// Apply is the coordinator's own Apply: it is given the image with the new topic, so the
	// coordinator loads the partitions this broker leads without waiting for the metadata
	// listener.
	Apply  func(*metadata.Image)
	Logger *slog.Logger

	createMu sync.Mutex // serializes creating the topic
}

// Ensure creates the topic when it does not exist, and returns an image that has it. Every
// failure is COORDINATOR_NOT_AVAILABLE, which clients retry.
func (t *InternalTopic) Ensure(ctx context.Context) (*metadata.Image, error) {
	ctrl := t.Controller
	if ctrl == nil {
		return nil, kerr.CoordinatorNotAvailable
	}
	if img := ctrl.Image(); hasPartitions(img, t.Name) {
		return img, nil
	}
	t.createMu.Lock()
	defer t.createMu.Unlock()
	img := ctrl.Image()
	if img.Topics[t.Name] == nil {
		// Deviation from Kafka (see config.Broker.OffsetsTopicReplicationFactor): never ask
		// for more replicas than there are live brokers.
		rf := t.ReplicationFactor
		if live := int16(LiveBrokers(img)); live < rf {
			rf = max(live, 1)
		}
		compact := "compact"
		segment := strconv.Itoa(int(t.SegmentBytes))
		res := ctrl.CreateTopics(ctx, []controller.TopicSpec{{
			Name:              t.Name,
			NumPartitions:     t.NumPartitions,
			ReplicationFactor: rf,
			Configs:           map[string]*string{"cleanup.policy": &compact, "segment.bytes": &segment},
		}}, false)
		if err := res[0].Err; err != nil && !isCode(err, kerr.TopicAlreadyExists) {
			t.logger().Warn("creating "+t.Name+" failed", "err", err, "message", res[0].Message)
			return nil, kerr.CoordinatorNotAvailable
		}
		img = ctrl.Image()
		if t.Replicas != nil {
			if err := t.Replicas.Apply(img); err != nil {
				t.logger().Error("opening "+t.Name+" failed", "err", err)
			}
		}
		if t.Apply != nil {
			t.Apply(img)
		}
	}
	if !hasPartitions(img, t.Name) {
		return nil, kerr.CoordinatorNotAvailable
	}
	return img, nil
}

func (t *InternalTopic) logger() *slog.Logger {
	if t.Logger == nil {
		return slog.Default()
	}
	return t.Logger
}

func hasPartitions(img *metadata.Image, topic string) bool {
	t := img.Topics[topic]
	return t != nil && len(t.Partitions) > 0
}

// LiveBrokers is the number of unfenced brokers in img.
func LiveBrokers(img *metadata.Image) int {
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
