package controller

import (
	"context"
	"fmt"
	"math"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/metadata"
)

// ProducerIDBlockSize is how many producer ids one AllocateProducerIds hands out (Kafka's
// ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE).
const ProducerIDBlockSize = 1000

// ProducerIDBlock is a range of producer ids given to one broker: [Start, Start+Size).
type ProducerIDBlock struct {
	BrokerID int32
	Start    int64
	Size     int64
}

// End is the first id after the block.
func (b ProducerIDBlock) End() int64 { return b.Start + b.Size }

// allocateProducerIds gives brokerID the next block of ProducerIDBlockSize producer ids
// (Kafka's AllocateProducerIds RPC). The block is committed as a ProducerIDsRecord before the
// call returns, so no id is ever handed out twice, across controller restarts and failovers.
// An unregistered broker gets BROKER_ID_NOT_REGISTERED, as in Kafka.
func (c *Controller) allocateProducerIds(ctx context.Context, brokerID int32) (ProducerIDBlock, error) {
	var block ProducerIDBlock
	var refused error
	err := c.decide(ctx, func(img *metadata.Image) []metadata.Record {
		if _, ok := img.Brokers[brokerID]; !ok {
			refused = fail(kerr.BrokerIDNotRegistered, fmt.Sprintf("broker %d is not registered", brokerID))
			return nil
		}
		if img.NextProducerID > math.MaxInt64-ProducerIDBlockSize {
			refused = fail(kerr.UnknownServerError, "producer ids exhausted")
			return nil
		}
		block = ProducerIDBlock{BrokerID: brokerID, Start: img.NextProducerID, Size: ProducerIDBlockSize}
		return []metadata.Record{metadata.ProducerIDsRecord{BrokerID: brokerID, NextProducerID: block.End()}}
	})
	if err == nil {
		err = refused
	}
	if err != nil {
		return ProducerIDBlock{}, err
	}
	return block, nil
}
