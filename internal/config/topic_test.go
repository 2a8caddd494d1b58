package config

import (
	"math"
	"strings"
	"testing"
)

func ptr(s string) *string { return &s }

func TestValidateTopicConfig(t *testing.T) {
	good := map[string]string{
		"segment.bytes":                  "14",
		"index.interval.bytes":           "0",
		"segment.index.bytes":            "4",
		"max.message.bytes":              "0",
		"message.timestamp.type":         "LogAppendTime",
		"cleanup.policy":                 "compact, delete",
		"retention.ms":                   "-1",
		"retention.bytes":                "-5",
		"compression.type":               "producer",
		"min.insync.replicas":            "2",
		"segment.ms":                     "1",
		"min.cleanable.dirty.ratio":      "0.5",
		"unclean.leader.election.enable": "TRUE",
		"compression.gzip.level":         "-1",
		"compression.zstd.level":         "-5",
		"local.retention.ms":             "-2",
		"message.format.version":         "3.0-IV1",
	}
	for k, v := range good {
		if err := ValidateTopicConfig(k, ptr(v)); err != nil {
			t.Errorf("%s=%s: %v", k, v, err)
		}
		if err := ValidateTopicConfig(k, nil); err != nil {
			t.Errorf("%s reset: %v", k, err)
		}
	}
	for _, tc := range []struct {
		name  string
		value *string
		want  string
	}{
		{"segment.bytes", ptr("13"), "config: segment.bytes: 13 is not between 14 and 2147483647"},
		{"segment.bytes", ptr("2147483648"), "out of range for a 32-bit number"},
		{"segment.bytes", ptr("1k"), `config: segment.bytes: "1k" is not a number`},
		{"segment.index.bytes", ptr("3"), "3 is not between 4"},
		{"max.message.bytes", ptr("-1"), "-1 is not between 0"},
		{"index.interval.bytes", ptr("-1"), "-1 is not between 0"},
		{"message.timestamp.type", ptr("logappendtime"), "is not one of CreateTime, LogAppendTime"},
		{"cleanup.policy", ptr("delete,forever"), `item "forever" is not one of`},
		{"retention.ms", ptr("-2"), "-2 is not between -1"},
		{"compression.type", ptr("none"), `"none" is not one of`},
		{"min.insync.replicas", ptr("0"), "0 is not between 1"},
		{"min.cleanable.dirty.ratio", ptr("1.5"), "1.5 is not between 0 and 1"},
		{"compression.gzip.level", ptr("10"), "10 is not between 1 and 9"},
		{"preallocate", ptr("1"), `"1" is not true or false`},
		{"segment.mb", ptr("1"), `config: unknown topic config "segment.mb"`},
		{"segment.mb", nil, `config: unknown topic config "segment.mb"`},
		{"log.segment.bytes", ptr("100"), `unknown topic config "log.segment.bytes"`},
	} {
		err := ValidateTopicConfig(tc.name, tc.value)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ValidateTopicConfig(%s) = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestTopicConfig(t *testing.T) {
	b := Default()
	defaults := b.TopicDefaults()
	want := Topic{
		SegmentBytes: 1 << 30, IndexIntervalBytes: 4096, SegmentIndexBytes: 10 << 20,
		MaxMessageBytes: 1048588, MessageTimestampType: "CreateTime", CleanupPolicy: "delete",
		RetentionMs: 604800000, RetentionBytes: -1, CompressionType: "producer", MinInsyncReplicas: 1,
		GzipLevel: -1, LZ4Level: 9, ZstdLevel: 3,
		SegmentMs: 604800000, FileDeleteDelayMs: 60000, DeleteRetentionMs: 86400000,
		MaxCompactionLagMs: math.MaxInt64, MinCleanableDirtyRatio: 0.5,
		MessageTimestampBeforeMaxMs: math.MaxInt64, MessageTimestampAfterMaxMs: 3600000,
		FlushMessages: math.MaxInt64,
	}
	if defaults != want {
		t.Fatalf("defaults %+v", defaults)
	}
	got, err := TopicConfig(defaults, nil)
	if err != nil || got != defaults {
		t.Fatalf("no overrides: %+v %v", got, err)
	}
	got, err = TopicConfig(defaults, map[string]string{
		"segment.bytes": "1048576", "cleanup.policy": "compact ,delete", "retention.ms": "60000",
		"compression.type": "lz4", "min.insync.replicas": "2", "max.message.bytes": "100",
		"compression.lz4.level": "12", "compression.zstd.level": "-7",
		"message.timestamp.type": "LogAppendTime", "retention.bytes": "1000",
		"index.interval.bytes": "100", "segment.index.bytes": "1024",
		"segment.ms": "3600000", "min.cleanable.dirty.ratio": "0.25", "unclean.leader.election.enable": "true",
		"preallocate":    "true", // known, not used yet
		"flush.messages": "1",
	})
	if err != nil {
		t.Fatal(err)
	}
	want = Topic{
		SegmentBytes: 1048576, IndexIntervalBytes: 100, SegmentIndexBytes: 1024, MaxMessageBytes: 100,
		MessageTimestampType: "LogAppendTime", CleanupPolicy: "compact,delete", RetentionMs: 60000,
		RetentionBytes: 1000, CompressionType: "lz4", MinInsyncReplicas: 2,
		GzipLevel: -1, LZ4Level: 12, ZstdLevel: -7,
		SegmentMs: 3600000, FileDeleteDelayMs: 60000, DeleteRetentionMs: 86400000,
		MaxCompactionLagMs: math.MaxInt64, MinCleanableDirtyRatio: 0.25,
		MessageTimestampBeforeMaxMs: math.MaxInt64, MessageTimestampAfterMaxMs: 3600000,
		UncleanLeaderElectionEnable: true, FlushMessages: 1,
	}
	if got != want {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if _, err := TopicConfig(defaults, map[string]string{"segment.bytes": "1"}); err == nil {
		t.Fatal("bad override accepted")
	}
	if _, err := TopicConfig(defaults, map[string]string{"nope": "1"}); err == nil {
		t.Fatal("unknown override accepted")
	}
	// Broker log.* settings become topic defaults.
	b2, err := Load(map[string]string{"log.segment.bytes": "1000", "log.cleanup.policy": "compact", "log.message.timestamp.type": "LogAppendTime"})
	if err != nil {
		t.Fatal(err)
	}
	if d := b2.TopicDefaults(); d.SegmentBytes != 1000 || d.CleanupPolicy != "compact" || d.MessageTimestampType != "LogAppendTime" {
		t.Fatalf("%+v", d)
	}
	if !IsTopicConfig("retention.ms") || IsTopicConfig("log.retention.ms") {
		t.Fatal("IsTopicConfig")
	}
}
