package cli

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

func TestConfigAlterDescribe(t *testing.T) {
	addr := startBroker(t)
	mustGregor(t, addr, "", "topic", "create", "--topic", "events", "--partitions", "1")

	out, _ := mustGregor(t, addr, "", "config", "alter", "--entity-type", "topics", "--entity-name", "events",
		"--add-config", "retention.ms=3600000,cleanup.policy=[compact,delete]")
	if out != "Completed updating config for topic events.\n" {
		t.Errorf("alter: stdout %q", out)
	}
	out, _ = mustGregor(t, addr, "", "config", "describe", "--entity-type", "topics", "--entity-name", "events")
	for _, want := range []string{
		"Non-default configs for topic events are:\n",
		"  cleanup.policy=compact,delete sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact,delete, DEFAULT_CONFIG:log.cleanup.policy=delete}\n",
		"  retention.ms=3600000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=3600000}\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("describe: no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "segment.bytes") {
		t.Errorf("describe without --all lists a default config:\n%s", out)
	}
	out, _ = mustGregor(t, addr, "", "config", "describe", "--entity-type", "topics", "--entity-name", "events", "--all", "--format", "json")
	var all []struct {
		Name   string  `json:"name"`
		Value  *string `json:"value"`
		Source string  `json:"source"`
	}
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		t.Fatalf("describe --all --format json: %v\n%s", err, out)
	}
	found := false
	for _, c := range all {
		found = found || c.Name == "segment.bytes" && c.Source == "DEFAULT_CONFIG" && c.Value != nil && *c.Value == "1073741824"
	}
	if !found {
		t.Errorf("describe --all: no default segment.bytes in %s", out)
	}

	// topic alter-config, then topic describe shows the overrides.
	mustGregor(t, addr, "", "topic", "alter-config", "--topic", "events", "--delete-config", "cleanup.policy",
		"--add-config", "segment.ms=60000")
	out, _ = mustGregor(t, addr, "", "topic", "describe", "--topic", "events")
	if !strings.Contains(out, "Configs: retention.ms=3600000,segment.ms=60000") {
		t.Errorf("topic describe: %s", out)
	}

	// The cluster-wide broker default.
	mustGregor(t, addr, "", "config", "alter", "--entity-type", "brokers", "--entity-default", "--add-config", "log.retention.ms=7200000")
	out, _ = mustGregor(t, addr, "", "config", "describe", "--entity-type", "brokers", "--entity-default")
	if !strings.Contains(out, "  log.retention.ms=7200000 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=7200000}") {
		t.Errorf("describe default broker: %s", out)
	}
	out, _ = mustGregor(t, addr, "", "config", "describe", "--entity-type", "brokers", "--entity-name", "1")
	if !strings.Contains(out, "  log.retention.ms=7200000 ") {
		t.Errorf("describe broker 1: %s", out)
	}

	_, _, err := gregor(t, addr, "", "config", "alter", "--entity-type", "topics", "--entity-name", "events", "--add-config", "retention.ms=soon")
	if !errors.Is(err, kerr.InvalidConfig) || !strings.Contains(err.Error(), "retention.ms") {
		t.Errorf("bad value: %v", err)
	}
	_, _, err = gregor(t, addr, "", "config", "describe", "--entity-type", "topics", "--entity-name", "nope")
	if !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Errorf("unknown topic: %v", err)
	}
	for _, args := range [][]string{
		{"config", "alter", "--entity-type", "topics", "--entity-name", "events"},
		{"config", "describe", "--entity-type", "groups", "--entity-name", "g"},
		{"config", "describe", "--entity-type", "topics", "--entity-default"},
		{"config", "describe", "--entity-type", "brokers", "--entity-name", "x"},
	} {
		if _, _, err := gregor(t, addr, "", args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
