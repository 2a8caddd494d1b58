package controller

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The controller listener answers Kafka clients (here franz-go) with the controller APIs, next
// to Raft, and closes a connection whose frame is broken without disturbing either.
func TestControllerListenerServesKafkaAndRaft(t *testing.T) {
	c := startController(t, testConfig(t.TempDir()))
	registerBrokers(t, c, 1)
	addr := string(c.trans.LocalAddr())

	// A broken frame: a size, then bytes that are no request header.
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	nc.Write([]byte{0, 0, 0, 3, 1, 2, 3})
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(nc); err != nil {
		t.Fatalf("connection not closed after a broken frame: %v", err)
	}
	nc.Close()

	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	broker := cl.SeedBrokers()[0]

	hb := kmsg.NewPtrBrokerHeartbeatRequest()
	hb.BrokerID = 1
	hb.BrokerEpoch = epochOf(c, 1) - 1
	hb.CurrentMetadataOffset = int64(c.Image().Offset)
	if resp, err := hb.RequestWith(ctx, broker); err != nil || resp.ErrorCode != kerr.StaleBrokerEpoch.Code {
		t.Fatalf("heartbeat with a stale broker epoch: %+v %v", resp, err)
	}
	hb.BrokerEpoch = epochOf(c, 1)
	resp, err := hb.RequestWith(ctx, broker)
	if err != nil || resp.ErrorCode != 0 || resp.IsFenced {
		t.Fatalf("BrokerHeartbeat: %+v %v", resp, err)
	}
	hb.BrokerID = 7
	if resp, err := hb.RequestWith(ctx, broker); err != nil || resp.ErrorCode != kerr.BrokerIDNotRegistered.Code {
		t.Fatalf("heartbeat of an unknown broker: %+v %v", resp, err)
	}

	ct := kmsg.NewPtrCreateTopicsRequest()
	topic := kmsg.NewCreateTopicsRequestTopic()
	topic.Topic, topic.NumPartitions, topic.ReplicationFactor = "t", 2, 1
	ct.Topics = append(ct.Topics, topic)
	ctResp, err := ct.RequestWith(ctx, broker)
	if err != nil || len(ctResp.Topics) != 1 || ctResp.Topics[0].ErrorCode != 0 {
		t.Fatalf("CreateTopics on the controller listener: %+v %v", ctResp, err)
	}
	if c.Image().Topics["t"] == nil {
		t.Fatal("topic not created")
	}
	// Raft still works: another decision commits.
	registerBrokers(t, c, 2)
}
