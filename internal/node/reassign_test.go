package node_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// createAssigned creates topic with one partition on the given replicas.
func createAssigned(t *testing.T, cl *kgo.Client, topic string, replicas ...int32) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, -1, -1
	a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
	a.Partition, a.Replicas = 0, replicas
	rt.ReplicaAssignment = append(rt.ReplicaAssignment, a)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		t.Fatalf("create %s: %v", topic, err)
	}
}

// TestReassignUnderLoad moves a partition from brokers {1,2,3} to {2,3,4} while an idempotent
// acks=all producer writes to it: the reassignment completes, broker 1 deletes its copy, and
// every acknowledged record can be read back.
func TestReassignUnderLoad(t *testing.T) {
	c := clustertest.StartCluster(t, 4)
	ctx := context.Background()
	addrs := c.Addrs()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.MetadataMinAge(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	createAssigned(t, cl, "moving", 1, 2, 3)
	c.WaitConverged()

	prod, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.DefaultProduceTopic("moving"), kgo.RecordRetries(100), kgo.ProduceRequestTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	var (
		mu    sync.Mutex
		acked = map[string]bool{}
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			v := strconv.Itoa(i)
			rs := prod.ProduceSync(ctx, &kgo.Record{Value: []byte(v)})
			if rs.FirstErr() == nil {
				mu.Lock()
				acked[v] = true
				mu.Unlock()
			}
		}
	}()
	ackedCount := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	clustertest.WaitFor(t, 20*time.Second, "records before the move", func() bool { return ackedCount() >= 200 })

	req := kadm.AlterPartitionAssignmentsReq{}
	req.Assign("moving", 0, []int32{2, 3, 4})
	res, err := adm.AlterPartitionAssignments(ctx, req)
	if err != nil || res.Error() != nil {
		t.Fatalf("reassign: %v %v", err, res.Error())
	}
	clustertest.WaitFor(t, 30*time.Second, "the reassignment to complete", func() bool {
		l, err := adm.ListPartitionReassignments(ctx, kadm.TopicsSet{"moving": {0: {}}})
		if err != nil || len(l) != 0 {
			return false
		}
		m, err := adm.Metadata(ctx, "moving")
		if err != nil {
			return false
		}
		p := m.Topics["moving"].Partitions[0]
		return slices.Equal(p.Replicas, []int32{2, 3, 4}) && len(p.ISR) == 3 && p.Leader != 1
	})
	before := ackedCount()
	clustertest.WaitFor(t, 20*time.Second, "records after the move", func() bool { return ackedCount() >= before+100 })
	close(stop)
	wg.Wait()

	clustertest.WaitFor(t, 10*time.Second, "broker 1 to delete its log", func() bool {
		_, err := os.Stat(filepath.Join(c.Node(0).Dir, "moving-0"))
		return errors.Is(err, os.ErrNotExist)
	})
	for i := 1; i < 4; i++ {
		if _, err := os.Stat(filepath.Join(c.Node(i).Dir, "moving-0")); err != nil {
			t.Errorf("broker %d has no log: %v", i+1, err)
		}
	}

	// Every acknowledged record is there.
	cons, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics("moving"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	mu.Lock()
	want := len(acked)
	mu.Unlock()
	seen := map[string]bool{}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for missing(acked, seen) > 0 && rctx.Err() == nil {
		cons.PollFetches(rctx).EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
	}
	if n := missing(acked, seen); n > 0 {
		t.Fatalf("%d of %d acknowledged records lost", n, want)
	}
}

func missing(acked, seen map[string]bool) int {
	n := 0
	for v := range acked {
		if !seen[v] {
			n++
		}
	}
	return n
}

// TestReassignErrorsAndCancel checks Kafka's answers to bad reassignments and a cancel.
func TestReassignErrorsAndCancel(t *testing.T) {
	c := clustertest.StartCluster(t, 3)
	ctx := context.Background()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.MetadataMinAge(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	createAssigned(t, cl, "r", 1, 2)

	try := func(replicas []int32, cancel bool) error {
		req := kadm.AlterPartitionAssignmentsReq{}
		if cancel {
			req.CancelAssign("r", 0)
		} else {
			req.Assign("r", 0, replicas)
		}
		res, err := adm.AlterPartitionAssignments(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return res.Error()
	}
	if err := try([]int32{1, 9}, false); !errors.Is(err, kerr.InvalidReplicaAssignment) {
		t.Errorf("unknown broker: %v", err)
	}
	if err := try([]int32{1, 1}, false); !errors.Is(err, kerr.InvalidReplicaAssignment) {
		t.Errorf("duplicate broker: %v", err)
	}
	if err := try(nil, true); !errors.Is(err, kerr.NoReassignmentInProgress) {
		t.Errorf("cancel with none: %v", err)
	}
	// Dropping a replica that is in the ISR completes at once.
	if err := try([]int32{2}, false); err != nil {
		t.Fatal(err)
	}
	clustertest.WaitFor(t, 10*time.Second, "replicas {2}", func() bool {
		m, err := adm.Metadata(ctx, "r")
		return err == nil && slices.Equal(m.Topics["r"].Partitions[0].Replicas, []int32{2}) &&
			m.Topics["r"].Partitions[0].Leader == 2
	})
}
