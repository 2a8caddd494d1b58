package node_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// quotaNode starts a node whose quota window is 2 samples of 1 s, so rates settle fast.
func quotaNode(t *testing.T) (*clustertest.Node, *kadm.Client) {
	t.Helper()
	n := clustertest.StartNode(t, "quota.window.num", "2", "quota.window.size.seconds", "1")
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return n, kadm.NewClient(cl)
}

// setQuota sets one quota of the entity of type typ named name.
func setQuota(t *testing.T, adm *kadm.Client, typ, name, key string, v float64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := adm.AlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{{
		Entity: kadm.ClientQuotaEntity{{Type: typ, Name: &name}},
		Ops:    []kadm.AlterClientQuotaOp{{Key: key, Value: v}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("setting %s=%v on %s %s: %v", key, v, typ, name, r.Err)
		}
	}
}

// TestRequestPercentageQuota: a client over its request_percentage gets throttle_time_ms on
// any response (here Metadata), at most one sample window; a client without one is not.
func TestRequestPercentageQuota(t *testing.T) {
	n, adm := quotaNode(t)
	// A millionth of a handler: any request is far over it.
	setQuota(t, adm, "client-id", "busy", "request_percentage", 0.000001)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	throttleOf := func(clientID string) int32 {
		t.Helper()
		cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()), kgo.ClientID(clientID))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.ThrottleMillis
	}
	if got := throttleOf("busy"); got <= 0 || got > 1000 {
		t.Fatalf("Metadata over request_percentage: throttle %d ms, want (0, 1000]", got)
	}
	if got := throttleOf("idle"); got != 0 {
		t.Fatalf("Metadata of a client without a quota: throttle %d ms", got)
	}
}

// TestThrottledFetchIsEmpty: a Fetch over consumer_byte_rate is answered at once with
// throttle_time_ms and no partitions, as Kafka does since KIP-219 (the records are not sent,
// and not counted), while a client without a quota gets the records.
func TestThrottledFetchIsEmpty(t *testing.T) {
	n, adm := quotaNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := adm.CreateTopics(ctx, 1, 1, nil, "fq"); err != nil {
		t.Fatal(err)
	}
	p, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.ProduceSync(ctx, &kgo.Record{Topic: "fq", Value: bytes.Repeat([]byte("v"), 4096)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	setQuota(t, adm, "client-id", "slow", "consumer_byte_rate", 100)

	fetch := func(clientID string) *kmsg.FetchResponse {
		t.Helper()
		cl, err := kgo.NewClient(kgo.SeedBrokers(n.Addr()), kgo.ClientID(clientID))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		req := kmsg.NewPtrFetchRequest()
		req.ReplicaID, req.MaxBytes = -1, 1<<20
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = "fq"
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = 1<<20, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := fetch("slow")
	if resp.ThrottleMillis <= 0 || len(resp.Topics) != 0 {
		t.Fatalf("Fetch of 4 KiB over a 100 B/s quota: throttle %d ms, %d topics; want a throttle and no topics", resp.ThrottleMillis, len(resp.Topics))
	}
	resp = fetch("free")
	if resp.ThrottleMillis != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions[0].RecordBatches) == 0 {
		t.Fatalf("Fetch without a quota: throttle %d ms, %+v; want the records", resp.ThrottleMillis, resp.Topics)
	}
}

// TestConnectionCreationRate: connections from an IP over its connection_creation_rate are
// held unserved and closed after the throttle time (Kafka's ConnectionQuotas); one within it
// is served.
func TestConnectionCreationRate(t *testing.T) {
	n, adm := quotaNode(t)
	setQuota(t, adm, "ip", "127.0.0.1", "connection_creation_rate", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	described, err := adm.DescribeClientQuotas(ctx, false, []kadm.DescribeClientQuotaComponent{{Type: "ip", MatchType: 2}})
	if err != nil || len(described) != 1 || described[0].Values[0].Key != "connection_creation_rate" {
		t.Fatalf("describing the ip quota: %v %+v", err, described)
	}

	// readsEOF reports whether the broker closes c within d (a served connection that
	// sends nothing stays open).
	readsEOF := func(c net.Conn, d time.Duration) bool {
		c.SetReadDeadline(time.Now().Add(d))
		_, err := c.Read(make([]byte, 1))
		return errors.Is(err, io.EOF) || (err != nil && !errors.Is(err, context.DeadlineExceeded) && !isTimeout(err))
	}
	first, err := net.Dial("tcp", n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	start := time.Now()
	second, err := net.Dial("tcp", n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if !readsEOF(second, 10*time.Second) {
		t.Fatal("the connection over 1 connection/s was not closed")
	}
	// 2 connections in the first second: 100% over the quota, throttled about a window.
	if waited := time.Since(start); waited < 500*time.Millisecond {
		t.Fatalf("the throttled connection was closed after %v: at once, not after its throttle", waited)
	}
	if readsEOF(first, 100*time.Millisecond) {
		t.Fatal("the connection within the rate was closed")
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
