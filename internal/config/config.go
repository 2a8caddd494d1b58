// Package config holds the broker's and topics' configuration by Kafka's own names, types,
// defaults and validation rules, and reads server.properties.
//
// A broker's configuration is built in one way only: Default, then Load applies the
// properties a user gave, then one validation step (Broker.Validate) checks the whole. A key
// Gregor implements sets a field; a key Kafka knows but Gregor does not implement yet is kept
// in Raw and named in Ignored, so that an existing server.properties loads with warnings
// instead of failing; any other key is an error, as is any value Kafka would refuse.
//
// Topic configs (segment.bytes, retention.ms, ...) take their defaults from the broker's
// log.* configs (Broker.TopicDefaults), and per-topic overrides are checked one by one
// (ValidateTopicConfig) or applied together (TopicConfig).
package config

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"slices"
	"strings"
)

// Broker is a broker's static configuration. Each field names its Kafka key and default.
type Broker struct {
	NodeID                      int32             // node.id (or its old name broker.id), default 1
	ProcessRoles                []string          // process.roles, default "broker,controller"
	Listeners                   []Listener        // listeners, default "PLAINTEXT://:9092,CONTROLLER://:9093"
	AdvertisedListeners         []Listener        // advertised.listeners, default: listeners minus controller listeners (see Load)
	ControllerListenerNames     []string          // controller.listener.names, default "CONTROLLER"
	ListenerSecurityProtocolMap map[string]string // listener.security.protocol.map, default Kafka's plus CONTROLLER:PLAINTEXT
	InterBrokerListenerName     string            // inter.broker.listener.name (or security.inter.broker.protocol), default "PLAINTEXT"
	ControllerQuorumVoters      string            // controller.quorum.voters, default "" (this node alone)
	BrokerRack                  string            // broker.rack, default "" (none)
	// ControllerQuorumBootstrapServers is controller.quorum.bootstrap.servers (host:port list),
	// where a broker-only node looks for the active controller when controller.quorum.voters
	// is empty. Default "".
	ControllerQuorumBootstrapServers []string

	BrokerHeartbeatIntervalMs          int32 // broker.heartbeat.interval.ms, default 2000, >= 1
	BrokerSessionTimeoutMs             int32 // broker.session.timeout.ms, default 9000, > the heartbeat interval
	AutoLeaderRebalanceEnable          bool  // auto.leader.rebalance.enable, default true
	LeaderImbalanceCheckIntervalSecs   int64 // leader.imbalance.check.interval.seconds, default 300, >= 1
	LeaderImbalancePerBrokerPercentage int32 // leader.imbalance.per.broker.percentage, default 10, >= 0

	LogDirs        []string // log.dirs (or log.dir), default "./gregor-data"
	MetadataLogDir string   // metadata.log.dir, default "" (the first log dir)

	NumPartitions            int32 // num.partitions, default 1, >= 1
	DefaultReplicationFactor int16 // default.replication.factor, default 1, >= 1
	AutoCreateTopicsEnable   bool  // auto.create.topics.enable, default true
	DeleteTopicEnable        bool  // delete.topic.enable, default true

	MessageMaxBytes       int32 // message.max.bytes, default 1048588, >= 0
	SocketRequestMaxBytes int32 // socket.request.max.bytes, default 104857600, >= 1

	LogSegmentBytes         int64  // log.segment.bytes, default 1073741824, 14..2^31-1
	LogIndexIntervalBytes   int32  // log.index.interval.bytes, default 4096, >= 0
	LogIndexSizeMaxBytes    int32  // log.index.size.max.bytes, default 10485760, >= 4
	LogMessageTimestampType string // log.message.timestamp.type, CreateTime (default) or LogAppendTime
	LogRetentionMs          int64  // log.retention.ms, else .minutes, else .hours (default 168); -1 = forever
	LogRetentionBytes       int64  // log.retention.bytes, default -1 (no limit)
	LogCleanupPolicy        string // log.cleanup.policy, default "delete"; a list of delete, compact
	CompressionType         string // compression.type, default "producer"
	MinInsyncReplicas       int32  // min.insync.replicas, default 1, >= 1

	LogRollMs                      int64   // log.roll.ms, else log.roll.hours (default 168)
	LogRollJitterMs                int64   // log.roll.jitter.ms, else log.roll.jitter.hours (default 0)
	LogRetentionCheckIntervalMs    int64   // log.retention.check.interval.ms, default 300000, >= 1
	LogSegmentDeleteDelayMs        int64   // log.segment.delete.delay.ms, default 60000, >= 0
	LogCleanerEnable               bool    // log.cleaner.enable, default true
	LogCleanerBackoffMs            int64   // log.cleaner.backoff.ms, default 15000, >= 0
	LogCleanerDeleteRetentionMs    int64   // log.cleaner.delete.retention.ms, default 86400000
	LogCleanerMinCompactionLagMs   int64   // log.cleaner.min.compaction.lag.ms, default 0
	LogCleanerMaxCompactionLagMs   int64   // log.cleaner.max.compaction.lag.ms, default 2^63-1
	LogCleanerMinCleanableRatio    float64 // log.cleaner.min.cleanable.ratio, default 0.5, 0..1
	LogCleanerIoMaxBytesPerSecond  float64 // log.cleaner.io.max.bytes.per.second, default unlimited
	LogMessageTimestampBeforeMaxMs int64   // log.message.timestamp.before.max.ms, default 2^63-1
	LogMessageTimestampAfterMaxMs  int64   // log.message.timestamp.after.max.ms, default 3600000 (Kafka 4)
	LogFlushIntervalMessages       int64   // log.flush.interval.messages, default MaxInt64, >= 1: flush.messages's default

	ProducerIDExpirationMs              int64 // producer.id.expiration.ms, default 86400000, >= 1
	ProducerIDExpirationCheckIntervalMs int64 // producer.id.expiration.check.interval.ms, default 600000, >= 1
	UncleanLeaderElectionEnable         bool  // unclean.leader.election.enable, default false

	ReplicaFetchWaitMaxMs int32 // replica.fetch.wait.max.ms, default 500, <= replica.lag.time.max.ms
	ReplicaFetchMinBytes  int32 // replica.fetch.min.bytes, default 1
	ReplicaFetchMaxBytes  int32 // replica.fetch.max.bytes, default 1048576, >= 0
	ReplicaLagTimeMaxMs   int64 // replica.lag.time.max.ms, default 30000
	NumReplicaFetchers    int32 // num.replica.fetchers, default 1, >= 1
	// replica.fetch.response.max.bytes, default 10485760, >= 0
	ReplicaFetchResponseMaxBytes int32
	ReplicaFetchBackoffMs        int32 // replica.fetch.backoff.ms, default 1000, >= 0

	GroupMinSessionTimeoutMs     int32 // group.min.session.timeout.ms, default 6000
	GroupMaxSessionTimeoutMs     int32 // group.max.session.timeout.ms, default 1800000, >= the minimum
	GroupInitialRebalanceDelayMs int32 // group.initial.rebalance.delay.ms, default 3000, >= 0
	GroupMaxSize                 int32 // group.max.size, default 2^31-1, >= 1
	// KIP-848 consumer groups. The session timeout and heartbeat interval must lie within
	// their min/max bounds, and the interval must be less than the session timeout.
	GroupConsumerSessionTimeoutMs       int32  // group.consumer.session.timeout.ms, default 45000, >= 1
	GroupConsumerMinSessionTimeoutMs    int32  // group.consumer.min.session.timeout.ms, default 45000, >= 1
	GroupConsumerMaxSessionTimeoutMs    int32  // group.consumer.max.session.timeout.ms, default 60000, >= 1
	GroupConsumerHeartbeatIntervalMs    int32  // group.consumer.heartbeat.interval.ms, default 5000, >= 1
	GroupConsumerMinHeartbeatIntervalMs int32  // group.consumer.min.heartbeat.interval.ms, default 5000, >= 1
	GroupConsumerMaxHeartbeatIntervalMs int32  // group.consumer.max.heartbeat.interval.ms, default 15000, >= 1
	GroupConsumerMaxSize                int32  // group.consumer.max.size, default 2^31-1, >= 1
	GroupConsumerAssignors              string // group.consumer.assignors, default "uniform,range"; the first is the default
	// KIP-932 share groups. The heartbeat interval must be less than the session timeout.
	GroupShareSessionTimeoutMs        int32 // group.share.session.timeout.ms, default 45000, >= 1
	GroupShareHeartbeatIntervalMs     int32 // group.share.heartbeat.interval.ms, default 5000, >= 1
	GroupShareMaxSize                 int32 // group.share.max.size, default 200, >= 1
	GroupShareRecordLockDurationMs    int32 // group.share.record.lock.duration.ms, default 30000, >= 1
	GroupShareDeliveryCountLimit      int32 // group.share.delivery.count.limit, default 5, 2..10 as in Kafka
	GroupSharePartitionMaxRecordLocks int32 // group.share.partition.max.record.locks, default 2000, >= 100
	// GroupShareAutoOffsetReset is where a share-partition starts when it has no state:
	// "latest" (default) or "earliest". Kafka has it as the group config
	// share.auto.offset.reset; Gregor has no group configs yet, so it is a broker default.
	GroupShareAutoOffsetReset string // group.share.auto.offset.reset
	// GroupShareDeadLetterTopic, when not empty, is the topic that records rejected or
	// archived over the delivery limit are produced to (Gregor's take on KIP-1191).
	GroupShareDeadLetterTopic string // group.share.dead.letter.topic, default ""
	// ShareCoordinatorStateTopicReplicationFactor is
	// share.coordinator.state.topic.replication.factor, default 3, >= 1: the replicas of
	// __share_group_state. Deviation from Kafka, as for offsets.topic.replication.factor:
	// Gregor uses min(this, live brokers).
	ShareCoordinatorStateTopicReplicationFactor int16
	OffsetsTopicNumPartitions                   int32 // offsets.topic.num.partitions, default 50, >= 1
	// OffsetsTopicReplicationFactor is offsets.topic.replication.factor, default 3, >= 1.
	// Deviation from Kafka: Kafka refuses to create __consumer_offsets until that many brokers
	// are alive; Gregor uses min(this, live brokers), so a single node works out of the box.
	OffsetsTopicReplicationFactor   int16
	OffsetsTopicSegmentBytes        int32 // offsets.topic.segment.bytes, default 104857600, >= 1
	OffsetsRetentionMinutes         int32 // offsets.retention.minutes, default 10080 (7 days), >= 1
	OffsetsRetentionCheckIntervalMs int64 // offsets.retention.check.interval.ms, default 600000, >= 1
	OffsetMetadataMaxBytes          int32 // offset.metadata.max.bytes, default 4096

	// Transaction coordinator (__transaction_state).
	TransactionStateLogNumPartitions int32 // transaction.state.log.num.partitions, default 50, >= 1
	// TransactionStateLogReplicationFactor is transaction.state.log.replication.factor,
	// default 3, >= 1; like offsets.topic.replication.factor, capped at the live brokers.
	TransactionStateLogReplicationFactor int16
	TransactionStateLogSegmentBytes      int32 // transaction.state.log.segment.bytes, default 104857600, >= 1
	TransactionMaxTimeoutMs              int32 // transaction.max.timeout.ms, default 900000, >= 1
	TransactionalIDExpirationMs          int32 // transactional.id.expiration.ms, default 604800000, >= 1
	// TransactionAbortTimedOutTransactionCleanupIntervalMs is
	// transaction.abort.timed.out.transaction.cleanup.interval.ms, default 10000, >= 1.
	TransactionAbortTimedOutTransactionCleanupIntervalMs int32
	// TransactionRemoveExpiredTransactionCleanupIntervalMs is
	// transaction.remove.expired.transaction.cleanup.interval.ms, default 3600000, >= 1.
	TransactionRemoveExpiredTransactionCleanupIntervalMs int32
	// TransactionPartitionVerificationEnable is transaction.partition.verification.enable,
	// default true: a transactional batch for a partition is appended only once the
	// transaction coordinator confirms the partition is in the producer's ongoing
	// transaction (KIP-890 part 1).
	TransactionPartitionVerificationEnable bool
	// AdminListeners is admin.listeners, default "http://localhost:9644": where the admin HTTP
	// endpoint (metrics, consumer lag) listens; an empty string turns it off. Gregor's own
	// key (Kafka has no admin HTTP listener); only the HTTP scheme is accepted.
	AdminListeners []Listener
	LagWindowSize  int32 // lag.window.size, default 10, >= 2: commits kept per group partition for lag evaluation
	// AdminPprofEnable is admin.pprof.enable, default false: serve Go's runtime profiles
	// (/debug/pprof/) on the admin listener, for finding where a broker spends its time.
	// Gregor's own key; off by default because profiles expose internals.
	AdminPprofEnable bool

	// Client quotas: the byte rates are measured over QuotaWindowNum samples of
	// QuotaWindowSizeSeconds each (quota.window.num, default 11; quota.window.size.seconds,
	// default 1).
	QuotaWindowNum         int32
	QuotaWindowSizeSeconds int32
	// MaxConnections (max.connections) and MaxConnectionsPerIP (max.connections.per.ip) bound
	// the client connections of the broker and of one client address; default unbounded.
	MaxConnections      int32
	MaxConnectionsPerIP int32

	// Raw is every key Load was given, with its value as given, for DescribeConfigs.
	Raw map[string]string
	// Ignored names, sorted, the keys Load was given that Kafka knows and Gregor does not
	// implement yet; the caller logs them as warnings.
	Ignored []string
}

// Defaults that are Kafka's.
const (
	DefaultMessageMaxBytes = 1024*1024 + 12 // 1 MiB plus the log overhead of a batch
	defaultRetentionHours  = 168
)

// Default returns Gregor's defaults: Kafka's, except that one node is broker and controller
// at once, and data lives in ./gregor-data.
func Default() Broker {
	return Broker{
		NodeID:                  1,
		ProcessRoles:            []string{"broker", "controller"},
		Listeners:               []Listener{{Name: "PLAINTEXT", Port: 9092}, {Name: "CONTROLLER", Port: 9093}},
		AdvertisedListeners:     []Listener{{Name: "PLAINTEXT", Host: "localhost", Port: 9092}},
		ControllerListenerNames: []string{"CONTROLLER"},

		BrokerHeartbeatIntervalMs:          2000,
		BrokerSessionTimeoutMs:             9000,
		AutoLeaderRebalanceEnable:          true,
		LeaderImbalanceCheckIntervalSecs:   300,
		LeaderImbalancePerBrokerPercentage: 10,
		ListenerSecurityProtocolMap: map[string]string{
			"PLAINTEXT": "PLAINTEXT", "SSL": "SSL", "SASL_PLAINTEXT": "SASL_PLAINTEXT", "SASL_SSL": "SASL_SSL",
			"CONTROLLER": "PLAINTEXT",
		},
		InterBrokerListenerName:  "PLAINTEXT",
		LogDirs:                  []string{"./gregor-data"},
		NumPartitions:            1,
		DefaultReplicationFactor: 1,
		AutoCreateTopicsEnable:   true,
		DeleteTopicEnable:        true,
		MessageMaxBytes:          DefaultMessageMaxBytes,
		SocketRequestMaxBytes:    100 * 1024 * 1024,
		LogSegmentBytes:          1024 * 1024 * 1024,
		LogIndexIntervalBytes:    4096,
		LogIndexSizeMaxBytes:     10 * 1024 * 1024,
		LogMessageTimestampType:  "CreateTime",
		LogRetentionMs:           defaultRetentionHours * 3600 * 1000,
		LogRetentionBytes:        -1,
		LogCleanupPolicy:         "delete",
		CompressionType:          "producer",
		MinInsyncReplicas:        1,

		LogRollMs:                   defaultRetentionHours * 3600 * 1000,
		LogRetentionCheckIntervalMs: 5 * 60 * 1000,

		ProducerIDExpirationMs:              24 * 3600 * 1000,
		ProducerIDExpirationCheckIntervalMs: 10 * 60 * 1000,
		LogSegmentDeleteDelayMs:             60 * 1000,
		LogCleanerEnable:                    true,
		LogCleanerBackoffMs:                 15 * 1000,
		LogCleanerDeleteRetentionMs:         24 * 3600 * 1000,
		LogCleanerMaxCompactionLagMs:        math.MaxInt64,
		LogCleanerMinCleanableRatio:         0.5,
		LogCleanerIoMaxBytesPerSecond:       math.MaxFloat64,
		LogMessageTimestampBeforeMaxMs:      math.MaxInt64,
		LogMessageTimestampAfterMaxMs:       3600 * 1000,
		LogFlushIntervalMessages:            math.MaxInt64,
		ReplicaFetchWaitMaxMs:               500,
		ReplicaFetchMinBytes:                1,
		ReplicaFetchMaxBytes:                1024 * 1024,
		ReplicaLagTimeMaxMs:                 30000,
		NumReplicaFetchers:                  1,
		ReplicaFetchResponseMaxBytes:        10 << 20,
		ReplicaFetchBackoffMs:               1000,

		GroupMinSessionTimeoutMs:     6000,
		GroupMaxSessionTimeoutMs:     1800000,
		GroupInitialRebalanceDelayMs: 3000,
		GroupMaxSize:                 math.MaxInt32,

		GroupConsumerSessionTimeoutMs:               45000,
		GroupConsumerMinSessionTimeoutMs:            45000,
		GroupConsumerMaxSessionTimeoutMs:            60000,
		GroupConsumerHeartbeatIntervalMs:            5000,
		GroupConsumerMinHeartbeatIntervalMs:         5000,
		GroupConsumerMaxHeartbeatIntervalMs:         15000,
		GroupConsumerMaxSize:                        math.MaxInt32,
		GroupConsumerAssignors:                      "uniform,range",
		GroupShareSessionTimeoutMs:                  45000,
		GroupShareHeartbeatIntervalMs:               5000,
		GroupShareMaxSize:                           200,
		GroupShareRecordLockDurationMs:              30000,
		GroupShareDeliveryCountLimit:                5,
		GroupSharePartitionMaxRecordLocks:           2000,
		GroupShareAutoOffsetReset:                   "latest",
		OffsetsTopicNumPartitions:                   50,
		OffsetsTopicReplicationFactor:               3,
		ShareCoordinatorStateTopicReplicationFactor: 3,
		OffsetsTopicSegmentBytes:                    100 * 1024 * 1024,
		OffsetsRetentionMinutes:                     7 * 24 * 60,
		OffsetsRetentionCheckIntervalMs:             600000,
		OffsetMetadataMaxBytes:                      4096,

		TransactionStateLogNumPartitions:                     50,
		TransactionStateLogReplicationFactor:                 3,
		TransactionStateLogSegmentBytes:                      100 * 1024 * 1024,
		TransactionMaxTimeoutMs:                              900000,
		TransactionalIDExpirationMs:                          604800000,
		TransactionAbortTimedOutTransactionCleanupIntervalMs: 10000,
		TransactionRemoveExpiredTransactionCleanupIntervalMs: 3600000,
		TransactionPartitionVerificationEnable:               true,

		AdminListeners: []Listener{{Name: "HTTP", Host: "localhost", Port: 9644}},
		LagWindowSize:  10,

		QuotaWindowNum:         11,
		QuotaWindowSizeSeconds: 1,
		MaxConnections:         math.MaxInt32,
		MaxConnectionsPerIP:    math.MaxInt32,
		Raw:                    map[string]string{},
	}
}

// HasRole reports whether process.roles includes role ("broker" or "controller").
func (b Broker) HasRole(role string) bool { return slices.Contains(b.ProcessRoles, role) }

// IsControllerListener reports whether name is one of controller.listener.names.
func (b Broker) IsControllerListener(name string) bool {
	return slices.Contains(b.ControllerListenerNames, strings.ToUpper(name))
}

// Advertised returns the advertised listener named listenerName (in any case).
func (b Broker) Advertised(listenerName string) (Listener, bool) {
	name := strings.ToUpper(listenerName)
	for _, l := range b.AdvertisedListeners {
		if l.Name == name {
			return l, true
		}
	}
	return Listener{}, false
}

// QuorumVoters returns controller.quorum.voters parsed; an empty list means this node alone
// (Validate has checked the string).
func (b Broker) QuorumVoters() []Voter {
	vs, _ := ParseVoters(b.ControllerQuorumVoters)
	return vs
}

// MetadataDir is metadata.log.dir, or the first log dir when it is not set.
func (b Broker) MetadataDir() string {
	if b.MetadataLogDir != "" || len(b.LogDirs) == 0 {
		return b.MetadataLogDir
	}
	return b.LogDirs[0]
}

// loader carries what Load needs besides the Broker it fills.
type loader struct {
	b     Broker
	props map[string]string
}

func (l *loader) given(key string) bool { _, ok := l.props[key]; return ok }

// brokerKeys are the keys Gregor implements, each with how it sets its field. Keys whose
// meaning depends on others (synonyms, derived defaults) are resolved after all are set.
var brokerKeys = map[string]func(l *loader, v string) error{
	"node.id": func(l *loader, v string) (err error) { l.b.NodeID, err = parseInt32(v); return },
	"broker.id": func(l *loader, v string) error {
		id, err := parseInt32(v)
		if err != nil {
			return err
		}
		if !l.given("node.id") {
			l.b.NodeID = id
		} else if n, err := parseInt32(l.props["node.id"]); err == nil && n != id {
			return fmt.Errorf("%d differs from node.id %d; set only node.id", id, n)
		}
		return nil
	},
	"process.roles": func(l *loader, v string) error { l.b.ProcessRoles = splitList(v); return nil },
	"listeners": func(l *loader, v string) (err error) {
		l.b.Listeners, err = ParseListeners(v)
		return
	},
	"advertised.listeners": func(l *loader, v string) (err error) {
		l.b.AdvertisedListeners, err = ParseListeners(v)
		return
	},
	"controller.listener.names": func(l *loader, v string) error {
		l.b.ControllerListenerNames = nil
		for _, n := range splitList(v) {
			l.b.ControllerListenerNames = append(l.b.ControllerListenerNames, strings.ToUpper(n))
		}
		return nil
	},
	"listener.security.protocol.map": func(l *loader, v string) (err error) {
		l.b.ListenerSecurityProtocolMap, err = parseProtocolMap(v)
		return
	},
	"inter.broker.listener.name": func(l *loader, v string) error {
		if l.given("security.inter.broker.protocol") {
			return errors.New("set only one of inter.broker.listener.name and security.inter.broker.protocol")
		}
		l.b.InterBrokerListenerName = strings.ToUpper(strings.TrimSpace(v))
		return nil
	},
	"security.inter.broker.protocol": func(l *loader, v string) error {
		p := strings.ToUpper(strings.TrimSpace(v))
		if !securityProtocols[p] {
			return fmt.Errorf("%q is not a security protocol", v)
		}
		if !l.given("inter.broker.listener.name") {
			l.b.InterBrokerListenerName = p // the listener named after the protocol
		}
		return nil
	},
	"controller.quorum.voters": func(l *loader, v string) error {
		l.b.ControllerQuorumVoters = strings.TrimSpace(v)
		_, err := ParseVoters(v)
		return err
	},
	"broker.rack": func(l *loader, v string) error { l.b.BrokerRack = strings.TrimSpace(v); return nil },
	"controller.quorum.bootstrap.servers": func(l *loader, v string) error {
		l.b.ControllerQuorumBootstrapServers = splitList(v)
		for _, hp := range l.b.ControllerQuorumBootstrapServers {
			if _, _, err := net.SplitHostPort(hp); err != nil {
				return fmt.Errorf("%q is not host:port", hp)
			}
		}
		return nil
	},
	"broker.heartbeat.interval.ms": func(l *loader, v string) (err error) {
		l.b.BrokerHeartbeatIntervalMs, err = parseInt32(v)
		return
	},
	"broker.session.timeout.ms": func(l *loader, v string) (err error) {
		l.b.BrokerSessionTimeoutMs, err = parseInt32(v)
		return
	},
	"auto.leader.rebalance.enable": func(l *loader, v string) (err error) {
		l.b.AutoLeaderRebalanceEnable, err = parseBool(v)
		return
	},
	"leader.imbalance.check.interval.seconds": func(l *loader, v string) (err error) {
		l.b.LeaderImbalanceCheckIntervalSecs, err = parseInt64(v)
		return
	},
	"leader.imbalance.per.broker.percentage": func(l *loader, v string) (err error) {
		l.b.LeaderImbalancePerBrokerPercentage, err = parseInt32(v)
		return
	},
	"log.dirs": func(l *loader, v string) error { l.b.LogDirs = splitList(v); return nil },
	"log.dir": func(l *loader, v string) error {
		if !l.given("log.dirs") { // log.dirs wins
			l.b.LogDirs = splitList(v)
		}
		return nil
	},
	"metadata.log.dir": func(l *loader, v string) error { l.b.MetadataLogDir = strings.TrimSpace(v); return nil },
	"num.partitions":   func(l *loader, v string) (err error) { l.b.NumPartitions, err = parseInt32(v); return },
	"default.replication.factor": func(l *loader, v string) (err error) {
		l.b.DefaultReplicationFactor, err = parseInt16(v)
		return
	},
	"auto.create.topics.enable": func(l *loader, v string) (err error) { l.b.AutoCreateTopicsEnable, err = parseBool(v); return },
	"delete.topic.enable":       func(l *loader, v string) (err error) { l.b.DeleteTopicEnable, err = parseBool(v); return },
	"message.max.bytes":         func(l *loader, v string) (err error) { l.b.MessageMaxBytes, err = parseInt32(v); return },
	"socket.request.max.bytes":  func(l *loader, v string) (err error) { l.b.SocketRequestMaxBytes, err = parseInt32(v); return },
	"log.segment.bytes": func(l *loader, v string) error {
		n, err := parseInt32(v) // an INT in Kafka, though our field is wider
		l.b.LogSegmentBytes = int64(n)
		return err
	},
	"log.index.interval.bytes": func(l *loader, v string) (err error) { l.b.LogIndexIntervalBytes, err = parseInt32(v); return },
	"log.index.size.max.bytes": func(l *loader, v string) (err error) { l.b.LogIndexSizeMaxBytes, err = parseInt32(v); return },
	"log.message.timestamp.type": func(l *loader, v string) error {
		l.b.LogMessageTimestampType = strings.TrimSpace(v)
		return nil
	},
	"log.retention.ms": func(l *loader, v string) error {
		n, err := parseInt64(v)
		l.b.LogRetentionMs = n // wins over minutes and hours
		return err
	},
	"log.retention.minutes": func(l *loader, v string) error {
		n, err := parseInt32(v)
		if err == nil && !l.given("log.retention.ms") {
			l.b.LogRetentionMs = int64(n) * 60 * 1000
		}
		return err
	},
	"log.retention.hours": func(l *loader, v string) error {
		n, err := parseInt32(v)
		if err == nil && !l.given("log.retention.ms") && !l.given("log.retention.minutes") {
			l.b.LogRetentionMs = int64(n) * 3600 * 1000
		}
		return err
	},
	"log.retention.bytes": func(l *loader, v string) (err error) { l.b.LogRetentionBytes, err = parseInt64(v); return },
	"log.cleanup.policy":  func(l *loader, v string) error { l.b.LogCleanupPolicy = strings.Join(splitList(v), ","); return nil },
	"compression.type":    func(l *loader, v string) error { l.b.CompressionType = strings.TrimSpace(v); return nil },
	"min.insync.replicas": func(l *loader, v string) (err error) { l.b.MinInsyncReplicas, err = parseInt32(v); return },
	"log.roll.ms":         func(l *loader, v string) (err error) { l.b.LogRollMs, err = parseInt64(v); return },
	"log.roll.hours": func(l *loader, v string) error {
		n, err := parseInt32(v)
		if err == nil && !l.given("log.roll.ms") {
			l.b.LogRollMs = int64(n) * 3600 * 1000
		}
		return err
	},
	"log.roll.jitter.ms": func(l *loader, v string) (err error) { l.b.LogRollJitterMs, err = parseInt64(v); return },
	"log.roll.jitter.hours": func(l *loader, v string) error {
		n, err := parseInt32(v)
		if err == nil && !l.given("log.roll.jitter.ms") {
			l.b.LogRollJitterMs = int64(n) * 3600 * 1000
		}
		return err
	},
	"log.retention.check.interval.ms": func(l *loader, v string) (err error) {
		l.b.LogRetentionCheckIntervalMs, err = parseInt64(v)
		return
	},
	"producer.id.expiration.ms": func(l *loader, v string) (err error) {
		l.b.ProducerIDExpirationMs, err = parseInt64(v)
		return
	},
	"producer.id.expiration.check.interval.ms": func(l *loader, v string) (err error) {
		l.b.ProducerIDExpirationCheckIntervalMs, err = parseInt64(v)
		return
	},
	"log.segment.delete.delay.ms": func(l *loader, v string) (err error) { l.b.LogSegmentDeleteDelayMs, err = parseInt64(v); return },
	"log.cleaner.enable":          func(l *loader, v string) (err error) { l.b.LogCleanerEnable, err = parseBool(v); return },
	"log.cleaner.backoff.ms":      func(l *loader, v string) (err error) { l.b.LogCleanerBackoffMs, err = parseInt64(v); return },
	"log.cleaner.delete.retention.ms": func(l *loader, v string) (err error) {
		l.b.LogCleanerDeleteRetentionMs, err = parseInt64(v)
		return
	},
	"log.cleaner.min.compaction.lag.ms": func(l *loader, v string) (err error) {
		l.b.LogCleanerMinCompactionLagMs, err = parseInt64(v)
		return
	},
	"log.cleaner.max.compaction.lag.ms": func(l *loader, v string) (err error) {
		l.b.LogCleanerMaxCompactionLagMs, err = parseInt64(v)
		return
	},
	"log.cleaner.min.cleanable.ratio": func(l *loader, v string) (err error) {
		l.b.LogCleanerMinCleanableRatio, err = parseDouble(v)
		return
	},
	"log.cleaner.io.max.bytes.per.second": func(l *loader, v string) (err error) {
		l.b.LogCleanerIoMaxBytesPerSecond, err = parseDouble(v)
		return
	},
	"log.message.timestamp.before.max.ms": func(l *loader, v string) (err error) {
		l.b.LogMessageTimestampBeforeMaxMs, err = parseInt64(v)
		return
	},
	"log.flush.interval.messages": func(l *loader, v string) (err error) {
		l.b.LogFlushIntervalMessages, err = parseInt64(v)
		return
	},
	"log.message.timestamp.after.max.ms": func(l *loader, v string) (err error) {
		l.b.LogMessageTimestampAfterMaxMs, err = parseInt64(v)
		return
	},
	"unclean.leader.election.enable": func(l *loader, v string) (err error) {
		l.b.UncleanLeaderElectionEnable, err = parseBool(v)
		return
	},
	"replica.fetch.wait.max.ms": func(l *loader, v string) (err error) { l.b.ReplicaFetchWaitMaxMs, err = parseInt32(v); return },
	"replica.fetch.min.bytes":   func(l *loader, v string) (err error) { l.b.ReplicaFetchMinBytes, err = parseInt32(v); return },
	"replica.fetch.max.bytes":   func(l *loader, v string) (err error) { l.b.ReplicaFetchMaxBytes, err = parseInt32(v); return },
	"replica.lag.time.max.ms":   func(l *loader, v string) (err error) { l.b.ReplicaLagTimeMaxMs, err = parseInt64(v); return },
	"num.replica.fetchers":      func(l *loader, v string) (err error) { l.b.NumReplicaFetchers, err = parseInt32(v); return },
	"replica.fetch.response.max.bytes": func(l *loader, v string) (err error) {
		l.b.ReplicaFetchResponseMaxBytes, err = parseInt32(v)
		return
	},
	"replica.fetch.backoff.ms": func(l *loader, v string) (err error) { l.b.ReplicaFetchBackoffMs, err = parseInt32(v); return },

	"group.min.session.timeout.ms": func(l *loader, v string) (err error) {
		l.b.GroupMinSessionTimeoutMs, err = parseInt32(v)
		return
	},
	"group.max.session.timeout.ms": func(l *loader, v string) (err error) {
		l.b.GroupMaxSessionTimeoutMs, err = parseInt32(v)
		return
	},
	"group.initial.rebalance.delay.ms": func(l *loader, v string) (err error) {
		l.b.GroupInitialRebalanceDelayMs, err = parseInt32(v)
		return
	},
	"group.max.size": func(l *loader, v string) (err error) { l.b.GroupMaxSize, err = parseInt32(v); return },
	"group.consumer.session.timeout.ms": func(l *loader, v string) (err error) {
		l.b.GroupConsumerSessionTimeoutMs, err = parseInt32(v)
		return
	},
	"group.consumer.min.session.timeout.ms": func(l *loader, v string) (err error) {
		l.b.GroupConsumerMinSessionTimeoutMs, err = parseInt32(v)
		return
	},
	"group.consumer.max.session.timeout.ms": func(l *loader, v string) (err error) {
		l.b.GroupConsumerMaxSessionTimeoutMs, err = parseInt32(v)
		return
	},
	"group.consumer.heartbeat.interval.ms": func(l *loader, v string) (err error) {
		l.b.GroupConsumerHeartbeatIntervalMs, err = parseInt32(v)
		return
	},
	"group.consumer.min.heartbeat.interval.ms": func(l *loader, v string) (err error) {
		l.b.GroupConsumerMinHeartbeatIntervalMs, err = parseInt32(v)
		return
	},
	"group.consumer.max.heartbeat.interval.ms": func(l *loader, v string) (err error) {
		l.b.GroupConsumerMaxHeartbeatIntervalMs, err = parseInt32(v)
		return
	},
	"group.consumer.max.size": func(l *loader, v string) (err error) {
		l.b.GroupConsumerMaxSize, err = parseInt32(v)
		return
	},
	"group.share.session.timeout.ms": func(l *loader, v string) (err error) {
		l.b.GroupShareSessionTimeoutMs, err = parseInt32(v)
		return err
	},
	"group.share.heartbeat.interval.ms": func(l *loader, v string) (err error) {
		l.b.GroupShareHeartbeatIntervalMs, err = parseInt32(v)
		return err
	},
	"group.share.max.size": func(l *loader, v string) (err error) {
		l.b.GroupShareMaxSize, err = parseInt32(v)
		return err
	},
	"group.share.record.lock.duration.ms": func(l *loader, v string) (err error) {
		l.b.GroupShareRecordLockDurationMs, err = parseInt32(v)
		return err
	},
	"group.share.delivery.count.limit": func(l *loader, v string) (err error) {
		l.b.GroupShareDeliveryCountLimit, err = parseInt32(v)
		return err
	},
	"group.share.partition.max.record.locks": func(l *loader, v string) (err error) {
		l.b.GroupSharePartitionMaxRecordLocks, err = parseInt32(v)
		return err
	},
	"group.share.auto.offset.reset": func(l *loader, v string) error {
		l.b.GroupShareAutoOffsetReset = strings.TrimSpace(v)
		return nil
	},
	"group.share.dead.letter.topic": func(l *loader, v string) error {
		l.b.GroupShareDeadLetterTopic = strings.TrimSpace(v)
		return nil
	},
	"group.consumer.assignors": func(l *loader, v string) error {
		l.b.GroupConsumerAssignors = strings.Join(splitList(v), ",")
		return nil
	},
	"transaction.state.log.num.partitions": func(l *loader, v string) (err error) {
		l.b.TransactionStateLogNumPartitions, err = parseInt32(v)
		return
	},
	"transaction.state.log.replication.factor": func(l *loader, v string) (err error) {
		l.b.TransactionStateLogReplicationFactor, err = parseInt16(v)
		return
	},
	"transaction.state.log.segment.bytes": func(l *loader, v string) (err error) {
		l.b.TransactionStateLogSegmentBytes, err = parseInt32(v)
		return
	},
	"transaction.max.timeout.ms": func(l *loader, v string) (err error) {
		l.b.TransactionMaxTimeoutMs, err = parseInt32(v)
		return
	},
	"transactional.id.expiration.ms": func(l *loader, v string) (err error) {
		l.b.TransactionalIDExpirationMs, err = parseInt32(v)
		return
	},
	"transaction.abort.timed.out.transaction.cleanup.interval.ms": func(l *loader, v string) (err error) {
		l.b.TransactionAbortTimedOutTransactionCleanupIntervalMs, err = parseInt32(v)
		return
	},
	"transaction.partition.verification.enable": func(l *loader, v string) (err error) {
		l.b.TransactionPartitionVerificationEnable, err = parseBool(v)
		return
	},
	"transaction.remove.expired.transaction.cleanup.interval.ms": func(l *loader, v string) (err error) {
		l.b.TransactionRemoveExpiredTransactionCleanupIntervalMs, err = parseInt32(v)
		return
	},
	"offsets.topic.num.partitions": func(l *loader, v string) (err error) {
		l.b.OffsetsTopicNumPartitions, err = parseInt32(v)
		return
	},
	"share.coordinator.state.topic.replication.factor": func(l *loader, v string) (err error) {
		l.b.ShareCoordinatorStateTopicReplicationFactor, err = parseInt16(v)
		return
	},
	"offsets.topic.replication.factor": func(l *loader, v string) (err error) {
		l.b.OffsetsTopicReplicationFactor, err = parseInt16(v)
		return
	},
	"offsets.topic.segment.bytes": func(l *loader, v string) (err error) {
		l.b.OffsetsTopicSegmentBytes, err = parseInt32(v)
		return
	},
	"offsets.retention.minutes": func(l *loader, v string) (err error) {
		l.b.OffsetsRetentionMinutes, err = parseInt32(v)
		return
	},
	"offsets.retention.check.interval.ms": func(l *loader, v string) (err error) {
		l.b.OffsetsRetentionCheckIntervalMs, err = parseInt64(v)
		return
	},
	"offset.metadata.max.bytes": func(l *loader, v string) (err error) {
		l.b.OffsetMetadataMaxBytes, err = parseInt32(v)
		return
	},
	"admin.listeners": func(l *loader, v string) (err error) {
		l.b.AdminListeners, err = ParseListeners(v)
		return
	},
	"lag.window.size":    func(l *loader, v string) (err error) { l.b.LagWindowSize, err = parseInt32(v); return },
	"admin.pprof.enable": func(l *loader, v string) (err error) { l.b.AdminPprofEnable, err = parseBool(v); return },
	"quota.window.num":   func(l *loader, v string) (err error) { l.b.QuotaWindowNum, err = parseInt32(v); return },
	"quota.window.size.seconds": func(l *loader, v string) (err error) {
		l.b.QuotaWindowSizeSeconds, err = parseInt32(v)
		return
	},
	"max.connections":        func(l *loader, v string) (err error) { l.b.MaxConnections, err = parseInt32(v); return },
	"max.connections.per.ip": func(l *loader, v string) (err error) { l.b.MaxConnectionsPerIP, err = parseInt32(v); return },
}

// Load starts from Default, applies props (as ParseProperties returns them) and validates the
// result. Every problem is reported, each naming its key: an unknown key
// (`config: unknown key "foo.bar"`), a value of the wrong type
// (`config: log.segment.bytes: "abc" is not a number`), a value out of Kafka's range, or
// settings that disagree with each other. Keys Kafka knows but Gregor does not implement are
// accepted and listed in Broker.Ignored.
//
// Derived defaults, as Kafka derives them: advertised.listeners, when not given, is listeners
// without the controller listeners, an empty host advertised as "localhost" (Kafka advertises
// the machine's canonical host name); listener.security.protocol.map, when not given, maps
// each controller listener name to PLAINTEXT; log.dirs wins over log.dir, and log.retention.ms
// over log.retention.minutes over log.retention.hours; inter.broker.listener.name, when neither
// it nor security.inter.broker.protocol is given and no listener is named PLAINTEXT, is the
// first advertised non-controller listener.
func Load(props map[string]string) (Broker, error) {
	l := &loader{b: Default(), props: props}
	l.b.Raw = maps.Clone(props)
	if l.b.Raw == nil {
		l.b.Raw = map[string]string{}
	}
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(props)) {
		if set, ok := brokerKeys[key]; ok {
			if err := set(l, props[key]); err != nil {
				errs = append(errs, fmt.Errorf("config: %s: %w", key, err))
			}
			continue
		}
		if isSecurityKey(key) {
			continue // read by internal/auth from Raw
		}
		if knownBrokerKey(key) {
			l.b.Ignored = append(l.b.Ignored, key)
			continue
		}
		errs = append(errs, fmt.Errorf("config: unknown key %q", key))
	}
	if len(errs) > 0 {
		return Broker{}, errors.Join(errs...)
	}

	if !l.given("listener.security.protocol.map") {
		for _, n := range l.b.ControllerListenerNames {
			if _, ok := l.b.ListenerSecurityProtocolMap[n]; !ok {
				l.b.ListenerSecurityProtocolMap[n] = "PLAINTEXT"
			}
		}
	}
	if !l.given("advertised.listeners") {
		l.b.AdvertisedListeners = nil
		for _, ln := range l.b.Listeners {
			if !l.b.IsControllerListener(ln.Name) {
				l.b.AdvertisedListeners = append(l.b.AdvertisedListeners, ln)
			}
		}
	}
	for i := range l.b.AdvertisedListeners {
		if l.b.AdvertisedListeners[i].Host == "" {
			l.b.AdvertisedListeners[i].Host = "localhost"
		}
	}
	if !l.given("inter.broker.listener.name") && !l.given("security.inter.broker.protocol") {
		if _, ok := l.b.Advertised(l.b.InterBrokerListenerName); !ok {
			for _, ln := range l.b.AdvertisedListeners {
				if !l.b.IsControllerListener(ln.Name) {
					l.b.InterBrokerListenerName = ln.Name
					break
				}
			}
		}
	}
	if l.b.LogRetentionMs < 0 {
		l.b.LogRetentionMs = -1 // any negative retention is "forever", as in Kafka
	}
	if err := l.b.Validate(); err != nil {
		return Broker{}, err
	}
	return l.b, nil
}

// Validate checks the whole configuration, as Kafka's KafkaConfig does after parsing: ranges,
// and the rules that tie listeners, roles and voters together. It reports every problem.
func (b Broker) Validate() error {
	var errs []error
	bad := func(key string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("config: %s: %w", key, err))
		}
	}
	badf := func(key, format string, args ...any) { bad(key, fmt.Errorf(format, args...)) }

	bad("node.id", atLeast(b.NodeID, 0))

	// Roles.
	if len(b.ProcessRoles) == 0 {
		badf("process.roles", "must name broker, controller or both")
	}
	for i, r := range b.ProcessRoles {
		if r != "broker" && r != "controller" {
			badf("process.roles", "%q is not broker or controller", r)
		} else if slices.Contains(b.ProcessRoles[:i], r) {
			badf("process.roles", "%q appears more than once", r)
		}
	}
	broker, controller := b.HasRole("broker"), b.HasRole("controller")

	// Listeners.
	if len(b.Listeners) == 0 {
		badf("listeners", "must not be empty")
	}
	listenerNames := make(map[string]bool)
	for _, l := range b.Listeners {
		listenerNames[l.Name] = true
		if _, ok := b.ListenerSecurityProtocolMap[l.Name]; !ok {
			badf("listener.security.protocol.map", "has no entry for listener %s", l.Name)
		}
	}
	for _, l := range b.AdvertisedListeners {
		if !listenerNames[l.Name] {
			badf("advertised.listeners", "listener %s is not in listeners", l.Name)
		}
		if l.Host == "0.0.0.0" || l.Host == "::" {
			badf("advertised.listeners", "listener %s advertises the non-routable address %s", l.Name, l.Host)
		}
		if b.IsControllerListener(l.Name) && !controller {
			badf("advertised.listeners", "controller listener %s may not be advertised by a broker-only node", l.Name)
		}
	}
	if len(b.ControllerListenerNames) == 0 {
		badf("controller.listener.names", "must name at least one listener")
	}
	for _, n := range b.ControllerListenerNames {
		switch {
		case controller && !listenerNames[n]:
			badf("controller.listener.names", "%s is not in listeners, and this node is a controller", n)
		case !controller && listenerNames[n]:
			badf("controller.listener.names", "%s is in listeners, and this node is not a controller", n)
		}
	}
	if broker {
		if _, ok := b.Advertised(b.InterBrokerListenerName); !ok {
			badf("inter.broker.listener.name", "%s is not in advertised.listeners", b.InterBrokerListenerName)
		}
		if b.IsControllerListener(b.InterBrokerListenerName) {
			badf("inter.broker.listener.name", "%s is a controller listener", b.InterBrokerListenerName)
		}
		if len(b.AdvertisedListeners) == 0 {
			badf("advertised.listeners", "a broker must advertise at least one listener")
		}
	}

	// Quorum.
	if voters, err := ParseVoters(b.ControllerQuorumVoters); err != nil {
		bad("controller.quorum.voters", err)
	} else {
		self := slices.ContainsFunc(voters, func(v Voter) bool { return v.ID == b.NodeID })
		switch {
		case controller && len(voters) > 0 && !self:
			badf("controller.quorum.voters", "node %d is a controller but not a voter", b.NodeID)
		case !controller && self:
			badf("controller.quorum.voters", "node %d is a voter but not a controller", b.NodeID)
		case !controller && len(voters) == 0 && b.Raw["controller.quorum.bootstrap.servers"] == "":
			badf("controller.quorum.voters", "a broker-only node must be told its controllers")
		}
	}

	bad("broker.heartbeat.interval.ms", atLeast(b.BrokerHeartbeatIntervalMs, 1))
	if b.BrokerSessionTimeoutMs <= b.BrokerHeartbeatIntervalMs {
		badf("broker.session.timeout.ms", "must be greater than broker.heartbeat.interval.ms (%d)", b.BrokerHeartbeatIntervalMs)
	}
	if b.LeaderImbalanceCheckIntervalSecs < 1 {
		badf("leader.imbalance.check.interval.seconds", "must be at least 1")
	}
	bad("leader.imbalance.per.broker.percentage", atLeast(b.LeaderImbalancePerBrokerPercentage, 0))

	// Storage.
	if len(b.LogDirs) == 0 {
		badf("log.dirs", "must name at least one directory")
	}
	for _, d := range b.LogDirs {
		if d == "" {
			badf("log.dirs", "has an empty directory name")
		}
	}

	// Ranges, as Kafka's ConfigDef declares them.
	bad("num.partitions", atLeast(b.NumPartitions, 1))
	bad("default.replication.factor", atLeast(b.DefaultReplicationFactor, 1))
	bad("message.max.bytes", atLeast(b.MessageMaxBytes, 0))
	bad("socket.request.max.bytes", atLeast(b.SocketRequestMaxBytes, 1))
	bad("log.segment.bytes", between(b.LogSegmentBytes, minSegmentBytes, math.MaxInt32))
	bad("log.index.interval.bytes", atLeast(b.LogIndexIntervalBytes, 0))
	bad("log.index.size.max.bytes", atLeast(b.LogIndexSizeMaxBytes, 4))
	_, err := oneOf(b.LogMessageTimestampType, timestampTypes...)
	bad("log.message.timestamp.type", err)
	if b.LogRetentionMs != -1 && b.LogRetentionMs < 1 {
		badf("log.retention.ms", "must be -1 (forever) or at least 1, not %d", b.LogRetentionMs)
	}
	_, err = listOf(b.LogCleanupPolicy, cleanupPolicies...)
	bad("log.cleanup.policy", err)
	_, err = oneOf(b.CompressionType, compressionTypes...)
	bad("compression.type", err)
	bad("min.insync.replicas", atLeast(b.MinInsyncReplicas, 1))
	bad("log.roll.ms", atLeast(b.LogRollMs, 1))
	bad("log.roll.jitter.ms", atLeast(b.LogRollJitterMs, 0))
	bad("log.retention.check.interval.ms", atLeast(b.LogRetentionCheckIntervalMs, 1))
	bad("log.segment.delete.delay.ms", atLeast(b.LogSegmentDeleteDelayMs, 0))
	bad("producer.id.expiration.ms", atLeast(b.ProducerIDExpirationMs, 1))
	bad("producer.id.expiration.check.interval.ms", atLeast(b.ProducerIDExpirationCheckIntervalMs, 1))
	bad("log.cleaner.backoff.ms", atLeast(b.LogCleanerBackoffMs, 0))
	bad("log.cleaner.delete.retention.ms", atLeast(b.LogCleanerDeleteRetentionMs, 0))
	bad("log.cleaner.min.compaction.lag.ms", atLeast(b.LogCleanerMinCompactionLagMs, 0))
	bad("log.cleaner.max.compaction.lag.ms", atLeast(b.LogCleanerMaxCompactionLagMs, 1))
	bad("log.cleaner.min.cleanable.ratio", between(b.LogCleanerMinCleanableRatio, 0, 1))
	bad("log.cleaner.io.max.bytes.per.second", atLeast(b.LogCleanerIoMaxBytesPerSecond, 0))
	bad("log.message.timestamp.before.max.ms", atLeast(b.LogMessageTimestampBeforeMaxMs, 0))
	bad("log.message.timestamp.after.max.ms", atLeast(b.LogMessageTimestampAfterMaxMs, 0))
	bad("log.flush.interval.messages", atLeast(b.LogFlushIntervalMessages, 1))
	bad("replica.fetch.max.bytes", atLeast(b.ReplicaFetchMaxBytes, 0))
	bad("num.replica.fetchers", atLeast(b.NumReplicaFetchers, 1))
	bad("replica.fetch.response.max.bytes", atLeast(b.ReplicaFetchResponseMaxBytes, 0))
	bad("replica.fetch.backoff.ms", atLeast(b.ReplicaFetchBackoffMs, 0))
	bad("group.initial.rebalance.delay.ms", atLeast(b.GroupInitialRebalanceDelayMs, 0))
	bad("group.max.size", atLeast(b.GroupMaxSize, 1))
	if b.GroupMaxSessionTimeoutMs < b.GroupMinSessionTimeoutMs {
		badf("group.max.session.timeout.ms", "%d is less than group.min.session.timeout.ms %d", b.GroupMaxSessionTimeoutMs, b.GroupMinSessionTimeoutMs)
	}
	b.validateConsumerGroups(bad, badf)
	b.validateShareGroups(bad, badf)
	bad("offsets.topic.num.partitions", atLeast(b.OffsetsTopicNumPartitions, 1))
	bad("offsets.topic.replication.factor", atLeast(b.OffsetsTopicReplicationFactor, 1))
	bad("share.coordinator.state.topic.replication.factor", atLeast(b.ShareCoordinatorStateTopicReplicationFactor, 1))
	bad("offsets.topic.segment.bytes", atLeast(b.OffsetsTopicSegmentBytes, 1))
	bad("offsets.retention.minutes", atLeast(b.OffsetsRetentionMinutes, 1))
	bad("offsets.retention.check.interval.ms", atLeast(b.OffsetsRetentionCheckIntervalMs, 1))
	bad("transaction.state.log.num.partitions", atLeast(b.TransactionStateLogNumPartitions, 1))
	bad("transaction.state.log.replication.factor", atLeast(b.TransactionStateLogReplicationFactor, 1))
	bad("transaction.state.log.segment.bytes", atLeast(b.TransactionStateLogSegmentBytes, 1))
	bad("transaction.max.timeout.ms", atLeast(b.TransactionMaxTimeoutMs, 1))
	bad("transactional.id.expiration.ms", atLeast(b.TransactionalIDExpirationMs, 1))
	bad("transaction.abort.timed.out.transaction.cleanup.interval.ms", atLeast(b.TransactionAbortTimedOutTransactionCleanupIntervalMs, 1))
	bad("transaction.remove.expired.transaction.cleanup.interval.ms", atLeast(b.TransactionRemoveExpiredTransactionCleanupIntervalMs, 1))
	for _, l := range b.AdminListeners {
		if l.Name != "HTTP" {
			badf("admin.listeners", "%s is not an http:// listener", l)
		}
	}
	bad("lag.window.size", atLeast(b.LagWindowSize, 2))
	bad("quota.window.num", atLeast(b.QuotaWindowNum, 1))
	bad("quota.window.size.seconds", atLeast(b.QuotaWindowSizeSeconds, 1))
	bad("max.connections", atLeast(b.MaxConnections, 0))
	bad("max.connections.per.ip", atLeast(b.MaxConnectionsPerIP, 0))
	if int64(b.ReplicaFetchWaitMaxMs) > b.ReplicaLagTimeMaxMs {
		badf("replica.fetch.wait.max.ms", "%d is more than replica.lag.time.max.ms %d", b.ReplicaFetchWaitMaxMs, b.ReplicaLagTimeMaxMs)
	}
	return errors.Join(errs...)
}

// validateConsumerGroups checks the group.consumer.* settings as Kafka's GroupCoordinatorConfig
// does: each value positive, the session timeout and heartbeat interval within their bounds,
// the interval below the session timeout, and assignors Gregor has.
// validateShareGroups checks the group.share.* settings with Kafka's ranges.
func (b *Broker) validateShareGroups(bad func(string, error), badf func(string, string, ...any)) {
	bad("group.share.session.timeout.ms", atLeast(b.GroupShareSessionTimeoutMs, 1))
	bad("group.share.heartbeat.interval.ms", atLeast(b.GroupShareHeartbeatIntervalMs, 1))
	bad("group.share.max.size", atLeast(b.GroupShareMaxSize, 1))
	bad("group.share.record.lock.duration.ms", atLeast(b.GroupShareRecordLockDurationMs, 1))
	bad("group.share.partition.max.record.locks", atLeast(b.GroupSharePartitionMaxRecordLocks, 1))
	if n := b.GroupShareDeliveryCountLimit; n < 2 || n > 10 {
		badf("group.share.delivery.count.limit", "%d is outside [2, 10]", n)
	}
	if b.GroupShareHeartbeatIntervalMs >= b.GroupShareSessionTimeoutMs {
		badf("group.share.heartbeat.interval.ms", "%d must be less than group.share.session.timeout.ms %d",
			b.GroupShareHeartbeatIntervalMs, b.GroupShareSessionTimeoutMs)
	}
	if r := b.GroupShareAutoOffsetReset; r != "latest" && r != "earliest" {
		badf("group.share.auto.offset.reset", "%q is not latest or earliest", r)
	}
}

func (b *Broker) validateConsumerGroups(bad func(string, error), badf func(string, string, ...any)) {
	bad("group.consumer.session.timeout.ms", atLeast(b.GroupConsumerSessionTimeoutMs, 1))
	bad("group.consumer.min.session.timeout.ms", atLeast(b.GroupConsumerMinSessionTimeoutMs, 1))
	bad("group.consumer.max.session.timeout.ms", atLeast(b.GroupConsumerMaxSessionTimeoutMs, 1))
	bad("group.consumer.heartbeat.interval.ms", atLeast(b.GroupConsumerHeartbeatIntervalMs, 1))
	bad("group.consumer.min.heartbeat.interval.ms", atLeast(b.GroupConsumerMinHeartbeatIntervalMs, 1))
	bad("group.consumer.max.heartbeat.interval.ms", atLeast(b.GroupConsumerMaxHeartbeatIntervalMs, 1))
	bad("group.consumer.max.size", atLeast(b.GroupConsumerMaxSize, 1))
	if s := b.GroupConsumerSessionTimeoutMs; s < b.GroupConsumerMinSessionTimeoutMs || s > b.GroupConsumerMaxSessionTimeoutMs {
		badf("group.consumer.session.timeout.ms", "%d is outside group.consumer.min.session.timeout.ms %d and group.consumer.max.session.timeout.ms %d",
			s, b.GroupConsumerMinSessionTimeoutMs, b.GroupConsumerMaxSessionTimeoutMs)
	}
	if h := b.GroupConsumerHeartbeatIntervalMs; h < b.GroupConsumerMinHeartbeatIntervalMs || h > b.GroupConsumerMaxHeartbeatIntervalMs {
		badf("group.consumer.heartbeat.interval.ms", "%d is outside group.consumer.min.heartbeat.interval.ms %d and group.consumer.max.heartbeat.interval.ms %d",
			h, b.GroupConsumerMinHeartbeatIntervalMs, b.GroupConsumerMaxHeartbeatIntervalMs)
	}
	if b.GroupConsumerHeartbeatIntervalMs >= b.GroupConsumerSessionTimeoutMs {
		badf("group.consumer.heartbeat.interval.ms", "%d must be less than group.consumer.session.timeout.ms %d",
			b.GroupConsumerHeartbeatIntervalMs, b.GroupConsumerSessionTimeoutMs)
	}
	_, err := listOf(b.GroupConsumerAssignors, "uniform", "range")
	bad("group.consumer.assignors", err)
	names := splitList(b.GroupConsumerAssignors)
	if len(names) == 0 {
		badf("group.consumer.assignors", "must name at least one assignor")
	}
	for i, n := range names {
		if slices.Contains(names[:i], n) {
			badf("group.consumer.assignors", "%q is listed twice", n)
		}
	}
}
