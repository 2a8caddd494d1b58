package compat

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// need returns the path of an external client, skipping the test when it is missing, except
// in CI (CI=true), where .ci/run installs them and a missing one is a failure.
func need(t *testing.T, path string) string {
	t.Helper()
	p, err := exec.LookPath(path)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed: %v", path, err)
		}
		t.Skipf("%s is not installed", path)
	}
	return p
}

// run runs a command with a deadline and returns its stdout.
func run(t *testing.T, stdin string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func createTopic(t *testing.T, addr, topic string, partitions int32) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if r, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, 1, nil, topic); err != nil || r.Err != nil {
		t.Fatalf("create %s: %v %v", topic, err, r.Err)
	}
}

func TestKcatListsBroker(t *testing.T) {
	kcat := need(t, "kcat")
	n := clustertest.StartNode(t)
	createTopic(t, n.Addr(), "listed", 3)
	out := run(t, "", kcat, "-b", n.Addr(), "-L")
	for _, want := range []string{"1 brokers:", "broker 1 at " + n.Addr(), `topic "listed" with 3 partitions`} {
		if !strings.Contains(out, want) {
			t.Fatalf("kcat -L output lacks %q:\n%s", want, out)
		}
	}
}

func TestKcatRoundTripsKeyedRecords(t *testing.T) {
	kcat := need(t, "kcat")
	n := clustertest.StartNode(t)
	createTopic(t, n.Addr(), "kcat", 1)
	var in strings.Builder
	const count = 200
	for i := 0; i < count; i++ {
		fmt.Fprintf(&in, "key%d:value%d\n", i, i)
	}
	run(t, in.String(), kcat, "-b", n.Addr(), "-t", "kcat", "-P", "-K:", "-X", "acks=all")
	out := run(t, "", kcat, "-b", n.Addr(), "-t", "kcat", "-C", "-o", "beginning", "-e", "-f", "%o %k=%s\n")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != count {
		t.Fatalf("kcat consumed %d records, want %d:\n%s", len(lines), count, out)
	}
	for i, l := range lines {
		if want := fmt.Sprintf("%d key%d=value%d", i, i, i); l != want {
			t.Fatalf("record %d: %q, want %q", i, l, want)
		}
	}
}

func TestKafkaPythonRoundTrip(t *testing.T) {
	python := need(t, "/usr/bin/python3")
	if err := exec.Command(python, "-c", "import kafka").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("kafka-python is not installed: %v", err)
		}
		t.Skip("kafka-python is not installed")
	}
	n := clustertest.StartNode(t)
	createTopic(t, n.Addr(), "python", 1)
	const count = 100
	out := run(t, "", python, "testdata/roundtrip.py", n.Addr(), "python", fmt.Sprint(count))
	sc := bufio.NewScanner(strings.NewReader(out))
	i := 0
	for ; sc.Scan(); i++ {
		var rec struct {
			Offset  int64
			Key     string
			Value   string
			Headers [][2]string
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, sc.Text())
		}
		want := fmt.Sprint(i)
		if rec.Offset != int64(i) || rec.Key != "k"+want || rec.Value != "v"+want ||
			len(rec.Headers) != 1 || rec.Headers[0] != [2]string{"h", want} {
			t.Fatalf("record %d: %+v", i, rec)
		}
	}
	if i != count {
		t.Fatalf("kafka-python consumed %d records, want %d:\n%s", i, count, out)
	}
}

// produceN writes n records to partition 0 of topic with franz-go, uncompressed (kafka-python
// may lack the codecs).
func produceN(t *testing.T, addr, topic string, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for i := 0; i < n; i++ {
		recs = append(recs, &kgo.Record{Topic: topic, Partition: 0, Value: fmt.Appendf(nil, "v%d", i)})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// committedOffset is the group's committed offset of partition 0 of topic, as kadm sees it.
func committedOffset(t *testing.T, addr, group, topic string) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	offs, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	o, ok := offs.Lookup(topic, 0)
	if !ok {
		return -1
	}
	return o.At
}

func TestKafkaPythonConsumerGroup(t *testing.T) {
	python := need(t, "/usr/bin/python3")
	if err := exec.Command(python, "-c", "import kafka").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("kafka-python is not installed: %v", err)
		}
		t.Skip("kafka-python is not installed")
	}
	n := clustertest.StartNode(t, "group.initial.rebalance.delay.ms", "0")
	createTopic(t, n.Addr(), "pygroup", 1)
	const count = 50
	produceN(t, n.Addr(), "pygroup", count)
	out := run(t, "", python, "testdata/group_consume.py", n.Addr(), "pygroup", "py-group", fmt.Sprint(count))
	if strings.TrimSpace(out) != fmt.Sprint(count) {
		t.Fatalf("kafka-python consumed %q records, want %d", out, count)
	}
	if got := committedOffset(t, n.Addr(), "py-group", "pygroup"); got != count {
		t.Fatalf("committed offset %d, want %d", got, count)
	}
}

func TestKcatConsumerGroup(t *testing.T) {
	kcat := need(t, "kcat")
	n := clustertest.StartNode(t, "group.initial.rebalance.delay.ms", "0")
	createTopic(t, n.Addr(), "kcatgroup", 1)
	const count = 30
	produceN(t, n.Addr(), "kcatgroup", count)
	// -G joins group kcat-group (the balanced consumer of librdkafka), commits synchronously
	// per message, and leaves the group when it exits at the end of the partition.
	out := run(t, "", kcat, "-b", n.Addr(), "-G", "kcat-group", "-o", "beginning", "-e", "-f", "%o\n",
		"-X", "enable.auto.commit=false", "-X", "enable.auto.offset.store=true", "kcatgroup")
	lines := strings.Fields(out)
	if len(lines) != count {
		t.Fatalf("kcat consumed %d records, want %d:\n%s", len(lines), count, out)
	}
	if got := committedOffset(t, n.Addr(), "kcat-group", "kcatgroup"); got != count {
		t.Fatalf("committed offset %d, want %d", got, count)
	}
}
