package node_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/clustertest"
	"github.com/gregorhq/gregor/internal/records"
)

// replicatedCoordinators are the settings of a 3-broker cluster whose internal topics have
// one partition each, on all three brokers.
var replicatedCoordinators = []string{
	"transaction.state.log.num.partitions", "1",
	"transaction.state.log.replication.factor", "3",
	"offsets.topic.num.partitions", "1",
	"offsets.topic.replication.factor", "3",
	"group.initial.rebalance.delay.ms", "0",
}

// txnCoordinator asks the cluster which broker coordinates the transactional id (keyType
// 1) or group (keyType 0), waiting until one does.
func findCoordinator(ctx context.Context, t *testing.T, cl *kgo.Client, keyType int8, key string) int32 {
	t.Helper()
	for {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorType, req.CoordinatorKeys = keyType, []string{key}
		resp, err := req.RequestWith(ctx, cl)
		if err == nil && len(resp.Coordinators) == 1 && resp.Coordinators[0].ErrorCode == 0 {
			return resp.Coordinators[0].NodeID
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no coordinator for %q: %v %+v", key, err, resp)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestClusterTransactionMarkersReachEveryLeader: a transactional producer writes to six
// partitions led by three brokers; the coordinator's commit and abort markers reach every
// leader (WriteTxnMarkers between brokers), so every partition's last stable offset catches up
// with its high watermark and read_committed consumers see exactly the committed records.
func TestClusterTransactionMarkersReachEveryLeader(t *testing.T) {
	c := clustertest.StartCluster(t, 3, clustertest.Overrides(replicatedCoordinators...))
	ctx := testContext(t)
	adm := clusterAdmin(t, c.Addrs()...)
	if res, err := adm.CreateTopic(ctx, 6, 3, nil, "t"); err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}
	c.WaitConverged()

	p := newClient(t, c.Addrs()[0], kgo.SeedBrokers(c.Addrs()...), kgo.TransactionalID("x"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var want []string
	for round, commit := range []bool{true, false, true} {
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for part := range int32(6) {
			v := fmt.Sprintf("r%d-p%d", round, part)
			if err := p.ProduceSync(ctx, &kgo.Record{Topic: "t", Partition: part, Value: []byte(v)}).FirstErr(); err != nil {
				t.Fatalf("produce %s: %v", v, err)
			}
			if commit {
				want = append(want, v)
			}
		}
		if err := p.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatalf("end round %d: %v", round, err)
		}
	}

	// The coordinator leads only some of the partitions: the others got their markers over
	// the network.
	coord := findCoordinator(ctx, t, p, 1, "x")
	img := c.Node(0).Controller().Image()
	remote := 0
	for _, part := range img.Topics["t"].Partitions {
		if part.Leader != coord {
			remote++
		}
	}
	if remote == 0 {
		t.Fatalf("coordinator %d leads every partition; placement: %+v", coord, img.Topics["t"].Partitions)
	}

	clustertest.WaitFor(t, 20*time.Second, "every partition's last stable offset at its high watermark", func() bool {
		stable, err1 := adm.ListCommittedOffsets(ctx, "t")
		end, err2 := adm.ListEndOffsets(ctx, "t")
		if err1 != nil || err2 != nil || stable.Error() != nil || end.Error() != nil {
			return false
		}
		ok := true
		end.Each(func(o kadm.ListedOffset) {
			s, _ := stable.Lookup(o.Topic, o.Partition)
			ok = ok && s.Offset == o.Offset && o.Offset == 3*2 // 3 records, 3 markers
		})
		return ok
	})
	got := consumeCommitted(ctx, t, c.Addrs(), "t", len(want))
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("read_committed got %v, want %v", got, want)
	}
}

// consumeCommitted reads n records of topic, read_committed, and returns their values.
func consumeCommitted(ctx context.Context, t *testing.T, addrs []string, topic string, n int) []string {
	t.Helper()
	cl := newClient(t, addrs[0], kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var got []string
	for len(got) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records: %v", len(got), n, got)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	return got
}

// TestClusterProduceVerificationAsksTheRemoteCoordinator (KIP-890): a transactional batch
// sent to a partition's leader that does not coordinate the transactional id is checked with
// the coordinator broker: refused before the partition is added to the transaction, appended
// after.
func TestClusterProduceVerificationAsksTheRemoteCoordinator(t *testing.T) {
	c := clustertest.StartCluster(t, 3, clustertest.Overrides(replicatedCoordinators...))
	ctx := testContext(t)
	cl := newClient(t, c.Addrs()[0], kgo.SeedBrokers(c.Addrs()...))
	adm := clusterAdmin(t, c.Addrs()...)
	if res, err := adm.CreateTopic(ctx, 6, 3, nil, "v"); err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}
	c.WaitConverged()

	var pid int64
	var epoch int16
	for {
		init := kmsg.NewPtrInitProducerIDRequest()
		init.TransactionalID, init.TransactionTimeoutMillis = kmsg.StringPtr("v-tx"), 60000
		resp, err := init.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		if resp.ErrorCode == 0 {
			pid, epoch = resp.ProducerID, resp.ProducerEpoch
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("InitProducerId: %v", kerr.ErrorForCode(resp.ErrorCode))
		}
	}
	coord := findCoordinator(ctx, t, cl, 1, "v-tx")
	var part int32 = -1
	var leader int32
	for _, p := range c.Node(0).Controller().Image().Topics["v"].Partitions {
		if p.Leader != coord {
			part, leader = p.ID, p.Leader
			break
		}
	}
	if part < 0 {
		t.Fatal("every partition is led by the coordinator")
	}
	produce := func() int16 {
		t.Helper()
		b := records.NewBuilder(records.BatchHeader{Attributes: 0x10, ProducerID: pid, ProducerEpoch: epoch,
			BaseSequence: 0, BaseTimestamp: time.Now().UnixMilli()})
		b.Add(records.Record{Value: []byte("verified")})
		req := kmsg.NewPtrProduceRequest()
		req.TransactionID, req.Acks, req.TimeoutMillis = kmsg.StringPtr("v-tx"), -1, 10000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = "v"
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition, rp.Records = part, b.Build()
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := cl.Broker(int(leader)).Request(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode
	}
	if code := produce(); code != kerr.TransactionAbortable.Code && code != kerr.InvalidTxnState.Code {
		t.Fatalf("produce before AddPartitionsToTxn: %v, want TRANSACTION_ABORTABLE", kerr.ErrorForCode(code))
	}
	add := kmsg.NewPtrAddPartitionsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch = "v-tx", pid, epoch
	at := kmsg.NewAddPartitionsToTxnRequestTopic()
	at.Topic, at.Partitions = "v", []int32{part}
	add.Topics = append(add.Topics, at)
	// Sent through the client, which finds the coordinator (and speaks v3 to it: v4+ is
	// for brokers).
	if resp, err := add.RequestWith(ctx, cl); err != nil || len(resp.Topics) != 1 || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("AddPartitionsToTxn: %v %+v", err, resp)
	}
	if code := produce(); code != 0 {
		t.Fatalf("produce after AddPartitionsToTxn: %v", kerr.ErrorForCode(code))
	}
}
