package config

import (
	"bytes"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/cli/internal/golden"
	"github.com/gregorhq/gregor/internal/cli/out"
)

func testConfigs() []kadm.Config {
	return []kadm.Config{
		{Key: "cleanup.policy", Value: kmsg.StringPtr("compact"), Source: kmsg.ConfigSourceDynamicTopicConfig,
			Synonyms: []kadm.ConfigSynonym{
				{Key: "cleanup.policy", Value: kmsg.StringPtr("compact"), Source: kmsg.ConfigSourceDynamicTopicConfig},
				{Key: "log.cleanup.policy", Value: kmsg.StringPtr("delete"), Source: kmsg.ConfigSourceDefaultConfig},
			}},
		{Key: "retention.ms", Value: kmsg.StringPtr("7200000"), Source: kmsg.ConfigSourceDynamicDefaultBrokerConfig,
			Synonyms: []kadm.ConfigSynonym{
				{Key: "log.retention.ms", Value: kmsg.StringPtr("7200000"), Source: kmsg.ConfigSourceDynamicDefaultBrokerConfig},
				{Key: "log.retention.hours", Value: kmsg.StringPtr("168"), Source: kmsg.ConfigSourceDefaultConfig},
			}},
		{Key: "segment.bytes", Value: kmsg.StringPtr("1073741824"), Source: kmsg.ConfigSourceDefaultConfig},
		{Key: "secret", Sensitive: true, Source: kmsg.ConfigSourceStaticBrokerConfig},
	}
}

func TestDescribeText(t *testing.T) {
	var b bytes.Buffer
	if err := writeDescribed(&b, out.Text, "topic orders", false, describe(testConfigs(), false)); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "describe.txt", b.Bytes())
}

func TestDescribeAllJSON(t *testing.T) {
	var b bytes.Buffer
	if err := writeDescribed(&b, out.JSON, "topic orders", true, describe(testConfigs(), true)); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "describe_all.json", b.Bytes())
}

func TestEntityCheck(t *testing.T) {
	for _, c := range []struct {
		e      entity
		id     int32
		hasErr bool
	}{
		{entity{Type: "topics", Name: "t"}, 0, false},
		{entity{Type: "topic", Name: "t"}, 0, false},
		{entity{Type: "brokers", Name: "3"}, 3, false},
		{entity{Type: "brokers", Default: true}, -1, false},
		{entity{Type: "brokers", Name: "1", Default: true}, 0, true},
		{entity{Type: "topics", Default: true}, 0, true},
		{entity{Type: "users", Name: "u"}, 0, true},
		{entity{Type: "topics"}, 0, true},
	} {
		id, err := c.e.check()
		if (err != nil) != c.hasErr || err == nil && id != c.id {
			t.Errorf("%+v: id %d err %v", c.e, id, err)
		}
	}
}
