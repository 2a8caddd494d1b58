package config

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// Topic is the configuration of one topic: the broker's log.* defaults with the topic's
// overrides applied. Each field names its topic-level key.
type Topic struct {
	SegmentBytes         int64  // segment.bytes, 14..2^31-1
	IndexIntervalBytes   int32  // index.interval.bytes, >= 0
	SegmentIndexBytes    int32  // segment.index.bytes, >= 4
	MaxMessageBytes      int32  // max.message.bytes, >= 0
	MessageTimestampType string // message.timestamp.type, CreateTime or LogAppendTime
	CleanupPolicy        string // cleanup.policy, a list of delete, compact
	RetentionMs          int64  // retention.ms, >= -1 (-1 = forever)
	RetentionBytes       int64  // retention.bytes, -1 = no limit
	CompressionType      string // compression.type: uncompressed, zstd, lz4, snappy, gzip or producer
	MinInsyncReplicas    int32  // min.insync.replicas, >= 1
	GzipLevel            int32  // compression.gzip.level, 1..9 or -1 (the codec's default)
	LZ4Level             int32  // compression.lz4.level, 1..17
	ZstdLevel            int32  // compression.zstd.level, -131072..22

	SegmentMs                   int64   // segment.ms, >= 1: roll a segment this old
	SegmentJitterMs             int64   // segment.jitter.ms, >= 0: roll up to this much earlier, per segment
	FileDeleteDelayMs           int64   // file.delete.delay.ms, >= 0: keep a deleted segment's files this long
	DeleteRetentionMs           int64   // delete.retention.ms, >= 0: keep tombstones this long once cleaned
	MinCompactionLagMs          int64   // min.compaction.lag.ms, >= 0: never compact records younger than this
	MaxCompactionLagMs          int64   // max.compaction.lag.ms, >= 1: compact records older than this whatever the dirty ratio
	MinCleanableDirtyRatio      float64 // min.cleanable.dirty.ratio, 0..1
	MessageTimestampBeforeMaxMs int64   // message.timestamp.before.max.ms, >= 0
	MessageTimestampAfterMaxMs  int64   // message.timestamp.after.max.ms, >= 0
	UncleanLeaderElectionEnable bool    // unclean.leader.election.enable
	// FlushMessages is flush.messages, >= 1: fsync the log before acknowledging an append
	// once this many messages were appended since the last fsync. Kafka's default, MaxInt64,
	// leaves it to the operating system. The broker's log.flush.interval.messages is its default.
	FlushMessages int64
}

// CompactEnabled reports whether cleanup.policy includes compact.
func (t Topic) CompactEnabled() bool {
	return slices.Contains(strings.Split(t.CleanupPolicy, ","), "compact")
}

// DeleteEnabled reports whether cleanup.policy includes delete (retention by time and size).
func (t Topic) DeleteEnabled() bool {
	return slices.Contains(strings.Split(t.CleanupPolicy, ","), "delete")
}

// Values some configs are limited to, as Kafka spells them.
var (
	timestampTypes   = []string{"CreateTime", "LogAppendTime"}
	cleanupPolicies  = []string{"compact", "delete"}
	compressionTypes = []string{"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"}
)

// minSegmentBytes is the smallest segment Kafka allows: one magic 0 message's overhead.
const minSegmentBytes = 14

// TopicDefaults returns the topic configuration a topic without overrides gets, from the
// broker's log.* configs (log.segment.bytes is segment.bytes's default, and so on).
func (b Broker) TopicDefaults() Topic {
	return Topic{
		SegmentBytes:         b.LogSegmentBytes,
		IndexIntervalBytes:   b.LogIndexIntervalBytes,
		SegmentIndexBytes:    b.LogIndexSizeMaxBytes,
		MaxMessageBytes:      b.MessageMaxBytes,
		MessageTimestampType: b.LogMessageTimestampType,
		CleanupPolicy:        b.LogCleanupPolicy,
		RetentionMs:          b.LogRetentionMs,
		RetentionBytes:       b.LogRetentionBytes,
		CompressionType:      b.CompressionType,
		MinInsyncReplicas:    b.MinInsyncReplicas,
		GzipLevel:            defaultGzipLevel,
		LZ4Level:             defaultLZ4Level,
		ZstdLevel:            defaultZstdLevel,

		SegmentMs:                   b.LogRollMs,
		SegmentJitterMs:             b.LogRollJitterMs,
		FileDeleteDelayMs:           b.LogSegmentDeleteDelayMs,
		DeleteRetentionMs:           b.LogCleanerDeleteRetentionMs,
		MinCompactionLagMs:          b.LogCleanerMinCompactionLagMs,
		MaxCompactionLagMs:          b.LogCleanerMaxCompactionLagMs,
		MinCleanableDirtyRatio:      b.LogCleanerMinCleanableRatio,
		MessageTimestampBeforeMaxMs: b.LogMessageTimestampBeforeMaxMs,
		MessageTimestampAfterMaxMs:  b.LogMessageTimestampAfterMaxMs,
		UncleanLeaderElectionEnable: b.UncleanLeaderElectionEnable,
		FlushMessages:               b.LogFlushIntervalMessages,
	}
}

// topicKey is how one topic config is checked and, when Gregor implements it, applied.
type topicKey struct {
	check func(v string) error           // Kafka's type and range
	apply func(t *Topic, v string) error // nil: known to Kafka, not used by Gregor yet
}

func int32Key(min, max int32, set func(*Topic, int32)) topicKey {
	k := topicKey{check: func(v string) error {
		n, err := parseInt32(v)
		if err != nil {
			return err
		}
		return between(n, min, max)
	}}
	if set != nil {
		k.apply = func(t *Topic, v string) error { n, _ := parseInt32(v); set(t, n); return nil }
	}
	return k
}

func int64Key(min, max int64, set func(*Topic, int64)) topicKey {
	k := topicKey{check: func(v string) error {
		n, err := parseInt64(v)
		if err != nil {
			return err
		}
		return between(n, min, max)
	}}
	if set != nil {
		k.apply = func(t *Topic, v string) error { n, _ := parseInt64(v); set(t, n); return nil }
	}
	return k
}

// levelKey is a compression level: checked by check, applied as an INT.
func levelKey(check func(string) error, set func(*Topic, int32)) topicKey {
	return topicKey{check: check, apply: func(t *Topic, v string) error { n, _ := parseInt32(v); set(t, n); return nil }}
}

// Kafka's default compression levels (KIP-390).
const (
	defaultGzipLevel = -1
	defaultLZ4Level  = 9
	defaultZstdLevel = 3
)

func boolKey() topicKey {
	return topicKey{check: func(v string) error { _, err := parseBool(v); return err }}
}

func stringKey(allowed []string, set func(*Topic, string)) topicKey {
	k := topicKey{check: func(v string) error { _, err := oneOf(v, allowed...); return err }}
	if set != nil {
		k.apply = func(t *Topic, v string) error { s, _ := oneOf(v, allowed...); set(t, s); return nil }
	}
	return k
}

const (
	maxInt32 = math.MaxInt32
	maxInt64 = math.MaxInt64
)

// topicKeys are Kafka's topic-level configs (TopicConfig and LogConfig), with the ranges Kafka
// declares for them.
var topicKeys = map[string]topicKey{
	"segment.bytes":        int32Key(minSegmentBytes, maxInt32, func(t *Topic, n int32) { t.SegmentBytes = int64(n) }),
	"index.interval.bytes": int32Key(0, maxInt32, func(t *Topic, n int32) { t.IndexIntervalBytes = n }),
	"segment.index.bytes":  int32Key(4, maxInt32, func(t *Topic, n int32) { t.SegmentIndexBytes = n }),
	"max.message.bytes":    int32Key(0, maxInt32, func(t *Topic, n int32) { t.MaxMessageBytes = n }),
	"message.timestamp.type": stringKey(timestampTypes, func(t *Topic, s string) {
		t.MessageTimestampType = s
	}),
	"cleanup.policy": {
		check: func(v string) error { _, err := listOf(v, cleanupPolicies...); return err },
		apply: func(t *Topic, v string) error { t.CleanupPolicy, _ = listOf(v, cleanupPolicies...); return nil },
	},
	"retention.ms":        int64Key(-1, maxInt64, func(t *Topic, n int64) { t.RetentionMs = n }),
	"retention.bytes":     int64Key(math.MinInt64, maxInt64, func(t *Topic, n int64) { t.RetentionBytes = n }),
	"compression.type":    stringKey(compressionTypes, func(t *Topic, s string) { t.CompressionType = s }),
	"min.insync.replicas": int32Key(1, maxInt32, func(t *Topic, n int32) { t.MinInsyncReplicas = n }),
	// KIP-390's ranges: gzip 1..9 or -1, lz4 1..17, zstd from its negative fast levels to 22.
	"compression.gzip.level": levelKey(checkLevel(1, 9, -1), func(t *Topic, n int32) { t.GzipLevel = n }),
	"compression.lz4.level":  levelKey(checkLevel(1, 17), func(t *Topic, n int32) { t.LZ4Level = n }),
	"compression.zstd.level": levelKey(checkLevel(-131072, 22), func(t *Topic, n int32) { t.ZstdLevel = n }),

	"segment.ms":                      int64Key(1, maxInt64, func(t *Topic, n int64) { t.SegmentMs = n }),
	"segment.jitter.ms":               int64Key(0, maxInt64, func(t *Topic, n int64) { t.SegmentJitterMs = n }),
	"file.delete.delay.ms":            int64Key(0, maxInt64, func(t *Topic, n int64) { t.FileDeleteDelayMs = n }),
	"delete.retention.ms":             int64Key(0, maxInt64, func(t *Topic, n int64) { t.DeleteRetentionMs = n }),
	"min.compaction.lag.ms":           int64Key(0, maxInt64, func(t *Topic, n int64) { t.MinCompactionLagMs = n }),
	"max.compaction.lag.ms":           int64Key(1, maxInt64, func(t *Topic, n int64) { t.MaxCompactionLagMs = n }),
	"message.timestamp.before.max.ms": int64Key(0, maxInt64, func(t *Topic, n int64) { t.MessageTimestampBeforeMaxMs = n }),
	"message.timestamp.after.max.ms":  int64Key(0, maxInt64, func(t *Topic, n int64) { t.MessageTimestampAfterMaxMs = n }),
	"min.cleanable.dirty.ratio": {check: checkRatio, apply: func(t *Topic, v string) error {
		t.MinCleanableDirtyRatio, _ = parseDouble(v)
		return nil
	}},
	"unclean.leader.election.enable": {
		check: func(v string) error { _, err := parseBool(v); return err },
		apply: func(t *Topic, v string) error { t.UncleanLeaderElectionEnable, _ = parseBool(v); return nil },
	},

	"flush.messages": int64Key(1, maxInt64, func(t *Topic, n int64) { t.FlushMessages = n }),

	// Known to Kafka, checked, not used by Gregor yet.
	"flush.ms":                                int64Key(0, maxInt64, nil),
	"preallocate":                             boolKey(),
	"message.format.version":                  {check: func(string) error { return nil }}, // deprecated; any value
	"message.timestamp.difference.max.ms":     int64Key(0, maxInt64, nil),
	"leader.replication.throttled.replicas":   {check: func(string) error { return nil }},
	"follower.replication.throttled.replicas": {check: func(string) error { return nil }},
	"message.downconversion.enable":           boolKey(),
	"remote.storage.enable":                   boolKey(),
	"local.retention.ms":                      int64Key(-2, maxInt64, nil),
	"local.retention.bytes":                   int64Key(-2, maxInt64, nil),
	"remote.log.copy.disable":                 boolKey(),
	"remote.log.delete.on.disable":            boolKey(),
}

func checkRatio(v string) error {
	f, err := parseDouble(v)
	if err != nil {
		return err
	}
	return between(f, 0, 1)
}

// checkLevel accepts an INT in min..max, or one of the extra values.
func checkLevel(min, max int32, extra ...int32) func(string) error {
	return func(v string) error {
		n, err := parseInt32(v)
		if err != nil {
			return err
		}
		for _, e := range extra {
			if n == e {
				return nil
			}
		}
		return between(n, min, max)
	}
}

// ValidateTopicConfig checks one topic config as CreateTopics, AlterConfigs and
// IncrementalAlterConfigs give it. A nil value resets the config to its default and is valid
// for any known name. An unknown name, or a value Kafka would refuse, is an error naming the
// key; the caller answers INVALID_CONFIG with the error's text.
func ValidateTopicConfig(name string, value *string) error {
	k, ok := topicKeys[name]
	if !ok {
		return fmt.Errorf("config: unknown topic config %q", name)
	}
	if value == nil {
		return nil
	}
	if err := k.check(*value); err != nil {
		return fmt.Errorf("config: %s: %w", name, err)
	}
	return nil
}

// TopicConfig applies a topic's overrides to the defaults (from Broker.TopicDefaults). Every
// override is checked as ValidateTopicConfig does; the first bad one is the error. Known
// configs Gregor does not use yet are checked and otherwise left to the caller's map.
func TopicConfig(defaults Topic, overrides map[string]string) (Topic, error) {
	t := defaults
	for _, name := range slices.Sorted(maps.Keys(overrides)) {
		v := overrides[name]
		if err := ValidateTopicConfig(name, &v); err != nil {
			return Topic{}, err
		}
		if apply := topicKeys[name].apply; apply != nil {
			if err := apply(&t, v); err != nil {
				return Topic{}, fmt.Errorf("config: %s: %w", name, err)
			}
		}
	}
	return t, nil
}

// IsTopicConfig reports whether name is a topic-level config Kafka knows.
func IsTopicConfig(name string) bool { _, ok := topicKeys[name]; return ok }
