package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// End-to-end tests: each runs the real command tree against a broker from
// startBroker, as a user would run "gregor ...".

// safetyTimeout is passed as --timeout-ms to consumers that are expected to
// stop on --max-messages, so a broken broker fails the test instead of
// hanging it.
const safetyTimeout = "10000"

// gregor runs the command line args with stdin against the broker at addr.
func gregor(t *testing.T, addr, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := &cobra.Command{Use: "gregor", SilenceUsage: true, SilenceErrors: true}
	AddCommands(root)
	var out, errOut bytes.Buffer
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append(args, "--bootstrap-server", addr))
	err = root.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

// mustGregor is gregor that fails the test on error.
func mustGregor(t *testing.T, addr, stdin string, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, err := gregor(t, addr, stdin, args...)
	if err != nil {
		t.Fatalf("gregor %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr)
	}
	return stdout, stderr
}

func TestTopicLifecycle(t *testing.T) {
	addr := startBroker(t)

	out, _ := mustGregor(t, addr, "", "topic", "create", "--topic", "events", "--partitions", "3",
		"--replication-factor", "1", "--config", "cleanup.policy=compact")
	if out != "Created topic events.\n" {
		t.Errorf("create: stdout %q", out)
	}

	_, _, err := gregor(t, addr, "", "topic", "create", "--topic", "events")
	if !errors.Is(err, kerr.TopicAlreadyExists) || !strings.HasPrefix(err.Error(), `topic "events": TOPIC_ALREADY_EXISTS: `) {
		t.Errorf("create existing: err = %v, want TOPIC_ALREADY_EXISTS", err)
	}
	if out, _ := mustGregor(t, addr, "", "topic", "create", "--topic", "events", "--if-not-exists"); out != "" {
		t.Errorf("create --if-not-exists: stdout %q, want nothing", out)
	}

	out, _ = mustGregor(t, addr, "", "topic", "list")
	if !containsLine(out, "events") {
		t.Errorf("list: %q has no line \"events\"", out)
	}
	out, _ = mustGregor(t, addr, "", "topic", "list", "--format", "json")
	var list []struct {
		Topic          string `json:"topic"`
		PartitionCount int    `json:"partition_count"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("list --format json: %v\n%s", err, out)
	}
	found := false
	for _, e := range list {
		found = found || e.Topic == "events" && e.PartitionCount == 3
	}
	if !found {
		t.Errorf("list --format json: no events with 3 partitions in %s", out)
	}

	out, _ = mustGregor(t, addr, "", "topic", "describe", "--topic", "events")
	for _, want := range []string{"Topic: events", "PartitionCount: 3", "ReplicationFactor: 1",
		"cleanup.policy=compact", "Partition: 0", "Partition: 2", "Leader: ", "Isr: "} {
		if !strings.Contains(out, want) {
			t.Errorf("describe: no %q in\n%s", want, out)
		}
	}
	out, _ = mustGregor(t, addr, "", "topic", "describe", "--topic", "events", "--format", "json")
	var descs []struct {
		Topic             string            `json:"topic"`
		TopicID           string            `json:"topic_id"`
		PartitionCount    int               `json:"partition_count"`
		ReplicationFactor int               `json:"replication_factor"`
		Configs           map[string]string `json:"configs"`
		Partitions        []struct {
			Partition int32   `json:"partition"`
			Leader    int32   `json:"leader"`
			Replicas  []int32 `json:"replicas"`
			ISR       []int32 `json:"isr"`
		} `json:"partitions"`
	}
	if err := json.Unmarshal([]byte(out), &descs); err != nil {
		t.Fatalf("describe --format json: %v\n%s", err, out)
	}
	if len(descs) != 1 || descs[0].Topic != "events" || descs[0].PartitionCount != 3 ||
		descs[0].ReplicationFactor != 1 || len(descs[0].Partitions) != 3 ||
		descs[0].Configs["cleanup.policy"] != "compact" {
		t.Fatalf("describe --format json: %s", out)
	}
	for _, p := range descs[0].Partitions {
		if p.Leader < 0 || len(p.Replicas) != 1 || len(p.ISR) != 1 {
			t.Errorf("describe: partition %d: leader %d replicas %v isr %v", p.Partition, p.Leader, p.Replicas, p.ISR)
		}
	}

	out, _ = mustGregor(t, addr, "", "topic", "delete", "--topic", "events")
	if out != "Deleted topic events.\n" {
		t.Errorf("delete: stdout %q", out)
	}
	_, _, err = gregor(t, addr, "", "topic", "describe", "--topic", "events")
	if !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Errorf("describe deleted topic: err = %v, want UNKNOWN_TOPIC_OR_PARTITION", err)
	}
	_, _, err = gregor(t, addr, "", "topic", "delete", "--topic", "events")
	if !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Errorf("delete deleted topic: err = %v, want UNKNOWN_TOPIC_OR_PARTITION", err)
	}
	mustGregor(t, addr, "", "topic", "delete", "--topic", "events", "--if-exists")
}

func TestProduceConsume(t *testing.T) {
	addr := startBroker(t)
	mustGregor(t, addr, "", "topic", "create", "--topic", "quickstart-events", "--partitions", "1")

	// The last line has no newline; it is still a record.
	mustGregor(t, addr, "k1:first\nk2:second\n:empty key\nk4:last", "produce", "--topic", "quickstart-events",
		"--property", "parse.key=true", "--property", "key.separator=:")

	out, stderr := mustGregor(t, addr, "", "consume", "--topic", "quickstart-events", "--from-beginning",
		"--max-messages", "4", "--timeout-ms", safetyTimeout,
		"--property", "print.key=true", "--property", "key.separator=:")
	if want := "k1:first\nk2:second\n:empty key\nk4:last\n"; out != want {
		t.Errorf("consume: got\n%s\nwant\n%s", out, want)
	}
	if !strings.Contains(stderr, "Processed a total of 4 messages") {
		t.Errorf("consume: stderr %q", stderr)
	}

	out, _ = mustGregor(t, addr, "", "consume", "--topic", "quickstart-events", "--from-beginning",
		"--max-messages", "2", "--timeout-ms", safetyTimeout,
		"--property", "print.offset=true", "--property", "print.partition=true")
	if want := "Partition:0\tOffset:0\tfirst\nPartition:0\tOffset:1\tsecond\n"; out != want {
		t.Errorf("consume with offsets: got %q, want %q", out, want)
	}
}

func TestProduceAcks(t *testing.T) {
	addr := startBroker(t)
	mustGregor(t, addr, "", "topic", "create", "--topic", "acks", "--partitions", "1")
	for _, acks := range []string{"all", "-1", "1", "0"} {
		mustGregor(t, addr, "acks="+acks+"\n", "produce", "--topic", "acks", "--acks", acks)
	}
	out, _ := mustGregor(t, addr, "", "consume", "--topic", "acks", "--from-beginning",
		"--max-messages", "4", "--timeout-ms", safetyTimeout)
	if want := "acks=all\nacks=-1\nacks=1\nacks=0\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

func TestConsumePartitionOffset(t *testing.T) {
	addr := startBroker(t)
	mustGregor(t, addr, "", "topic", "create", "--topic", "p", "--partitions", "2")
	mustGregor(t, addr, "a\nb\nc\n", "produce", "--topic", "p", "--partition", "1")
	mustGregor(t, addr, "x\n", "produce", "--topic", "p", "--partition", "0")

	out, _ := mustGregor(t, addr, "", "consume", "--topic", "p", "--partition", "1", "--offset", "1",
		"--max-messages", "2", "--timeout-ms", safetyTimeout, "--property", "print.offset=true")
	if want := "Offset:1\tb\nOffset:2\tc\n"; out != want {
		t.Errorf("--offset 1: got %q, want %q", out, want)
	}
	out, _ = mustGregor(t, addr, "", "consume", "--topic", "p", "--partition", "0", "--offset", "earliest",
		"--max-messages", "1", "--timeout-ms", safetyTimeout)
	if out != "x\n" {
		t.Errorf("--partition 0 --offset earliest: got %q", out)
	}
}

func TestConsumeTimeout(t *testing.T) {
	addr := startBroker(t)
	mustGregor(t, addr, "", "topic", "create", "--topic", "empty", "--partitions", "1")
	out, stderr := mustGregor(t, addr, "", "consume", "--topic", "empty", "--from-beginning", "--timeout-ms", "500")
	if out != "" || !strings.Contains(stderr, "Processed a total of 0 messages") {
		t.Errorf("stdout %q, stderr %q", out, stderr)
	}
}

func TestConsumeGroupResumes(t *testing.T) {
	addr := startBroker(t)
	mustGregor(t, addr, "", "topic", "create", "--topic", "g", "--partitions", "1")
	mustGregor(t, addr, "1\n2\n3\n", "produce", "--topic", "g")

	args := []string{"consume", "--topic", "g", "--group", "cli-test", "--from-beginning", "--timeout-ms", safetyTimeout}
	out, _ := mustGregor(t, addr, "", append(args, "--max-messages", "2")...)
	if out != "1\n2\n" {
		t.Fatalf("first run: got %q", out)
	}
	// The group committed what it printed, so the next run resumes at 3.
	out, _ = mustGregor(t, addr, "", append(args, "--max-messages", "1")...)
	if out != "3\n" {
		t.Fatalf("second run: got %q, want the record after the committed offset", out)
	}
}

func TestProduceBadLine(t *testing.T) {
	addr := startBroker(t)
	mustGregor(t, addr, "", "topic", "create", "--topic", "bad", "--partitions", "1")
	_, _, err := gregor(t, addr, "k:v\nnovalue\n", "produce", "--topic", "bad",
		"--property", "parse.key=true", "--property", "key.separator=:")
	if err == nil || !strings.Contains(err.Error(), "line 2: no key separator") {
		t.Fatalf("err = %v", err)
	}
	// Lines before the bad one were sent.
	out, _ := mustGregor(t, addr, "", "consume", "--topic", "bad", "--from-beginning",
		"--max-messages", "1", "--timeout-ms", safetyTimeout, "--property", "print.key=true")
	if out != "k\tv\n" {
		t.Errorf("got %q", out)
	}
}

func containsLine(s, line string) bool {
	for _, l := range strings.Split(s, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// TestProduceCompression: --compression (or Kafka's --compression-codec) picks the codec of
// the batches the broker stores; consumers read them back.
func TestProduceCompression(t *testing.T) {
	addr := startBroker(t)
	lines := strings.Repeat("a line that compresses well, a line that compresses well\n", 20)
	for i, tc := range []struct {
		flags []string
		attr  uint8
	}{
		{[]string{"--compression", "none"}, 0},
		{[]string{"--compression", "gzip"}, 1},
		{[]string{"--compression", "snappy"}, 2},
		{[]string{"--compression-codec", "lz4"}, 3},
		{[]string{"--compression", "zstd"}, 4},
	} {
		topic := fmt.Sprintf("compressed-%d", i)
		mustGregor(t, addr, lines, append([]string{"produce", "--topic", topic}, tc.flags...)...)
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			t.Fatal(err)
		}
		var got []*kgo.Record
		for len(got) < 20 && t.Context().Err() == nil {
			fs := cl.PollFetches(t.Context())
			fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch: %v", err) })
			got = append(got, fs.Records()...)
		}
		cl.Close()
		for _, r := range got {
			if c := r.Attrs.CompressionType(); c != tc.attr || !strings.HasPrefix(string(r.Value), "a line") {
				t.Fatalf("%v: record %d stored with codec %d, value %q", tc.flags, r.Offset, c, r.Value)
			}
		}
	}
	if _, _, err := gregor(t, addr, "x\n", "produce", "--topic", "t", "--compression", "brotli"); err == nil ||
		!strings.Contains(err.Error(), "brotli") {
		t.Fatalf("--compression brotli: %v", err)
	}
}

// TestProducePartitioners checks where --partitioner sends records: murmur2 keeps a key on
// one partition, round-robin spreads records evenly whatever their keys.
func TestProducePartitioners(t *testing.T) {
	addr := startBroker(t)
	mustGregor(t, addr, "", "topic", "create", "--topic", "spread", "--partitions", "3")
	countPartitions := func(topic string) map[string]int {
		t.Helper()
		out, _ := mustGregor(t, addr, "", "consume", "--topic", topic, "--from-beginning",
			"--max-messages", "6", "--timeout-ms", safetyTimeout, "--property", "print.partition=true")
		n := map[string]int{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			p, _, _ := strings.Cut(line, "\t")
			n[p]++
		}
		return n
	}

	mustGregor(t, addr, strings.Repeat("same:v\n", 6), "produce", "--topic", "spread",
		"--property", "parse.key=true", "--property", "key.separator=:")
	if n := countPartitions("spread"); len(n) != 1 {
		t.Fatalf("murmur2 with one key: records on %v, want one partition", n)
	}

	mustGregor(t, addr, "", "topic", "create", "--topic", "spread-rr", "--partitions", "3")
	mustGregor(t, addr, strings.Repeat("same:v\n", 6), "produce", "--topic", "spread-rr", "--partitioner", "round-robin",
		"--property", "parse.key=true", "--property", "key.separator=:")
	if n := countPartitions("spread-rr"); len(n) != 3 || n["Partition:0"] != 2 || n["Partition:1"] != 2 || n["Partition:2"] != 2 {
		t.Fatalf("round-robin: records per partition %v, want 2 on each of 3", n)
	}

	_, _, err := gregor(t, addr, "x\n", "produce", "--topic", "spread", "--acks", "1", "--idempotent")
	if err == nil || !strings.Contains(err.Error(), "--idempotent needs --acks all") {
		t.Errorf("--acks 1 --idempotent: err = %v", err)
	}
}
