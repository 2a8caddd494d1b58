package eos_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestMain runs the copier instead of the tests when the test binary was started as a
// copier child process (see copier_test.go).
func TestMain(m *testing.M) {
	if addr := os.Getenv(copierAddrEnv); addr != "" {
		os.Exit(runCopier(addr))
	}
	os.Exit(m.Run())
}

func newClient(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func createTopic(t *testing.T, addr, topic string, partitions int32) {
	t.Helper()
	adm := kadm.NewClient(newClient(t, addr))
	resp, err := adm.CreateTopic(testContext(t, 30*time.Second), partitions, 1, nil, topic)
	if err != nil || resp.Err != nil {
		t.Fatalf("create topic %s: %v %v", topic, err, resp.Err)
	}
}

// waitFor polls cond with a short backoff until it holds, failing the test when ctx ends.
func waitFor(ctx context.Context, t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	backoff := 5 * time.Millisecond
	for {
		ok, last := cond()
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: never happened; last: %s", what, last)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 100*time.Millisecond)
	}
}

// readUntilSentinel reads every partition of topic from the start at an isolation level until
// it meets the sentinel record in each, and returns the records before it, per partition.
func readUntilSentinel(ctx context.Context, t *testing.T, addr, topic string, partitions int32, level kgo.IsolationLevel) map[int32][]*kgo.Record {
	t.Helper()
	parts := map[int32]kgo.Offset{}
	for p := range partitions {
		parts[p] = kgo.NewOffset().AtStart()
	}
	cl := newClient(t, addr, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}),
		kgo.FetchIsolationLevel(level))
	out := map[int32][]*kgo.Record{}
	done := map[int32]bool{}
	for len(done) < int(partitions) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s: sentinel seen in %d of %d partitions", topic, len(done), partitions)
		}
		fs.EachError(func(_ string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			switch {
			case done[r.Partition]:
			case string(r.Value) == sentinel:
				done[r.Partition] = true
			default:
				out[r.Partition] = append(out[r.Partition], r)
			}
		})
	}
	return out
}

// sentinel is the value of the record a test appends, non-transactionally, to each partition
// after the transactional writers are done: reading up to it reads everything before it.
const sentinel = "<end>"

// appendSentinels appends the sentinel to each partition of topic.
func appendSentinels(ctx context.Context, t *testing.T, addr, topic string, partitions int32) {
	t.Helper()
	cl := newClient(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for p := range partitions {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: p, Value: []byte(sentinel)}).FirstErr(); err != nil {
			t.Fatalf("sentinel to %s/%d: %v", topic, p, err)
		}
	}
}
