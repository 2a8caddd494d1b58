package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/metadata"
)

// The broker side of the lifecycle: this node's broker registers, heartbeats, and shuts down
// in a controlled way, through its own Controller (which forwards to the active controller
// when it is not it).

// StartBroker registers this node's broker b (fenced, with a new incarnation id when b has
// none), then heartbeats until the active controller unfences it and this node's image shows
// it unfenced, or ctx ends. Heartbeats then go on in the background every interval until
// ShutdownBroker or Close.
func (c *Controller) StartBroker(ctx context.Context, b metadata.Broker, interval time.Duration) error {
	if b.ID != c.cfg.NodeID {
		return fmt.Errorf("controller: broker %d is not this node (%d)", b.ID, c.cfg.NodeID)
	}
	if b.IncarnationID == metadata.ZeroUUID {
		b.IncarnationID = metadata.RandomUUID()
	}
	b.Fenced = true
	if _, err := c.RegisterBroker(ctx, b); err != nil {
		return fmt.Errorf("registering: %w", err)
	}
	ch, cancel := c.Subscribe()
	defer cancel()
	backoff := 10 * time.Millisecond
	for {
		res, err := c.Heartbeat(ctx, BrokerHeartbeat{BrokerID: b.ID, BrokerEpoch: c.BrokerEpoch(), MetadataOffset: c.Image().Offset})
		if err == nil && !res.IsFenced {
			break
		}
		select {
		case <-time.After(backoff):
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting to be unfenced: %w", context.Cause(ctx))
		}
		backoff = min(2*backoff, 200*time.Millisecond)
	}
	for {
		if reg, ok := c.Image().Brokers[b.ID]; ok && !reg.Fenced {
			break
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for the metadata log: %w", context.Cause(ctx))
		}
	}
	hbCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	c.hbMu.Lock()
	c.hbStop, c.hbDone = stop, done
	c.hbMu.Unlock()
	go c.heartbeatLoop(hbCtx, b, interval, done)
	return nil
}

// heartbeatLoop sends a heartbeat of broker b every interval; a failed one is retried at the
// next tick (the session timeout is several intervals). A heartbeat refused for its epoch
// (STALE_BROKER_EPOCH) or registration (BROKER_ID_NOT_REGISTERED) is answered by
// reregister.
func (c *Controller) heartbeatLoop(ctx context.Context, b metadata.Broker, interval time.Duration, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		hctx, cancel := context.WithTimeout(ctx, interval)
		_, err := c.Heartbeat(hctx, BrokerHeartbeat{BrokerID: b.ID, BrokerEpoch: c.BrokerEpoch(), MetadataOffset: c.Image().Offset})
		if errors.Is(err, kerr.StaleBrokerEpoch) || errors.Is(err, kerr.BrokerIDNotRegistered) {
			c.log.Warn("broker heartbeat refused", "epoch", c.BrokerEpoch(), "err", err)
			if !c.reregister(hctx, b) {
				cancel()
				return
			}
		}
		cancel()
		if err != nil && ctx.Err() == nil {
			c.log.Debug("broker heartbeat failed", "err", err)
		}
	}
}

// reregister follows a heartbeat refused for its epoch: this broker's registration is not the
// one the active controller has. It registers again, naming the epoch it had: if another
// incarnation holds the registration now (this node's image may show it, else the controller
// says so with DUPLICATE_BROKER_REGISTRATION), a newer process of this broker took over while
// this one was paused or cut off, and this one must not act for the broker any more:
// heartbeats stop, Replaced is closed, and reregister returns false. Otherwise the broker is
// registered again, fenced, and its heartbeats unfence it once it is caught up, as at startup.
func (c *Controller) reregister(ctx context.Context, b metadata.Broker) bool {
	prev := c.BrokerEpoch()
	replaced := func(newEpoch int64) bool {
		c.log.Error("a newer incarnation of this broker registered; this one stops acting for it",
			"broker", b.ID, "epoch", prev, "new_epoch", newEpoch)
		c.replacedOnce.Do(func() { close(c.replaced) })
		return false
	}
	if reg, ok := c.Image().Brokers[b.ID]; ok && reg.IncarnationID != b.IncarnationID {
		return replaced(reg.Epoch)
	}
	b.Fenced = true
	epoch, err := c.register(ctx, b, prev)
	switch {
	case errors.Is(err, kerr.DuplicateBrokerRegistration):
		return replaced(-1)
	case err != nil:
		c.log.Warn("registering again failed", "err", err)
	default:
		c.log.Info("registered again", "broker", b.ID, "epoch", epoch)
	}
	return true
}

// Replaced is closed when this node's broker learns that a newer incarnation of it registered
// (see reregister): the process should stop. (A Kafka broker in that state goes on sending
// heartbeats that are refused until it is stopped by hand; stopping by itself frees the
// operator from finding it.)
func (c *Controller) Replaced() <-chan struct{} { return c.replaced }

// StopHeartbeats ends this broker's background heartbeats, if any, without a controlled
// shutdown: the controller fences the broker after its session timeout. Tests use it to
// simulate a broker that hangs or is cut off.
func (c *Controller) StopHeartbeats() {
	c.hbMu.Lock()
	stop, done := c.hbStop, c.hbDone
	c.hbStop, c.hbDone = nil, nil
	c.hbMu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// ShutdownBroker is Kafka's controlled shutdown: it stops the periodic heartbeats and
// heartbeats with wantShutDown until the active controller has moved leadership of this
// broker's partitions to other brokers and lets it go, or ctx ends. When no other broker is
// alive there is nowhere to move leadership, and it returns at once.
func (c *Controller) ShutdownBroker(ctx context.Context) error {
	c.StopHeartbeats()
	select {
	case <-c.replaced:
		return nil // the registration is another process's: nothing of it to shut down
	default:
	}
	img := c.Image()
	if _, ok := img.Brokers[c.cfg.NodeID]; !ok {
		return nil
	}
	others := false
	for id, b := range img.Brokers {
		others = others || (id != c.cfg.NodeID && !b.Fenced)
	}
	if !others {
		return nil
	}
	backoff := 10 * time.Millisecond
	for {
		res, err := c.Heartbeat(ctx, BrokerHeartbeat{
			BrokerID: c.cfg.NodeID, BrokerEpoch: c.BrokerEpoch(), MetadataOffset: c.Image().Offset, WantShutDown: true,
		})
		if err == nil && res.ShouldShutDown {
			c.log.Info("controlled shutdown complete")
			return nil
		}
		if errors.Is(err, kerr.StaleBrokerEpoch) {
			// Another registration holds the broker now: its leadership is not this
			// process's to hand over.
			return fmt.Errorf("controlled shutdown: %w", err)
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return errors.Join(errors.New("controlled shutdown did not complete"), context.Cause(ctx))
		}
		backoff = min(2*backoff, 200*time.Millisecond)
	}
}
