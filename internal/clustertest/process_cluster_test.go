package clustertest_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// metadataFrom sends one Metadata request (all topics) to addr.
func metadataFrom(t *testing.T, addr string) *kmsg.MetadataResponse {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl.SeedBrokers()[0])
	if err != nil {
		return nil
	}
	return resp
}

func brokerIDs(m *kmsg.MetadataResponse) []int32 {
	var ids []int32
	for _, b := range m.Brokers {
		ids = append(ids, b.NodeID)
	}
	slices.Sort(ids)
	return ids
}

func partition(m *kmsg.MetadataResponse, topic string, p int32) *kmsg.MetadataResponseTopicPartition {
	for _, t := range m.Topics {
		if t.Topic != nil && *t.Topic == topic {
			for i := range t.Partitions {
				if t.Partitions[i].Partition == p {
					return &t.Partitions[i]
				}
			}
		}
	}
	return nil
}

func TestProcessClusterKill9PauseAndControllerFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs gregor processes")
	}
	procs := clustertest.StartProcessCluster(t, 4)
	cl, err := kgo.NewClient(kgo.SeedBrokers(procs[0].Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	clustertest.WaitFor(t, 20*time.Second, "4 brokers", func() bool {
		m := metadataFrom(t, procs[0].Addr())
		return m != nil && len(m.Brokers) == 4
	})
	if res, err := adm.CreateTopic(ctx, 8, 3, nil, "t"); err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}

	// kill -9 broker 4: fenced after its session timeout, its partitions get new leaders.
	var victim *kmsg.MetadataResponseTopicPartition
	clustertest.WaitFor(t, 10*time.Second, "a partition led by broker 4", func() bool {
		m := metadataFrom(t, procs[0].Addr())
		for p := range int32(8) {
			if tp := partition(m, "t", p); m != nil && tp != nil && tp.Leader == 4 {
				victim = tp
				return true
			}
		}
		return false
	})
	procs[3].Kill()
	clustertest.WaitFor(t, 20*time.Second, "broker 4 fenced and replaced as leader", func() bool {
		m := metadataFrom(t, procs[0].Addr())
		if m == nil || slices.Contains(brokerIDs(m), 4) {
			return false
		}
		tp := partition(m, "t", victim.Partition)
		return tp != nil && tp.Leader != 4 && tp.Leader >= 0 && tp.LeaderEpoch == victim.LeaderEpoch+1 &&
			slices.Contains(victim.ISR, tp.Leader) && !slices.Contains(tp.ISR, 4)
	})

	// SIGSTOP broker 3: fenced; SIGCONT: back. (Node 3 may be the active controller: then a
	// new one is elected meanwhile.)
	procs[2].Pause()
	clustertest.WaitFor(t, 20*time.Second, "paused broker 3 fenced", func() bool {
		m := metadataFrom(t, procs[0].Addr())
		return m != nil && slices.Equal(brokerIDs(m), []int32{1, 2})
	})
	procs[2].Resume()
	clustertest.WaitFor(t, 20*time.Second, "broker 3 back", func() bool {
		m := metadataFrom(t, procs[0].Addr())
		return m != nil && slices.Equal(brokerIDs(m), []int32{1, 2, 3})
	})

	// kill -9 the active controller: another takes over and keeps deciding.
	var old int32
	clustertest.WaitFor(t, 10*time.Second, "a controller", func() bool {
		m := metadataFrom(t, procs[0].Addr())
		if m != nil {
			old = m.ControllerID
		}
		return old >= 1 && old <= 3
	})
	procs[old-1].Kill()
	alive := procs[0]
	if old == 1 {
		alive = procs[1]
	}
	clustertest.WaitFor(t, 20*time.Second, "a new controller", func() bool {
		m := metadataFrom(t, alive.Addr())
		return m != nil && m.ControllerID >= 1 && m.ControllerID != old
	})
	cl2, err := kgo.NewClient(kgo.SeedBrokers(alive.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if res, err := kadm.NewClient(cl2).CreateTopic(cctx, 2, 2, nil, "after"); err != nil || res.Err != nil {
		t.Fatalf("create after failover: %v %v", err, res.Err)
	}
}
