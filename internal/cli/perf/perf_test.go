package perf

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// startBroker starts a node with no initial rebalance delay, so a perf
// consumer's group forms at once.
func startBroker(t *testing.T) string {
	t.Helper()
	return clustertest.StartNode(t, "group.initial.rebalance.delay.ms", "0").Addr()
}

func createTopic(t *testing.T, addr, topic string, partitions int32) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).CreateTopic(t.Context(), partitions, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

// perf runs "perf args..." against addr and returns its standard output.
func perf(t *testing.T, addr string, args ...string) string {
	t.Helper()
	cmd := NewCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(append(args, "--bootstrap-server", addr))
	if err := cmd.ExecuteContext(t.Context()); err != nil {
		t.Fatalf("perf %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String()
}

var (
	producerSummary = regexp.MustCompile(`^(\d+) records sent, [0-9.]+ records/sec \([0-9.]+ MB/sec\), [0-9.]+ ms avg latency, [0-9.]+ ms max latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99.9th\.$`)
	consumerData    = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3}, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3}, [0-9.]+, [0-9.]+, (\d+), [0-9.]+, \d+, -?\d+, -?[0-9.]+, -?[0-9.]+$`)
)

func TestPerfProduceConsume(t *testing.T) {
	addr := startBroker(t)
	createTopic(t, addr, "bench", 3)

	out := perf(t, addr, "produce", "--topic", "bench", "--num-records", "500", "--record-size", "100",
		"--throughput", "-1", "--producer-props", "acks=1", "linger.ms=1", "compression.type=lz4")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	m := producerSummary.FindStringSubmatch(lines[len(lines)-1])
	if m == nil || m[1] != "500" {
		t.Fatalf("produce output:\n%s", out)
	}

	out = perf(t, addr, "consume", "--topic", "bench", "--messages", "500", "--timeout", "20000")
	lines = strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 || lines[0]+"\n" != consumerHeader {
		t.Fatalf("consume output:\n%s", out)
	}
	if m := consumerData.FindStringSubmatch(lines[1]); m == nil || m[1] != "500" {
		t.Fatalf("consume data line %q: want 500 messages", lines[1])
	}

	// JSON: one object with the same figures.
	out = perf(t, addr, "consume", "--topic", "bench", "--messages", "500", "--timeout", "20000", "--format", "json")
	var c ConsumerSummary
	if err := json.Unmarshal([]byte(out), &c); err != nil || c.Messages != 500 || c.MB <= 0 {
		t.Fatalf("consume --format json: %v\n%s", err, out)
	}
	out = perf(t, addr, "produce", "--topic", "bench", "--num-records", "50", "--record-size", "10", "--throughput", "1000", "--format", "json")
	var p ProducerSummary
	if err := json.Unmarshal([]byte(out), &p); err != nil || p.Records != 50 {
		t.Fatalf("produce --format json: %v\n%s", err, out)
	}
}

func TestPerfE2E(t *testing.T) {
	addr := startBroker(t)
	out := perf(t, addr, "e2e", "--topic", "lat", "--num-records", "200", "--record-size", "64", "--throughput", "2000", "--format", "json")
	var s E2ESummary
	if err := json.Unmarshal([]byte(out), &s); err != nil || s.Records != 200 {
		t.Fatalf("e2e: %v\n%s", err, out)
	}
	if s.P50Ms > s.P999Ms || s.P999Ms > s.MaxLatencyMs+0.001 {
		t.Errorf("e2e percentiles out of order: %+v", s)
	}
	// Every record was acknowledged before the run ended, so the acknowledgement figures
	// are of all of them: real, ordered latencies.
	if s.AckP50Ms <= 0 || s.AckP50Ms > s.AckP99Ms || s.AckP99Ms > s.AckP999Ms {
		t.Errorf("e2e acknowledgement percentiles missing or out of order: %+v", s)
	}
	// The received rate is what a latency run's "max load" is read from.
	if s.RecordsPerSec <= 0 {
		t.Errorf("e2e received rate missing: %+v", s)
	}
}

func TestPerfLimits(t *testing.T) {
	l, err := MeasureLimits(t.Context(), t.TempDir(), 8<<20, 4<<20, 2)
	if err != nil {
		t.Fatal(err)
	}
	if l.LoopbackMBPerSec <= 0 || l.DiskMBPerSec <= 0 || l.DiskSync1MiBPerSec <= 0 || l.DiskSync16KiBPerSec <= 0 {
		t.Errorf("limits: %+v", l)
	}
}

// TestPerfProduceCompressionDefault: as Kafka's producer, the tools compress nothing unless
// compression.type says so, and use the codec it names.
func TestPerfProduceCompressionDefault(t *testing.T) {
	addr := startBroker(t)
	for _, c := range []struct {
		topic string
		props []string
		want  uint8 // the batch attributes' codec
	}{
		{"plain", nil, 0},
		{"lz4", []string{"--producer-props", "compression.type=lz4"}, 3},
	} {
		createTopic(t, addr, c.topic, 1)
		perf(t, addr, append([]string{"produce", "--topic", c.topic, "--num-records", "20", "--record-size", "100", "--throughput", "-1"}, c.props...)...)
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(c.topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			t.Fatal(err)
		}
		fs := cl.PollRecords(t.Context(), 1)
		cl.Close()
		if err := fs.Err0(); err != nil {
			t.Fatalf("%s: %v", c.topic, err)
		}
		recs := fs.Records()
		if len(recs) == 0 {
			t.Fatalf("%s: no record read back", c.topic)
		}
		if got := recs[0].Attrs.CompressionType(); got != c.want {
			t.Errorf("%s: batch codec %d, want %d", c.topic, got, c.want)
		}
	}
}
