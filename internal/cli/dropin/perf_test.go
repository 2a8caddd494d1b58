package dropin

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/gregorhq/gregor/internal/cli/internal/golden"
)

func TestParseMultiValue(t *testing.T) {
	opts := options{{"producer-props", multiValue, ""}, {"topic", requiredValue, ""}}
	p, err := parse(opts, []string{"--producer-props", "acks=1", "linger.ms=5", "--topic", "t", "--producer-props=batch.size=1"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.all("producer-props"), []string{"acks=1", "linger.ms=5", "batch.size=1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("producer-props = %q, want %q", got, want)
	}
	if _, err := parse(opts, []string{"--producer-props", "--topic", "t"}); err == nil {
		t.Error("--producer-props without a value: want an error")
	}
}

// TestPerfAndVerifiableTools runs the four tools with Kafka's flags: the
// producer perf test with its several-word --producer-props, the consumer
// perf test with the old --broker-list, and a verifiable round trip.
func TestPerfAndVerifiableTools(t *testing.T) {
	addr := startNode(t)
	mustKafka(t, "", "kafka-topics", "--bootstrap-server", addr, "--create", "--topic", "p", "--partitions", "2")

	out, _ := mustKafka(t, "", "kafka-producer-perf-test.sh", "--topic", "p", "--num-records", "200", "--record-size", "50",
		"--throughput", "-1", "--producer-props", "bootstrap.servers="+addr, "acks=all", "linger.ms=1")
	if !strings.HasPrefix(lastLine(out), "200 records sent, ") || !strings.HasSuffix(lastLine(out), " ms 99.9th.") {
		t.Errorf("kafka-producer-perf-test output:\n%s", out)
	}
	golden.Assert(t, "producer_perf_test.txt", []byte(measured(lastLine(out)+"\n")))
	out, _ = mustKafka(t, "", "kafka-consumer-perf-test", "--broker-list", addr, "--topic", "p", "--messages", "200",
		"--timeout", safetyTimeout, "--threads", "1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "start.time, end.time,") || strings.Split(lines[1], ", ")[4] != "200" {
		t.Errorf("kafka-consumer-perf-test output:\n%s", out)
	}
	golden.Assert(t, "consumer_perf_test.txt", []byte(measured(out)))

	out, _ = mustKafka(t, "", "kafka-verifiable-producer", "--bootstrap-server", addr, "--topic", "p", "--max-messages", "20")
	if n := strings.Count(out, `"name":"producer_send_success"`); n != 20 {
		t.Errorf("kafka-verifiable-producer: %d successes, want 20:\n%s", n, out)
	}
	out, _ = mustKafka(t, "", "kafka-verifiable-consumer", "--bootstrap-server", addr, "--topic", "p", "--group-id", "v",
		"--max-messages", "220", "--assignment-strategy", "org.apache.kafka.clients.consumer.RoundRobinAssignor")
	total := 0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev struct {
			Name       string `json:"name"`
			Partitions []struct {
				Count int `json:"count"`
			} `json:"partitions"`
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if ev.Name == "records_consumed" {
			for _, p := range ev.Partitions {
				total += p.Count
			}
		}
	}
	if total != 220 {
		t.Errorf("kafka-verifiable-consumer consumed %d, want 220:\n%s", total, out)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
