package node_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/clustertest"
	"github.com/gregorhq/gregor/internal/storage"
)

// TestCompaction feeds a compacted topic 100,000 records over 1,000 keys, the last record of
// every tenth key a tombstone, then records with keys of their own until the active segment
// holds only those. Kafka guarantees that a consumer reading from the start sees the latest
// value of every key, and that below the cleaner checkpoint no key appears twice; the active
// segment is never cleaned. So once the cleaner has caught up, each live key appears exactly
// once with its latest value, and after delete.retention.ms the tombstoned keys are gone.
func TestCompaction(t *testing.T) {
	n := clustertest.StartNode(t, "log.cleaner.backoff.ms", "50")
	const topic = "compacted"
	createTopic(t, n.Addr(), topic, 1, map[string]*string{
		"cleanup.policy":            strp("compact"),
		"segment.bytes":             strp("16384"),
		"min.cleanable.dirty.ratio": strp("0.01"),
		"delete.retention.ms":       strp("200"),
	})
	// Uncompressed here; TestCompactionOfCompressedBatches feeds the cleaner compressed batches.
	cl := newClient(t, n.Addr(), kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.DefaultProduceTopic(topic))
	ctx := testContext(t)

	const total, keys = 100_000, 1000
	latest := map[string]string{} // key -> latest value, "" for a tombstone
	var batch []*kgo.Record
	for i := range total {
		k := fmt.Sprintf("k%04d", i%keys)
		r := &kgo.Record{Key: []byte(k), Value: []byte(fmt.Sprintf("v%d", i))}
		if i >= total-keys && (i%keys)%10 == 0 {
			r.Value = nil
		}
		latest[k] = string(r.Value)
		batch = append(batch, r)
		if len(batch) == 5000 || i == total-1 {
			if err := cl.ProduceSync(ctx, batch...).FirstErr(); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	const fillers = 3000
	for i := range fillers {
		batch = append(batch, &kgo.Record{Key: []byte(fmt.Sprintf("f%04d", i)), Value: []byte("x")})
		if len(batch) == 300 {
			if err := cl.ProduceSync(ctx, batch...).FirstErr(); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}

	var last string
	deadline := time.Now().Add(60 * time.Second)
	for backoff := 50 * time.Millisecond; ; backoff = min(2*backoff, time.Second) {
		problem := checkCompacted(t, n.Addr(), topic, latest, fillers)
		if problem == "" {
			break
		}
		if problem != last {
			t.Logf("not compacted yet: %s", problem)
			last = problem
		}
		if time.Now().After(deadline) {
			t.Fatalf("the topic was not compacted in time: %s", problem)
		}
		time.Sleep(backoff) // polling a condition, with a deadline
	}

	// The cleaner checkpoint (cleaner-offset-checkpoint) says how far the log is clean: past
	// every test key's record, below the active segment.
	cp, err := storage.ReadCheckpoint(storage.OSFS(), filepath.Join(n.Dir, "cleaner-offset-checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	if off := cp[storage.TopicPartition{Topic: topic, Partition: 0}]; off < total || off >= total+fillers {
		t.Fatalf("cleaner checkpoint %d, want in [%d, %d)", off, total, total+fillers)
	}
	// And a restart (recovery of the cleaned segments) changes nothing.
	n.Restart()
	if problem := checkCompacted(t, n.Addr(), topic, latest, fillers); problem != "" {
		t.Fatalf("after a restart: %s", problem)
	}
}

// checkCompacted reads the whole topic and returns what, if anything, is not compacted yet.
// Any violation of what compaction must never do fails the test at once.
func checkCompacted(t *testing.T, addr, topic string, latest map[string]string, fillers int) string {
	t.Helper()
	ctx := testContext(t)
	adm := kadm.NewClient(newClient(t, addr))
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	end, _ := ends.Lookup(topic, 0)
	cl := newClient(t, addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer cl.Close()
	seen := map[string]int{}
	lastValue := map[string]string{}
	prev := int64(-1)
	var problems []string
	for prev < end.Offset-1 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("reading up to %d: at %d: %v", end.Offset, prev, err)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch: %v", err) })
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset <= prev {
				t.Fatalf("offset %d after %d", r.Offset, prev)
			}
			prev = r.Offset
			k := string(r.Key)
			seen[k]++
			lastValue[k] = string(r.Value)
			want, ok := latest[k]
			switch {
			case strings.HasPrefix(k, "f"):
				if seen[k] > 1 {
					t.Fatalf("filler key %s read twice", k)
				}
			case !ok:
				t.Fatalf("unknown key %q", k)
			case r.Value == nil && want != "":
				t.Fatalf("tombstone of live key %s at %d", k, r.Offset)
			}
		})
	}
	// The latest record of each key must be there, whatever the cleaner's progress: the last
	// read of each key is its latest value.
	for k, v := range lastValue {
		if want := latest[k]; !strings.HasPrefix(k, "f") && v != want {
			t.Fatalf("key %s: last value read %q, latest produced %q", k, v, want)
		}
	}
	live := 0
	for _, v := range latest {
		if v != "" {
			live++
		}
	}
	for k, v := range latest {
		switch {
		case v != "" && seen[k] != 1:
			problems = append(problems, fmt.Sprintf("live key %s read %d times", k, seen[k]))
		case v == "" && seen[k] != 0:
			problems = append(problems, fmt.Sprintf("tombstoned key %s read %d times", k, seen[k]))
		}
		if len(problems) > 3 {
			break
		}
	}
	for i := range fillers {
		if k := fmt.Sprintf("f%04d", i); seen[k] != 1 {
			t.Fatalf("filler key %s read %d times", k, seen[k])
		}
	}
	if live != 900 {
		t.Fatalf("%d live keys, want 900", live)
	}
	return strings.Join(problems, "; ")
}

// TestCompactedTopicRefusesKeylessRecords: Kafka's "Compacted topic cannot accept message
// without key".
func TestCompactedTopicRefusesKeylessRecords(t *testing.T) {
	n := clustertest.StartNode(t)
	createTopic(t, n.Addr(), "keyed", 1, map[string]*string{"cleanup.policy": strp("compact,delete")})
	cl := newClient(t, n.Addr(), kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.DefaultProduceTopic("keyed"))
	ctx := testContext(t)
	err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("no key")}).FirstErr()
	if !errors.Is(err, kerr.InvalidRecord) {
		t.Fatalf("keyless record on a compacted topic: %v, want INVALID_RECORD", err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte("k"), Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatalf("keyed record: %v", err)
	}
}
