package controller

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/metadata"
)

func strp(s string) *string { return &s }

// configController starts a controller that validates configs as a node does, with topic
// "t" created.
func configController(t *testing.T) *Controller {
	t.Helper()
	cfg := testConfig(t.TempDir())
	cfg.ValidateTopicConfig = config.ValidateTopicConfig
	c := startController(t, cfg)
	registerBrokers(t, c, 1)
	res := c.CreateTopics(context.Background(), []TopicSpec{{Name: "t", NumPartitions: 1, ReplicationFactor: 1,
		Configs: map[string]*string{"retention.ms": strp("1000"), "cleanup.policy": strp("delete")}}}, false)
	if res[0].Err != nil {
		t.Fatalf("create: %v %s", res[0].Err, res[0].Message)
	}
	return c
}

func topicConfigs(c *Controller) map[string]string { return maps.Clone(c.Image().Topics["t"].Configs) }

func TestIncrementalAlterConfigsOps(t *testing.T) {
	c := configController(t)
	ctx := context.Background()
	steps := []struct {
		name    string
		changes []ConfigChange
		want    map[string]string
	}{
		{"set", []ConfigChange{{Name: "segment.bytes", Op: ConfigSet, Value: strp("1048576")}},
			map[string]string{"retention.ms": "1000", "cleanup.policy": "delete", "segment.bytes": "1048576"}},
		{"append", []ConfigChange{{Name: "cleanup.policy", Op: ConfigAppend, Value: strp("compact,delete")}},
			map[string]string{"retention.ms": "1000", "cleanup.policy": "delete,compact", "segment.bytes": "1048576"}},
		{"subtract", []ConfigChange{{Name: "cleanup.policy", Op: ConfigSubtract, Value: strp("delete")}},
			map[string]string{"retention.ms": "1000", "cleanup.policy": "compact", "segment.bytes": "1048576"}},
		{"delete", []ConfigChange{{Name: "retention.ms", Op: ConfigDelete}, {Name: "segment.bytes", Op: ConfigDelete}},
			map[string]string{"cleanup.policy": "compact"}},
	}
	for _, s := range steps {
		res := c.IncrementalAlterConfigs(ctx, []ConfigResource{{Type: metadata.ConfigResourceTopic, Name: "t", Changes: s.changes}}, false)
		if res[0].Err != nil {
			t.Fatalf("%s: %v %s", s.name, res[0].Err, res[0].Message)
		}
		if got := topicConfigs(c); !maps.Equal(got, s.want) {
			t.Fatalf("%s: configs %v, want %v", s.name, got, s.want)
		}
	}
	// APPEND to a list with no override starts from the default (delete).
	c2 := configController(t)
	c2.IncrementalAlterConfigs(ctx, []ConfigResource{{Type: metadata.ConfigResourceTopic, Name: "t",
		Changes: []ConfigChange{{Name: "cleanup.policy", Op: ConfigDelete}}}}, false)
	res := c2.IncrementalAlterConfigs(ctx, []ConfigResource{{Type: metadata.ConfigResourceTopic, Name: "t",
		Changes: []ConfigChange{{Name: "cleanup.policy", Op: ConfigAppend, Value: strp("compact")}}}}, false)
	if res[0].Err != nil || topicConfigs(c2)["cleanup.policy"] != "delete,compact" {
		t.Fatalf("append to default: %v, configs %v", res[0].Err, topicConfigs(c2))
	}
}

func TestAlterConfigsReplaces(t *testing.T) {
	c := configController(t)
	res := c.AlterConfigs(context.Background(), []ConfigResource{{Type: metadata.ConfigResourceTopic, Name: "t",
		Changes: []ConfigChange{{Name: "segment.ms", Value: strp("60000")}}}}, false)
	if res[0].Err != nil {
		t.Fatalf("%v %s", res[0].Err, res[0].Message)
	}
	if got, want := topicConfigs(c), map[string]string{"segment.ms": "60000"}; !maps.Equal(got, want) {
		t.Fatalf("configs %v, want %v", got, want)
	}
}

func TestAlterConfigsValidateOnly(t *testing.T) {
	c := configController(t)
	before := c.Image().Offset
	for _, incremental := range []bool{false, true} {
		rs := []ConfigResource{
			{Type: metadata.ConfigResourceTopic, Name: "t", Changes: []ConfigChange{{Name: "retention.ms", Value: strp("5")}}},
			{Type: metadata.ConfigResourceBroker, Name: "", Changes: []ConfigChange{{Name: "log.retention.ms", Value: strp("5")}}},
		}
		var res []ConfigResult
		if incremental {
			res = c.IncrementalAlterConfigs(context.Background(), rs, true)
		} else {
			res = c.AlterConfigs(context.Background(), rs, true)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Errorf("incremental=%v %q: %v %s", incremental, r.Name, r.Err, r.Message)
			}
		}
	}
	if c.Image().Offset != before || topicConfigs(c)["retention.ms"] != "1000" || len(c.Image().BrokerConfigs) != 0 {
		t.Errorf("validate_only changed the metadata")
	}
}

func TestBrokerConfigs(t *testing.T) {
	c := configController(t)
	ctx := context.Background()
	res := c.IncrementalAlterConfigs(ctx, []ConfigResource{
		{Type: metadata.ConfigResourceBroker, Name: "", Changes: []ConfigChange{{Name: "log.retention.ms", Value: strp("60000")}}},
		{Type: metadata.ConfigResourceBroker, Name: "1", Changes: []ConfigChange{{Name: "log.cleanup.policy", Op: ConfigAppend, Value: strp("compact")}}},
	}, false)
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("%q: %v %s", r.Name, r.Err, r.Message)
		}
	}
	img := c.Image()
	if img.BrokerConfigs[""]["log.retention.ms"] != "60000" || img.BrokerConfigs["1"]["log.cleanup.policy"] != "delete,compact" {
		t.Fatalf("broker configs %v", img.BrokerConfigs)
	}
}

func TestAlterConfigsErrors(t *testing.T) {
	c := configController(t)
	topic := func(changes ...ConfigChange) ConfigResource {
		return ConfigResource{Type: metadata.ConfigResourceTopic, Name: "t", Changes: changes}
	}
	broker := func(name string, changes ...ConfigChange) ConfigResource {
		return ConfigResource{Type: metadata.ConfigResourceBroker, Name: name, Changes: changes}
	}
	set := func(k, v string) ConfigChange { return ConfigChange{Name: k, Op: ConfigSet, Value: strp(v)} }
	tests := []struct {
		name      string
		resources []ConfigResource
		code      string
		msgHas    string
	}{
		{"unknown topic", []ConfigResource{{Type: metadata.ConfigResourceTopic, Name: "nope", Changes: []ConfigChange{set("retention.ms", "1")}}},
			"UNKNOWN_TOPIC_OR_PARTITION", "nope"},
		{"unknown key", []ConfigResource{topic(set("no.such", "1"))}, "INVALID_CONFIG", "no.such"},
		{"bad type", []ConfigResource{topic(set("retention.ms", "soon"))}, "INVALID_CONFIG", "retention.ms"},
		{"out of range", []ConfigResource{topic(set("segment.bytes", "1"))}, "INVALID_CONFIG", "segment.bytes"},
		{"append to non-list", []ConfigResource{topic(ConfigChange{Name: "retention.ms", Op: ConfigAppend, Value: strp("1")})},
			"INVALID_CONFIG", "Config value append is not allowed for config key: retention.ms"},
		{"subtract to non-list", []ConfigResource{topic(ConfigChange{Name: "retention.ms", Op: ConfigSubtract, Value: strp("1")})},
			"INVALID_CONFIG", "subtract"},
		{"bad list item", []ConfigResource{topic(ConfigChange{Name: "cleanup.policy", Op: ConfigAppend, Value: strp("shred")})},
			"INVALID_CONFIG", "cleanup.policy"},
		{"delete unknown", []ConfigResource{topic(ConfigChange{Name: "no.such", Op: ConfigDelete})}, "INVALID_CONFIG", "no.such"},
		{"null set", []ConfigResource{topic(ConfigChange{Name: "retention.ms", Op: ConfigSet})}, "INVALID_REQUEST", "Null value not supported"},
		{"duplicate key", []ConfigResource{topic(set("retention.ms", "1"), set("retention.ms", "2"))}, "INVALID_REQUEST", "duplicate config keys"},
		{"duplicate resource", []ConfigResource{topic(set("retention.ms", "1")), topic(set("retention.ms", "2"))}, "INVALID_REQUEST", "at most once"},
		{"bad op", []ConfigResource{topic(ConfigChange{Name: "retention.ms", Op: 9, Value: strp("1")})}, "INVALID_REQUEST", "Unknown operations type"},
		{"broker not dynamic", []ConfigResource{broker("", set("log.retention.hours", "1"), set("num.partitions", "3"))},
			"INVALID_REQUEST", "Cannot update these configs dynamically: Set(log.retention.hours, num.partitions)"},
		{"broker bad value", []ConfigResource{broker("1", set("log.retention.ms", "x"))}, "INVALID_CONFIG", "log.retention.ms"},
		{"broker unknown key", []ConfigResource{broker("1", set("no.such", "1"))}, "INVALID_CONFIG", "no.such"},
		{"broker bad name", []ConfigResource{broker("x", set("log.retention.ms", "1"))}, "INVALID_REQUEST", "x"},
		{"unknown resource type", []ConfigResource{{Type: 8, Name: "1"}}, "INVALID_REQUEST", "Unknown resource type"},
	}
	for _, tt := range tests {
		for _, incremental := range []bool{true, false} {
			if !incremental && strings.Contains(tt.name, "append") || !incremental && strings.Contains(tt.name, "subtract") ||
				!incremental && strings.Contains(tt.name, "delete") || !incremental && tt.name == "bad op" || !incremental && tt.name == "bad list item" {
				continue
			}
			var res []ConfigResult
			if incremental {
				res = c.IncrementalAlterConfigs(context.Background(), tt.resources, false)
			} else {
				res = c.AlterConfigs(context.Background(), tt.resources, false)
			}
			if got := errCode(res[0].Err); got != tt.code || !strings.Contains(res[0].Message, tt.msgHas) {
				t.Errorf("%s (incremental=%v): %s %q, want %s with %q", tt.name, incremental, got, res[0].Message, tt.code, tt.msgHas)
			}
		}
	}
	if got := topicConfigs(c); !maps.Equal(got, map[string]string{"retention.ms": "1000", "cleanup.policy": "delete"}) {
		t.Errorf("failed changes changed the configs: %v", got)
	}
}
