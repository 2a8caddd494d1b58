package group

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"

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
	return c.topic.Ensure(ctx)
}
