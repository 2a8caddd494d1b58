package controller

import (
	"context"
	"testing"
)

func TestAllocateProducerIdsUniqueAcrossRestart(t *testing.T) {
	cfg := testConfig(t.TempDir())
	c := startController(t, cfg)
	registerBrokers(t, c, 1, 2)
	ctx := context.Background()
	seen := map[int64]bool{}
	take := func(c *Controller, broker int32) {
		t.Helper()
		b, err := c.AllocateProducerIds(ctx, broker)
		if err != nil {
			t.Fatalf("AllocateProducerIds(%d): %v", broker, err)
		}
		if b.Size != ProducerIDBlockSize || b.BrokerID != broker {
			t.Fatalf("block %+v", b)
		}
		for _, s := range []int64{b.Start, b.End() - 1} {
			if seen[s] {
				t.Fatalf("block %+v overlaps an earlier one", b)
			}
			seen[s] = true
		}
	}
	take(c, 1)
	take(c, 2)
	take(c, 1)
	if got := c.Image().NextProducerID; got != 3*ProducerIDBlockSize {
		t.Fatalf("next producer id %d", got)
	}
	if _, err := c.AllocateProducerIds(ctx, 7); errCode(err) != "BROKER_ID_NOT_REGISTERED" {
		t.Fatalf("unregistered broker: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	c2 := startController(t, cfg)
	take(c2, 2)
	if got := c2.Image().NextProducerID; got != 4*ProducerIDBlockSize {
		t.Fatalf("after restart next producer id %d", got)
	}
}
