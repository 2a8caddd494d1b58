package node_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// acked is what a producer was told about one record.
type acked struct {
	partition int32
	offset    int64
	key       string
	value     string
	header    string
	ts        int64
}

// TestKill9KeepsAcknowledgedRecords produces 100,000 records with acks=all to a gregor
// process, kills it with SIGKILL, restarts it on the same data and reads every acknowledged
// record back, in order, with its offset, key, value, header and timestamp.
func TestKill9KeepsAcknowledgedRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a gregor process")
	}
	const total = 100_000
	p := clustertest.StartProcess(t, "")
	createTopic(t, p.Addr(), "crash", 3, nil)

	cl := newClient(t, p.Addr(), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DefaultProduceTopic("crash"))
	ctx := testContext(t)
	results := make(chan acked, total)
	base := time.UnixMilli(1_700_000_000_000)
	for i := 0; i < total; i++ {
		r := &kgo.Record{
			Key:       []byte(fmt.Sprintf("key-%d", i)),
			Value:     []byte(fmt.Sprintf("value-%d-%0100d", i, i)),
			Headers:   []kgo.RecordHeader{{Key: "seq", Value: []byte(fmt.Sprint(i))}},
			Timestamp: base.Add(time.Duration(i) * time.Millisecond),
		}
		cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce: %v", err)
				return
			}
			results <- acked{r.Partition, r.Offset, string(r.Key), string(r.Value), string(r.Headers[0].Value), r.Timestamp.UnixMilli()}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	close(results)
	if t.Failed() {
		return
	}

	p.Kill()
	p.Restart()

	want := map[int32][]acked{}
	for a := range results {
		want[a.partition] = append(want[a.partition], a)
	}
	got := consumeN(t, p.Addr(), "crash", total)
	byPartition := map[int32][]*kgo.Record{}
	for _, r := range got {
		byPartition[r.Partition] = append(byPartition[r.Partition], r)
	}
	for part, as := range want {
		sort.Slice(as, func(i, j int) bool { return as[i].offset < as[j].offset })
		rs := byPartition[part]
		if len(rs) < len(as) {
			t.Fatalf("partition %d: read %d records, %d were acknowledged", part, len(rs), len(as))
		}
		for i, a := range as {
			r := rs[i]
			if r.Offset != a.offset || string(r.Key) != a.key || string(r.Value) != a.value ||
				len(r.Headers) != 1 || string(r.Headers[0].Value) != a.header || r.Timestamp.UnixMilli() != a.ts {
				t.Fatalf("partition %d record %d: got offset %d key %q header %v ts %d; acknowledged %+v",
					part, i, r.Offset, r.Key, r.Headers, r.Timestamp.UnixMilli(), a)
			}
		}
	}
}

// TestTornLastBatchIsRecovered kills a gregor process, cuts its last batch in half as a
// crash in mid-write would, and checks that the node starts and serves every whole batch
// before it, then appends after them.
func TestTornLastBatchIsRecovered(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a gregor process")
	}
	p := clustertest.StartProcess(t, "")
	createTopic(t, p.Addr(), "torn", 1, nil)
	cl := newClient(t, p.Addr(), kgo.DefaultProduceTopic("torn"))
	ctx := testContext(t)
	const batches = 20
	for i := 0; i < batches; i++ {
		if err := cl.ProduceSync(ctx, kgo.StringRecord(fmt.Sprintf("batch-%d", i))).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()
	p.Kill()

	seg := filepath.Join(p.Dir, "torn-0", fmt.Sprintf("%020d.log", 0))
	st, err := os.Stat(seg)
	if err != nil {
		t.Fatal(err)
	}
	// Each batch holds one small record: cutting 20 bytes tears the last one only.
	if err := os.Truncate(seg, st.Size()-20); err != nil {
		t.Fatal(err)
	}

	p.Restart()
	got := consumeN(t, p.Addr(), "torn", batches-1)
	for i, r := range got {
		if string(r.Value) != fmt.Sprintf("batch-%d", i) || r.Offset != int64(i) {
			t.Fatalf("record %d: %q at %d", i, r.Value, r.Offset)
		}
	}
	cl2 := newClient(t, p.Addr())
	r, err := cl2.ProduceSync(ctx, &kgo.Record{Topic: "torn", Value: []byte("next")}).First()
	if err != nil || r.Offset != batches-1 {
		t.Fatalf("append after recovery: offset %v err %v", r, err)
	}
}

// TestCleanShutdownOnSigterm checks SIGTERM makes gregor exit 0 and keep its data.
func TestCleanShutdownOnSigterm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a gregor process")
	}
	p := clustertest.StartProcess(t, "")
	createTopic(t, p.Addr(), "term", 1, nil)
	cl := newClient(t, p.Addr())
	if err := cl.ProduceSync(testContext(t), &kgo.Record{Topic: "term", Value: []byte("kept")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	if err := p.Stop(); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, p.Log())
	}
	p.Restart()
	if got := consumeN(t, p.Addr(), "term", 1); string(got[0].Value) != "kept" {
		t.Fatalf("after SIGTERM restart: %q", got[0].Value)
	}
}
