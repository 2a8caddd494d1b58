package node_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/clustertest"
	"github.com/gregorhq/gregor/internal/records"
)

// topicConfig returns one config of topic as DescribeConfigs reports it.
func topicConfig(t *testing.T, adm *kadm.Client, topic, key string) kadm.Config {
	t.Helper()
	rcs, err := adm.DescribeTopicConfigs(testContext(t), topic)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On(topic, nil)
	if err != nil || rc.Err != nil {
		t.Fatalf("describe %s: %v %v", topic, err, rc.Err)
	}
	for _, c := range rc.Configs {
		if c.Key == key {
			return c
		}
	}
	t.Fatalf("topic %s: no config %s", topic, key)
	return kadm.Config{}
}

// Config errors say which key is wrong and why, whichever API sets the config.
func TestConfigErrorsNameTheKey(t *testing.T) {
	n := clustertest.StartNode(t)
	createTopic(t, n.Addr(), "t", 1, nil)
	adm := kadm.NewClient(newClient(t, n.Addr()))
	ctx := testContext(t)
	cases := []struct{ key, value, reason string }{
		{"no.such.config", "1", "unknown"},
		{"retention.ms", "soon", "not a number"},
		{"segment.bytes", "1", "not between"},
	}
	for _, c := range cases {
		check := func(api string, err error, msg string) {
			t.Helper()
			if !errors.Is(err, kerr.InvalidConfig) || !strings.Contains(msg, c.key) || !strings.Contains(msg, c.reason) {
				t.Errorf("%s %s=%s: err %v message %q, want INVALID_CONFIG naming the key and %q", api, c.key, c.value, err, msg, c.reason)
			}
		}
		crs, err := adm.CreateTopics(ctx, 1, 1, map[string]*string{c.key: kmsg.StringPtr(c.value)}, "new")
		if err != nil {
			t.Fatal(err)
		}
		check("CreateTopics", crs["new"].Err, crs["new"].ErrMessage)

		ops := []kadm.AlterConfig{{Op: kadm.SetConfig, Name: c.key, Value: kmsg.StringPtr(c.value)}}
		for api, alter := range map[string]func() (kadm.AlterConfigsResponses, error){
			"IncrementalAlterConfigs": func() (kadm.AlterConfigsResponses, error) { return adm.AlterTopicConfigs(ctx, ops, "t") },
			"AlterConfigs":            func() (kadm.AlterConfigsResponses, error) { return adm.AlterTopicConfigsState(ctx, ops, "t") },
		} {
			rs, err := alter()
			if err != nil || len(rs) != 1 {
				t.Fatalf("%s: %v %v", api, err, rs)
			}
			check(api, rs[0].Err, rs[0].ErrMessage)
		}
	}
}

// A topic override set with IncrementalAlterConfigs is described with its source and
// synonyms, and survives a restart, because it lives in the metadata log.
func TestTopicConfigAlterDescribeRestart(t *testing.T) {
	n := clustertest.StartNode(t, "log.retention.ms", "86400000")
	createTopic(t, n.Addr(), "t", 1, nil)
	adm := kadm.NewClient(newClient(t, n.Addr()))
	rs, err := adm.AlterTopicConfigs(testContext(t), []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "retention.ms", Value: kmsg.StringPtr("3600000")},
	}, "t")
	if err != nil || rs[0].Err != nil {
		t.Fatalf("alter: %v %v %s", err, rs[0].Err, rs[0].ErrMessage)
	}
	check := func(adm *kadm.Client) {
		t.Helper()
		c := topicConfig(t, adm, "t", "retention.ms")
		if c.MaybeValue() != "3600000" || c.Source != kmsg.ConfigSourceDynamicTopicConfig {
			t.Fatalf("retention.ms = %s from %v, want 3600000 from DYNAMIC_TOPIC_CONFIG", c.MaybeValue(), c.Source)
		}
		want := []struct {
			key, value string
			source     kmsg.ConfigSource
		}{
			{"retention.ms", "3600000", kmsg.ConfigSourceDynamicTopicConfig},
			{"log.retention.ms", "86400000", kmsg.ConfigSourceStaticBrokerConfig},
			{"log.retention.hours", "168", kmsg.ConfigSourceDefaultConfig},
		}
		if len(c.Synonyms) != len(want) {
			t.Fatalf("synonyms %+v, want %+v", c.Synonyms, want)
		}
		for i, w := range want {
			s := c.Synonyms[i]
			if s.Key != w.key || s.Value == nil || *s.Value != w.value || s.Source != w.source {
				t.Errorf("synonym %d: %s=%v from %v, want %+v", i, s.Key, s.Value, s.Source, w)
			}
		}
	}
	check(adm)
	n.Restart()
	check(kadm.NewClient(newClient(t, n.Addr())))
}

// A dynamic cluster-wide broker default is the value of every topic without an override,
// with source DYNAMIC_DEFAULT_BROKER_CONFIG; non-dynamic broker configs are refused.
func TestDynamicBrokerDefault(t *testing.T) {
	n := clustertest.StartNode(t)
	createTopic(t, n.Addr(), "t", 1, nil)
	adm := kadm.NewClient(newClient(t, n.Addr()))
	ctx := testContext(t)
	rs, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "log.retention.ms", Value: kmsg.StringPtr("7200000")},
	}) // no broker: the cluster default
	if err != nil || rs[0].Err != nil {
		t.Fatalf("alter: %v %v %s", err, rs[0].Err, rs[0].ErrMessage)
	}
	c := topicConfig(t, adm, "t", "retention.ms")
	if c.MaybeValue() != "7200000" || c.Source != kmsg.ConfigSourceDynamicDefaultBrokerConfig {
		t.Errorf("retention.ms = %s from %v, want 7200000 from DYNAMIC_DEFAULT_BROKER_CONFIG", c.MaybeValue(), c.Source)
	}

	// The broker's own resource wins over the cluster default.
	rs, err = adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "log.retention.ms", Value: kmsg.StringPtr("60000")},
	}, 1)
	if err != nil || rs[0].Err != nil {
		t.Fatalf("alter broker 1: %v %v %s", err, rs[0].Err, rs[0].ErrMessage)
	}
	c = topicConfig(t, adm, "t", "retention.ms")
	if c.MaybeValue() != "60000" || c.Source != kmsg.ConfigSourceDynamicBrokerConfig {
		t.Errorf("retention.ms = %s from %v, want 60000 from DYNAMIC_BROKER_CONFIG", c.MaybeValue(), c.Source)
	}

	rs, _ = adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "log.retention.hours", Value: kmsg.StringPtr("1")},
	})
	if len(rs) != 1 || !errors.Is(rs[0].Err, kerr.InvalidRequest) || !strings.Contains(rs[0].ErrMessage, "Cannot update these configs dynamically") {
		t.Errorf("log.retention.hours: %+v, want INVALID_REQUEST", rs)
	}
	// Another broker's resource, sent to this broker (a client would route it to broker 2).
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeBroker, "2"
	cfg := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	cfg.Name, cfg.Value = "log.retention.ms", kmsg.StringPtr("1")
	res.Configs = append(res.Configs, cfg)
	req.Resources = append(req.Resources, res)
	resp, err := req.RequestWith(ctx, newClient(t, n.Addr()).Broker(1))
	if err != nil {
		t.Fatal(err)
	}
	if r := resp.Resources[0]; r.ErrorCode != kerr.InvalidRequest.Code || r.ErrorMessage == nil || !strings.Contains(*r.ErrorMessage, "Unexpected broker id") {
		t.Errorf("broker 2: %d %v, want INVALID_REQUEST", r.ErrorCode, r.ErrorMessage)
	}
}

// A dynamic broker config changes what the broker enforces: here the largest batch.
func TestDynamicBrokerConfigTakesEffect(t *testing.T) {
	n := clustertest.StartNode(t)
	createTopic(t, n.Addr(), "t", 1, nil)
	adm := kadm.NewClient(newClient(t, n.Addr()))
	ctx := testContext(t)
	rs, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "message.max.bytes", Value: kmsg.StringPtr("200")},
	})
	if err != nil || rs[0].Err != nil {
		t.Fatalf("alter: %v %v %s", err, rs[0].Err, rs[0].ErrMessage)
	}
	cl := newClient(t, n.Addr(), kgo.ProducerBatchCompression(kgo.NoCompression()))
	err = cl.ProduceSync(ctx, &kgo.Record{Topic: "t", Value: make([]byte, 1000)}).FirstErr()
	if !errors.Is(err, kerr.MessageTooLarge) {
		t.Errorf("produce 1000 bytes under message.max.bytes=200: %v, want MESSAGE_TOO_LARGE", err)
	}
}

func TestDescribeLogDirsSizeGrows(t *testing.T) {
	n := clustertest.StartNode(t)
	createTopic(t, n.Addr(), "t", 2, nil)
	cl := newClient(t, n.Addr(), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	adm := kadm.NewClient(cl)
	ctx := testContext(t)
	size := func() int64 {
		t.Helper()
		dirs, err := adm.DescribeBrokerLogDirs(ctx, 1, kadm.TopicsSet{"t": {0: {}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(dirs) != 1 {
			t.Fatalf("dirs %+v, want one", dirs)
		}
		for _, d := range dirs {
			if d.Err != nil || d.TotalBytes <= 0 || d.UsableBytes < 0 {
				t.Fatalf("dir %+v", d)
			}
			if _, ok := d.Topics["t"][1]; ok {
				t.Errorf("partition 1 listed, though only partition 0 was asked for")
			}
			p, ok := d.Topics["t"][0]
			if !ok {
				t.Fatalf("no t-0 in %+v", d.Topics)
			}
			return p.Size
		}
		return 0
	}
	before := size()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "t", Partition: 0, Value: []byte("hello")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if after := size(); after <= before {
		t.Errorf("size %d after a produce, %d before", after, before)
	}
	all, err := adm.DescribeAllLogDirs(ctx, nil)
	if err != nil || len(all) != 1 {
		t.Fatalf("all log dirs: %v %v", err, all)
	}
}

// Records whose CreateTime is too far from the broker's clock are refused.
func TestProduceTimestampBounds(t *testing.T) {
	n := clustertest.StartNode(t)
	createTopic(t, n.Addr(), "t", 1, map[string]*string{
		"message.timestamp.before.max.ms": kmsg.StringPtr("3600000"),
		"message.timestamp.after.max.ms":  kmsg.StringPtr("3600000"),
	})
	createTopic(t, n.Addr(), "lat", 1, map[string]*string{
		"message.timestamp.type":          kmsg.StringPtr("LogAppendTime"),
		"message.timestamp.before.max.ms": kmsg.StringPtr("3600000"),
	})
	ctx := testContext(t)
	for _, codec := range []kgo.CompressionCodec{kgo.NoCompression(), kgo.GzipCompression()} {
		cl := newClient(t, n.Addr(), kgo.ProducerBatchCompression(codec), kgo.RecordRetries(0))
		for _, c := range []struct {
			name string
			ts   time.Time
			want error
		}{
			{"now", time.Now(), nil},
			{"a day ago", time.Now().Add(-24 * time.Hour), kerr.InvalidTimestamp},
			{"in a day", time.Now().Add(24 * time.Hour), kerr.InvalidTimestamp},
		} {
			err := cl.ProduceSync(ctx, &kgo.Record{Topic: "t", Value: []byte("v"), Timestamp: c.ts}).FirstErr()
			if !errors.Is(err, c.want) {
				t.Errorf("%v, %s: %v, want %v", codec, c.name, err, c.want)
			}
		}
		// LogAppendTime topics take any timestamp: the broker replaces it.
		err := cl.ProduceSync(ctx, &kgo.Record{Topic: "lat", Value: []byte("v"), Timestamp: time.Now().Add(-24 * time.Hour)}).FirstErr()
		if err != nil {
			t.Errorf("%v, LogAppendTime topic: %v", codec, err)
		}
	}
}

// TestProduceTimestampBoundsPerRecord checks every record of a batch, not its first or last:
// one record out of bounds in the middle fails the batch and is named in the message; a record
// without a timestamp (-1) is not checked, even among records that are. Compressed batches are
// checked the same way after decompression.
func TestProduceTimestampBoundsPerRecord(t *testing.T) {
	n := clustertest.StartNode(t)
	createTopic(t, n.Addr(), "t", 1, map[string]*string{
		"message.timestamp.before.max.ms": kmsg.StringPtr("3600000"),
		"message.timestamp.after.max.ms":  kmsg.StringPtr("3600000"),
	})
	ctx := testContext(t)
	cl := newClient(t, n.Addr())
	now := time.Now().UnixMilli()
	day := int64(24 * time.Hour / time.Millisecond)
	for _, codec := range []records.Codec{records.CodecNone, records.CodecLZ4} {
		for _, c := range []struct {
			name     string
			deltas   []int64 // from now
			wantCode int16
			wantIn   string // in the error message
		}{
			{"all in bounds", []int64{0, 10, -10}, 0, ""},
			{"a day ago in the middle", []int64{0, -day, 5}, kerr.InvalidTimestamp.Code, "offset delta 1 "},
			{"in a day at the end", []int64{0, 1, day}, kerr.InvalidTimestamp.Code, "offset delta 2 "},
			{"no timestamp among others", []int64{0, -1 - now, 3}, 0, ""},
			{"no timestamp, then a day ago", []int64{0, -1 - now, -day}, kerr.InvalidTimestamp.Code, "offset delta 2 "},
			{"no timestamp only", []int64{-1 - now, -1 - now}, 0, ""},
		} {
			b := records.NewBuilder(records.BatchHeader{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, BaseTimestamp: now})
			for i, d := range c.deltas {
				b.Add(records.Record{OffsetDelta: int32(i), TimestampDelta: d, Value: []byte("v")})
			}
			batch, err := b.BuildCompressed(codec, records.DefaultLevel(codec))
			if err != nil {
				t.Fatal(err)
			}
			resp := produceRaw(t, ctx, cl, "t", batch)
			msg := ""
			if resp.ErrorMessage != nil {
				msg = *resp.ErrorMessage
			}
			if resp.ErrorCode != c.wantCode || !strings.Contains(msg, c.wantIn) {
				t.Errorf("codec %d, %s: %v %q, want %v with %q", codec, c.name,
					kerr.ErrorForCode(resp.ErrorCode), msg, kerr.ErrorForCode(c.wantCode), c.wantIn)
			}
		}
	}
}
