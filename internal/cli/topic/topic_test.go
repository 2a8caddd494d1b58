package topic

import (
	"bytes"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/cli/internal/golden"
	"github.com/gregorhq/gregor/internal/cli/out"
)

func strp(s string) *string { return &s }

// testDetails is a cluster of three brokers with two topics: "orders" with
// an override config and an offline replica, and the internal
// "__consumer_offsets" with a partition that has no leader.
func testDetails() (kadm.TopicDetails, map[string]kadm.ResourceConfig) {
	orders := kadm.TopicDetail{
		Topic: "orders",
		ID:    kadm.TopicID{0x34, 0xf9, 0x99, 0x1f, 0x28, 0x5b, 0x47, 0xdc, 0xb4, 0xd3, 0x03, 0x20, 0x94, 0xc1, 0xf6, 0xb2},
		Partitions: kadm.PartitionDetails{
			0:  {Topic: "orders", Partition: 0, Leader: 1, LeaderEpoch: 3, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}},
			1:  {Topic: "orders", Partition: 1, Leader: 2, LeaderEpoch: 0, Replicas: []int32{2, 3, 1}, ISR: []int32{2, 1}, OfflineReplicas: []int32{3}},
			10: {Topic: "orders", Partition: 10, Leader: 3, Replicas: []int32{3, 1, 2}, ISR: []int32{3, 1, 2}},
		},
	}
	offsets := kadm.TopicDetail{
		Topic:      "__consumer_offsets",
		IsInternal: true,
		Partitions: kadm.PartitionDetails{
			0: {Topic: "__consumer_offsets", Partition: 0, Leader: -1, Replicas: []int32{1}, Err: kerr.LeaderNotAvailable},
		},
	}
	details := kadm.TopicDetails{"orders": orders, "__consumer_offsets": offsets}
	configs := map[string]kadm.ResourceConfig{
		"orders": {Name: "orders", Configs: []kadm.Config{
			{Key: "cleanup.policy", Value: strp("compact"), Source: kmsg.ConfigSourceDynamicTopicConfig},
			{Key: "segment.bytes", Value: strp("1073741824"), Source: kmsg.ConfigSourceStaticBrokerConfig},
			{Key: "retention.ms", Value: strp("604800000"), Source: kmsg.ConfigSourceDefaultConfig},
			{Key: "sasl.secret", Sensitive: true, Source: kmsg.ConfigSourceDynamicTopicConfig},
		}},
		"__consumer_offsets": {Name: "__consumer_offsets", Configs: []kadm.Config{
			{Key: "cleanup.policy", Value: strp("compact"), Source: kmsg.ConfigSourceDynamicTopicConfig},
		}},
	}
	return details, configs
}

func testDescriptions() []description {
	details, configs := testDetails()
	return []description{
		describeTopic(details["__consumer_offsets"], configs["__consumer_offsets"]),
		describeTopic(details["orders"], configs["orders"]),
	}
}

func TestDescribeText(t *testing.T) {
	var b bytes.Buffer
	if err := writeDescriptions(&b, out.Text, testDescriptions()); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "describe.txt", b.Bytes())
}

func TestDescribeJSON(t *testing.T) {
	var b bytes.Buffer
	if err := writeDescriptions(&b, out.JSON, testDescriptions()); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "describe.json", b.Bytes())
}

func TestDescribeEmptyTopic(t *testing.T) {
	var b bytes.Buffer
	d := describeTopic(kadm.TopicDetail{Topic: "empty"}, kadm.ResourceConfig{})
	if err := writeDescriptions(&b, out.JSON, []description{d}); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "describe_empty.json", b.Bytes())
}

func TestListText(t *testing.T) {
	details, _ := testDetails()
	var b bytes.Buffer
	if err := writeList(&b, out.Text, listEntries(details)); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "list.txt", b.Bytes())
}

func TestListJSON(t *testing.T) {
	details, _ := testDetails()
	var b bytes.Buffer
	if err := writeList(&b, out.JSON, listEntries(details)); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "list.json", b.Bytes())
}

func TestListJSONEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := writeList(&b, out.JSON, listEntries(nil)); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "[]\n" {
		t.Fatalf("got %q, want []", got)
	}
}

func TestTopicError(t *testing.T) {
	tests := []struct {
		err  error
		msg  string
		want string
	}{
		{kerr.TopicAlreadyExists, "Topic 'x' already exists.", `topic "x": TOPIC_ALREADY_EXISTS: Topic 'x' already exists.`},
		{kerr.TopicAlreadyExists, "", `topic "x": TOPIC_ALREADY_EXISTS: Topic with this name already exists.`},
		{errors.New("boom"), "ignored", `topic "x": boom`},
	}
	for _, tt := range tests {
		err := topicError("x", tt.err, tt.msg)
		if got := err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
		if !errors.Is(err, tt.err) {
			t.Errorf("%q does not unwrap to %v", err, tt.err)
		}
	}
}

func TestParseConfigs(t *testing.T) {
	got, err := parseConfigs([]string{"cleanup.policy=compact", "retention.ms=1000"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || *got["cleanup.policy"] != "compact" || *got["retention.ms"] != "1000" {
		t.Fatalf("got %v", got)
	}
	if got, err := parseConfigs(nil); got != nil || err != nil {
		t.Fatalf("no configs: got %v, %v", got, err)
	}
	if _, err := parseConfigs([]string{"cleanup.policy"}); err == nil {
		t.Fatal("accepted a config without =")
	}
}

func TestTopicName(t *testing.T) {
	tests := []struct {
		flag    string
		args    []string
		want    string
		wantErr bool
	}{
		{flag: "a", want: "a"},
		{args: []string{"b"}, want: "b"},
		{flag: "a", args: []string{"a"}, want: "a"},
		{flag: "a", args: []string{"b"}, wantErr: true},
		{wantErr: true},
	}
	for _, tt := range tests {
		got, err := topicName(tt.flag, tt.args)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("topicName(%q, %q) = %q, %v", tt.flag, tt.args, got, err)
		}
	}
}

func TestCreateFlagValidation(t *testing.T) {
	for _, args := range [][]string{
		{"--topic", "x", "--partitions", "0"},
		{"--topic", "x", "--replication-factor", "0"},
		{"--topic", "x", "--config", "nokey"},
		{},
	} {
		cmd := NewCommand()
		cmd.SetArgs(append([]string{"create", "--bootstrap-server", "127.0.0.1:1"}, args...))
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		if err := cmd.Execute(); err == nil {
			t.Errorf("create %q: no error", args)
		}
	}
}
