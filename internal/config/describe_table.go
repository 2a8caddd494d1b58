package config

import (
	"math"
	"strconv"
	"strings"
)

// Type is a config's type as Kafka's ConfigDef declares it; the values are the ids
// DescribeConfigs v3+ reports (0 is UNKNOWN).
type Type int8

// Kafka's config types.
const (
	TypeUnknown  Type = 0
	TypeBoolean  Type = 1
	TypeString   Type = 2
	TypeInt      Type = 3
	TypeShort    Type = 4
	TypeLong     Type = 5
	TypeDouble   Type = 6
	TypeList     Type = 7
	TypeClass    Type = 8
	TypePassword Type = 9
)

// topicDef describes one topic config for DescribeConfigs: its type, the broker config that
// gives its default (Kafka's ServerTopicConfigSynonyms; "" when none), a short documentation
// line, and either how to read its value from a Topic (configs Gregor applies) or its Kafka
// default (configs Gregor only checks).
type topicDef struct {
	typ     Type
	synonym string
	doc     string
	get     func(Topic) string
	def     string
}

func i64(n int64) string    { return strconv.FormatInt(n, 10) }
func i32(n int32) string    { return strconv.FormatInt(int64(n), 10) }
func boolStr(b bool) string { return strconv.FormatBool(b) }

// formatDouble prints a DOUBLE as Java's Double.toString would for the values configs take
// (0.5, 1.7976931348623157E308).
func formatDouble(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if i := strings.IndexByte(s, 'e'); i >= 0 {
		mant, exp := s[:i], strings.TrimPrefix(s[i+1:], "+")
		if !strings.Contains(mant, ".") {
			mant += ".0"
		}
		return mant + "E" + exp
	}
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

var maxLongStr = i64(math.MaxInt64)

// topicDefs covers every key of topicKeys.
var topicDefs = map[string]topicDef{
	"segment.bytes": {TypeInt, "log.segment.bytes", "The size of one log segment file.",
		func(t Topic) string { return i64(t.SegmentBytes) }, ""},
	"index.interval.bytes": {TypeInt, "log.index.interval.bytes", "How often, in bytes, an offset index entry is added.",
		func(t Topic) string { return i32(t.IndexIntervalBytes) }, ""},
	"segment.index.bytes": {TypeInt, "log.index.size.max.bytes", "The size of a segment's offset and time indexes.",
		func(t Topic) string { return i32(t.SegmentIndexBytes) }, ""},
	"max.message.bytes": {TypeInt, "message.max.bytes", "The largest record batch the topic accepts.",
		func(t Topic) string { return i32(t.MaxMessageBytes) }, ""},
	"message.timestamp.type": {TypeString, "log.message.timestamp.type", "CreateTime or LogAppendTime.",
		func(t Topic) string { return t.MessageTimestampType }, ""},
	"cleanup.policy": {TypeList, "log.cleanup.policy", "delete, compact, or both.",
		func(t Topic) string { return t.CleanupPolicy }, ""},
	"retention.ms": {TypeLong, "log.retention.ms", "How long records are kept; -1 keeps them forever.",
		func(t Topic) string { return i64(t.RetentionMs) }, ""},
	"retention.bytes": {TypeLong, "log.retention.bytes", "The size a partition may grow to before old segments go; -1: no limit.",
		func(t Topic) string { return i64(t.RetentionBytes) }, ""},
	"compression.type": {TypeString, "compression.type", "The codec batches are stored with; producer keeps the producer's.",
		func(t Topic) string { return t.CompressionType }, ""},
	"min.insync.replicas": {TypeInt, "min.insync.replicas", "The in-sync replicas an acks=all write needs.",
		func(t Topic) string { return i32(t.MinInsyncReplicas) }, ""},
	"segment.ms": {TypeLong, "log.roll.ms", "The age at which the active segment is rolled.",
		func(t Topic) string { return i64(t.SegmentMs) }, ""},
	"segment.jitter.ms": {TypeLong, "log.roll.jitter.ms", "The most a segment roll is moved earlier, to spread rolls.",
		func(t Topic) string { return i64(t.SegmentJitterMs) }, ""},
	"file.delete.delay.ms": {TypeLong, "log.segment.delete.delay.ms", "How long a deleted segment's files are kept.",
		func(t Topic) string { return i64(t.FileDeleteDelayMs) }, ""},
	"delete.retention.ms": {TypeLong, "log.cleaner.delete.retention.ms", "How long tombstones are kept once compacted.",
		func(t Topic) string { return i64(t.DeleteRetentionMs) }, ""},
	"min.compaction.lag.ms": {TypeLong, "log.cleaner.min.compaction.lag.ms", "Records younger than this are never compacted.",
		func(t Topic) string { return i64(t.MinCompactionLagMs) }, ""},
	"max.compaction.lag.ms": {TypeLong, "log.cleaner.max.compaction.lag.ms", "Records older than this are compacted whatever the dirty ratio.",
		func(t Topic) string { return i64(t.MaxCompactionLagMs) }, ""},
	"min.cleanable.dirty.ratio": {TypeDouble, "log.cleaner.min.cleanable.ratio", "The dirty share of the log that triggers compaction.",
		func(t Topic) string { return formatDouble(t.MinCleanableDirtyRatio) }, ""},
	"message.timestamp.before.max.ms": {TypeLong, "log.message.timestamp.before.max.ms", "How far in the past a CreateTime timestamp may be.",
		func(t Topic) string { return i64(t.MessageTimestampBeforeMaxMs) }, ""},
	"message.timestamp.after.max.ms": {TypeLong, "log.message.timestamp.after.max.ms", "How far in the future a CreateTime timestamp may be.",
		func(t Topic) string { return i64(t.MessageTimestampAfterMaxMs) }, ""},
	"compression.gzip.level": {TypeInt, "compression.gzip.level", "The gzip level when compression.type is gzip.",
		func(t Topic) string { return i32(t.GzipLevel) }, ""},
	"compression.lz4.level": {TypeInt, "compression.lz4.level", "The lz4 level when compression.type is lz4.",
		func(t Topic) string { return i32(t.LZ4Level) }, ""},
	"compression.zstd.level": {TypeInt, "compression.zstd.level", "The zstd level when compression.type is zstd.",
		func(t Topic) string { return i32(t.ZstdLevel) }, ""},
	"unclean.leader.election.enable": {TypeBoolean, "unclean.leader.election.enable", "Whether an out-of-sync replica may become leader.",
		func(t Topic) string { return boolStr(t.UncleanLeaderElectionEnable) }, ""},

	// Checked, not used by Gregor yet: the value is the override, else the broker synonym's,
	// else Kafka's default. (flush.messages is used, as Topic.FlushMessages, but only from the
	// topic's override; it is described here so that the broker synonym's value shows.)
	"flush.messages":                          {TypeLong, "log.flush.interval.messages", "Records between forced flushes.", nil, maxLongStr},
	"flush.ms":                                {TypeLong, "log.flush.interval.ms", "Time between forced flushes.", nil, maxLongStr},
	"preallocate":                             {TypeBoolean, "log.preallocate", "Whether segment files are preallocated.", nil, "false"},
	"message.format.version":                  {TypeString, "log.message.format.version", "Deprecated; ignored.", nil, "3.0-IV1"},
	"message.timestamp.difference.max.ms":     {TypeLong, "log.message.timestamp.difference.max.ms", "Deprecated; see message.timestamp.before.max.ms.", nil, maxLongStr},
	"leader.replication.throttled.replicas":   {TypeList, "", "Replicas throttled on the leader side.", nil, ""},
	"follower.replication.throttled.replicas": {TypeList, "", "Replicas throttled on the follower side.", nil, ""},
	"message.downconversion.enable":           {TypeBoolean, "log.message.downconversion.enable", "Deprecated; ignored.", nil, "true"},
	"remote.storage.enable":                   {TypeBoolean, "", "Tiered storage; not supported.", nil, "false"},
	"local.retention.ms":                      {TypeLong, "log.local.retention.ms", "Tiered storage; not supported.", nil, "-2"},
	"local.retention.bytes":                   {TypeLong, "log.local.retention.bytes", "Tiered storage; not supported.", nil, "-2"},
	"remote.log.copy.disable":                 {TypeBoolean, "", "Tiered storage; not supported.", nil, "false"},
	"remote.log.delete.on.disable":            {TypeBoolean, "", "Tiered storage; not supported.", nil, "false"},
}

// brokerDef describes one broker config for DescribeConfigs and dynamic updates: its type,
// Gregor's default (Kafka's, except where Config's Default says otherwise; nil: none), whether
// it may change at runtime (Kafka's DynamicBrokerConfig.AllDynamicConfigs, limited to those
// Gregor has), and, for dynamic keys Gregor does not implement, how a value is checked.
type brokerDef struct {
	typ     Type
	def     *string
	dynamic bool
	check   func(string) error
}

func sp(v string) *string { return &v }

// brokerDefs covers every key of brokerKeys and the dynamic broker configs Gregor accepts.
// The dynamic ones are the broker synonyms of topic configs (by their first name only:
// log.retention.ms is dynamic, log.retention.hours is not, as in Kafka) and the log cleaner's
// own reconfigurable settings.
var brokerDefs = map[string]brokerDef{
	"node.id":                                          {TypeInt, sp("1"), false, nil},
	"broker.id":                                        {TypeInt, nil, false, nil},
	"process.roles":                                    {TypeList, sp("broker,controller"), false, nil},
	"listeners":                                        {TypeString, sp("PLAINTEXT://:9092,CONTROLLER://:9093"), false, nil},
	"advertised.listeners":                             {TypeString, nil, false, nil},
	"controller.listener.names":                        {TypeString, sp("CONTROLLER"), false, nil},
	"listener.security.protocol.map":                   {TypeString, sp("CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL"), false, nil},
	"inter.broker.listener.name":                       {TypeString, nil, false, nil},
	"security.inter.broker.protocol":                   {TypeString, sp("PLAINTEXT"), false, nil},
	"controller.quorum.voters":                         {TypeList, sp(""), false, nil},
	"broker.rack":                                      {TypeString, nil, false, nil},
	"controller.quorum.bootstrap.servers":              {TypeList, sp(""), false, nil},
	"broker.heartbeat.interval.ms":                     {TypeInt, sp("2000"), false, nil},
	"broker.session.timeout.ms":                        {TypeInt, sp("9000"), false, nil},
	"auto.leader.rebalance.enable":                     {TypeBoolean, sp("true"), false, nil},
	"leader.imbalance.check.interval.seconds":          {TypeLong, sp("300"), false, nil},
	"leader.imbalance.per.broker.percentage":           {TypeInt, sp("10"), false, nil},
	"log.dirs":                                         {TypeString, nil, false, nil},
	"log.dir":                                          {TypeString, sp("./gregor-data"), false, nil},
	"metadata.log.dir":                                 {TypeString, nil, false, nil},
	"num.partitions":                                   {TypeInt, sp("1"), false, nil},
	"default.replication.factor":                       {TypeInt, sp("1"), false, nil},
	"auto.create.topics.enable":                        {TypeBoolean, sp("true"), false, nil},
	"delete.topic.enable":                              {TypeBoolean, sp("true"), false, nil},
	"socket.request.max.bytes":                         {TypeInt, sp("104857600"), false, nil},
	"log.retention.minutes":                            {TypeInt, nil, false, nil},
	"log.retention.hours":                              {TypeInt, sp("168"), false, nil},
	"log.roll.hours":                                   {TypeInt, sp("168"), false, nil},
	"log.roll.jitter.hours":                            {TypeInt, sp("0"), false, nil},
	"log.retention.check.interval.ms":                  {TypeLong, sp("300000"), false, nil},
	"producer.id.expiration.ms":                        {TypeInt, sp("86400000"), false, nil},
	"producer.id.expiration.check.interval.ms":         {TypeInt, sp("600000"), false, nil},
	"log.cleaner.enable":                               {TypeBoolean, sp("true"), false, nil},
	"log.flush.scheduler.interval.ms":                  {TypeLong, sp(maxLongStr), false, nil},
	"log.message.format.version":                       {TypeString, sp("3.0-IV1"), false, nil},
	"replica.fetch.wait.max.ms":                        {TypeInt, sp("500"), false, nil},
	"replica.fetch.min.bytes":                          {TypeInt, sp("1"), false, nil},
	"replica.fetch.max.bytes":                          {TypeInt, sp("1048576"), false, nil},
	"replica.lag.time.max.ms":                          {TypeLong, sp("30000"), false, nil},
	"num.replica.fetchers":                             {TypeInt, sp("1"), false, nil},
	"replica.fetch.response.max.bytes":                 {TypeInt, sp("10485760"), false, nil},
	"replica.fetch.backoff.ms":                         {TypeInt, sp("1000"), false, nil},
	"group.min.session.timeout.ms":                     {TypeInt, sp("6000"), false, nil},
	"group.max.session.timeout.ms":                     {TypeInt, sp("1800000"), false, nil},
	"group.initial.rebalance.delay.ms":                 {TypeInt, sp("3000"), false, nil},
	"group.max.size":                                   {TypeInt, sp("2147483647"), false, nil},
	"group.consumer.session.timeout.ms":                {TypeInt, sp("45000"), false, nil},
	"group.consumer.min.session.timeout.ms":            {TypeInt, sp("45000"), false, nil},
	"group.consumer.max.session.timeout.ms":            {TypeInt, sp("60000"), false, nil},
	"group.consumer.heartbeat.interval.ms":             {TypeInt, sp("5000"), false, nil},
	"group.consumer.min.heartbeat.interval.ms":         {TypeInt, sp("5000"), false, nil},
	"group.consumer.max.heartbeat.interval.ms":         {TypeInt, sp("15000"), false, nil},
	"group.consumer.max.size":                          {TypeInt, sp("2147483647"), false, nil},
	"group.consumer.assignors":                         {TypeList, sp("uniform,range"), false, nil},
	"group.share.session.timeout.ms":                   {TypeInt, sp("45000"), false, nil},
	"group.share.heartbeat.interval.ms":                {TypeInt, sp("5000"), false, nil},
	"group.share.max.size":                             {TypeInt, sp("200"), false, nil},
	"group.share.record.lock.duration.ms":              {TypeInt, sp("30000"), false, nil},
	"group.share.delivery.count.limit":                 {TypeInt, sp("5"), false, nil},
	"group.share.partition.max.record.locks":           {TypeInt, sp("2000"), false, nil},
	"group.share.auto.offset.reset":                    {TypeString, sp("latest"), false, nil},
	"group.share.dead.letter.topic":                    {TypeString, sp(""), false, nil},
	"share.coordinator.state.topic.replication.factor": {TypeShort, sp("3"), false, nil},
	"offsets.topic.num.partitions":                     {TypeInt, sp("50"), false, nil},
	"offsets.topic.replication.factor":                 {TypeShort, sp("3"), false, nil},
	"offsets.topic.segment.bytes":                      {TypeInt, sp("104857600"), false, nil},
	"offsets.retention.minutes":                        {TypeInt, sp("10080"), false, nil},
	"offsets.retention.check.interval.ms":              {TypeLong, sp("600000"), false, nil},
	"offset.metadata.max.bytes":                        {TypeInt, sp("4096"), false, nil},
	"admin.listeners":                                  {TypeString, sp("http://localhost:9644"), false, nil},
	"lag.window.size":                                  {TypeInt, sp("10"), false, nil},
	"admin.pprof.enable":                               {TypeBoolean, sp("false"), false, nil},
	"quota.window.num":                                 {TypeInt, sp("11"), false, nil},
	"quota.window.size.seconds":                        {TypeInt, sp("1"), false, nil},
	"max.connections":                                  {TypeInt, sp("2147483647"), false, nil},
	"max.connections.per.ip":                           {TypeInt, sp("2147483647"), false, nil},

	"transaction.state.log.num.partitions":                        {TypeInt, sp("50"), false, nil},
	"transaction.state.log.replication.factor":                    {TypeShort, sp("3"), false, nil},
	"transaction.state.log.segment.bytes":                         {TypeInt, sp("104857600"), false, nil},
	"transaction.max.timeout.ms":                                  {TypeInt, sp("900000"), false, nil},
	"transactional.id.expiration.ms":                              {TypeInt, sp("604800000"), false, nil},
	"transaction.abort.timed.out.transaction.cleanup.interval.ms": {TypeInt, sp("10000"), false, nil},
	"transaction.remove.expired.transaction.cleanup.interval.ms":  {TypeInt, sp("3600000"), false, nil},
	"transaction.partition.verification.enable":                   {TypeBoolean, sp("true"), false, nil},

	// Dynamic, implemented: checked by their brokerKeys setter and Validate.
	"message.max.bytes":                   {TypeInt, sp("1048588"), true, nil},
	"log.segment.bytes":                   {TypeInt, sp("1073741824"), true, nil},
	"log.index.interval.bytes":            {TypeInt, sp("4096"), true, nil},
	"log.index.size.max.bytes":            {TypeInt, sp("10485760"), true, nil},
	"log.message.timestamp.type":          {TypeString, sp("CreateTime"), true, nil},
	"log.retention.ms":                    {TypeLong, nil, true, nil},
	"log.retention.bytes":                 {TypeLong, sp("-1"), true, nil},
	"log.cleanup.policy":                  {TypeList, sp("delete"), true, nil},
	"compression.type":                    {TypeString, sp("producer"), true, nil},
	"min.insync.replicas":                 {TypeInt, sp("1"), true, nil},
	"log.roll.ms":                         {TypeLong, nil, true, nil},
	"log.roll.jitter.ms":                  {TypeLong, nil, true, nil},
	"log.segment.delete.delay.ms":         {TypeLong, sp("60000"), true, nil},
	"log.cleaner.backoff.ms":              {TypeLong, sp("15000"), true, nil},
	"log.cleaner.delete.retention.ms":     {TypeLong, sp("86400000"), true, nil},
	"log.cleaner.min.compaction.lag.ms":   {TypeLong, sp("0"), true, nil},
	"log.cleaner.max.compaction.lag.ms":   {TypeLong, sp(maxLongStr), true, nil},
	"log.cleaner.min.cleanable.ratio":     {TypeDouble, sp("0.5"), true, nil},
	"log.cleaner.io.max.bytes.per.second": {TypeDouble, sp(formatDouble(math.MaxFloat64)), true, nil},
	"log.message.timestamp.before.max.ms": {TypeLong, sp(maxLongStr), true, nil},
	"log.message.timestamp.after.max.ms":  {TypeLong, sp("3600000"), true, nil},
	"unclean.leader.election.enable":      {TypeBoolean, sp("false"), true, nil},
	"log.flush.interval.messages":         {TypeLong, sp(maxLongStr), true, nil},

	// Dynamic, not used by Gregor yet: stored, described and checked.
	"log.flush.interval.ms":                   {TypeLong, nil, true, checkLong(0)},
	"log.preallocate":                         {TypeBoolean, sp("false"), true, checkBool},
	"log.message.timestamp.difference.max.ms": {TypeLong, sp(maxLongStr), true, checkLong(0)},
	"log.message.downconversion.enable":       {TypeBoolean, sp("true"), true, checkBool},
	"compression.gzip.level":                  {TypeInt, sp("-1"), true, checkLevel(1, 9, -1)},
	"compression.lz4.level":                   {TypeInt, sp("9"), true, checkLevel(1, 17)},
	"compression.zstd.level":                  {TypeInt, sp("3"), true, checkLevel(-131072, 22)},
	"log.local.retention.ms":                  {TypeLong, sp("-2"), true, checkLong(-2)},
	"log.local.retention.bytes":               {TypeLong, sp("-2"), true, checkLong(-2)},
	"log.cleaner.threads":                     {TypeInt, sp("1"), true, checkInt(0)},
	"log.cleaner.dedupe.buffer.size":          {TypeLong, sp("134217728"), true, checkLong(0)},
	"log.cleaner.io.buffer.size":              {TypeInt, sp("524288"), true, checkInt(0)},
	"log.cleaner.io.buffer.load.factor":       {TypeDouble, sp("0.9"), true, checkRatio},

	// Replication throttles (bytes per second), read from the metadata image by the replica
	// manager, with the topics' *.replication.throttled.replicas.
	"leader.replication.throttled.rate":   {TypeLong, sp(maxLongStr), true, checkLong(1)},
	"follower.replication.throttled.rate": {TypeLong, sp(maxLongStr), true, checkLong(1)},
}

func checkLong(min int64) func(string) error {
	return func(v string) error {
		n, err := parseInt64(v)
		if err != nil {
			return err
		}
		return atLeast(n, min)
	}
}

func checkInt(min int32) func(string) error {
	return func(v string) error {
		n, err := parseInt32(v)
		if err != nil {
			return err
		}
		return atLeast(n, min)
	}
}

func checkBool(v string) error { _, err := parseBool(v); return err }

// brokerSynonyms lists the broker configs that set the same thing as name, highest
// precedence first (Kafka's DynamicBrokerConfig.brokerConfigSynonyms).
func brokerSynonyms(name string) []string {
	switch name {
	case "log.roll.ms", "log.roll.hours":
		return []string{"log.roll.ms", "log.roll.hours"}
	case "log.roll.jitter.ms", "log.roll.jitter.hours":
		return []string{"log.roll.jitter.ms", "log.roll.jitter.hours"}
	case "log.flush.interval.ms": // log.flush.scheduler.interval.ms is its default
		return []string{"log.flush.interval.ms", "log.flush.scheduler.interval.ms"}
	case "log.retention.ms", "log.retention.minutes", "log.retention.hours":
		return []string{"log.retention.ms", "log.retention.minutes", "log.retention.hours"}
	}
	return []string{name}
}
