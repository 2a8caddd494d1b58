package config

import "strings"

// knownBrokerKey reports whether key is a broker config Kafka knows (and Gregor does not
// implement: brokerKeys is checked first). The list follows Kafka 3.x/4.x's KafkaConfig and
// the config classes it gathers (ServerConfigs, ServerLogConfigs, SocketServerConfigs,
// ReplicationConfigs, KRaftConfigs, QuorumConfig, GroupCoordinatorConfig,
// TransactionLogConfig, CleanerConfig, RemoteLogManagerConfig, QuotaConfig, SSL and SASL
// configs), with the ZooKeeper-era keys that old server.properties files still carry.
func knownBrokerKey(key string) bool {
	if knownBrokerKeys[key] {
		return true
	}
	for _, p := range knownBrokerPrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// knownBrokerPrefixes start families of keys: per-listener overrides
// (listener.name.<name>.<config>), plugin configs and config providers.
var knownBrokerPrefixes = []string{
	"listener.name.",
	"config.providers.",
	"rsm.config.",
	"rlmm.config.",
	"metric.reporters.",
	"kafka.metrics.",
	"sasl.login.",
	"sasl.oauthbearer.",
	"sasl.kerberos.",
	"ssl.",
	"zookeeper.",
	"remote.log.",
	"log.cleaner.",
	"group.consumer.",
	"group.share.",
	"group.streams.",
	"share.coordinator.",
	"controller.quorum.",
	"metadata.log.",
	"metadata.max.",
	"transaction.",
	"offsets.",
	"quota.",
	"confluent.", // Confluent Platform's own keys, common in copied files
}

var knownBrokerKeys = setOf(
	// Server basics and threads.
	"background.threads", "num.io.threads", "num.network.threads", "num.recovery.threads.per.data.dir",
	"num.replica.alter.log.dirs.threads", "queued.max.requests", "queued.max.request.bytes",
	"request.timeout.ms", "server.max.startup.time.ms", "reserved.broker.max.id",
	"broker.id.generation.enable", "broker.heartbeat.interval.ms", "broker.session.timeout.ms",
	"initial.broker.registration.timeout.ms", "controlled.shutdown.enable",
	"controlled.shutdown.max.retries", "controlled.shutdown.retry.backoff.ms",
	"unstable.api.versions.enable", "unstable.feature.versions.enable", "inter.broker.protocol.version",
	"log.message.format.version", "eligible.leader.replicas.enable", "telemetry.max.bytes",
	"early.start.listeners", "control.plane.listener.name", "metadata.max.idle.interval.ms",
	"node.id.generation.enable", "auto.include.jmx.reporter", "config.providers",
	"create.topic.policy.class.name", "alter.config.policy.class.name", "client.quota.callback.class",
	"replica.selector.class", "principal.builder.class", "security.providers",

	// Sockets and connections.
	"socket.send.buffer.bytes", "socket.receive.buffer.bytes", "socket.listen.backlog.size",
	"socket.connection.setup.timeout.ms", "socket.connection.setup.timeout.max.ms",
	"connections.max.idle.ms", "connections.max.reauth.ms", "connection.failed.authentication.delay.ms",
	"max.connections", "max.connections.per.ip", "max.connections.per.ip.overrides",
	"max.connection.creation.rate", "fetch.max.bytes", "max.incremental.fetch.session.cache.slots",
	"max.request.partition.size.limit",

	// Log (the broker-level synonyms of topic configs, and log manager settings).
	"log.roll.ms", "log.roll.hours", "log.roll.jitter.ms", "log.roll.jitter.hours",
	"log.retention.check.interval.ms", "log.segment.delete.delay.ms", "log.flush.interval.messages",
	"log.flush.interval.ms", "log.flush.scheduler.interval.ms", "log.flush.offset.checkpoint.interval.ms",
	"log.flush.start.offset.checkpoint.interval.ms", "log.preallocate",
	"log.message.timestamp.difference.max.ms", "log.message.timestamp.before.max.ms",
	"log.message.timestamp.after.max.ms", "log.message.downconversion.enable",
	"log.dir.failure.timeout.ms", "log.initial.task.delay.ms", "log.local.retention.ms",
	"log.local.retention.bytes", "unclean.leader.election.enable", "unclean.leader.election.interval.ms",
	"compression.gzip.level", "compression.lz4.level", "compression.zstd.level",

	// Replication.
	"replica.socket.timeout.ms",
	"replica.socket.receive.buffer.bytes", "replica.high.watermark.checkpoint.interval.ms",
	"replica.alter.log.dirs.io.max.bytes.per.second", "auto.leader.rebalance.enable",
	"leader.imbalance.check.interval.seconds", "leader.imbalance.per.broker.percentage",
	"controller.socket.timeout.ms", "fetch.purgatory.purge.interval.requests",
	"producer.purgatory.purge.interval.requests", "delete.records.purgatory.purge.interval.requests",
	"share.fetch.purgatory.purge.interval.requests", "follower.replication.throttled.rate",
	"leader.replication.throttled.rate", "follower.replication.throttled.replicas",
	"leader.replication.throttled.replicas",

	// KRaft controller.
	"controller.quorum.bootstrap.servers", "controller.quorum.election.timeout.ms",
	"controller.quorum.fetch.timeout.ms", "controller.quorum.election.backoff.max.ms",
	"controller.quorum.append.linger.ms", "controller.quorum.request.timeout.ms",
	"controller.quorum.retry.backoff.ms", "controller.quorum.auto.join.enable",
	"controller.quota.window.num", "controller.quota.window.size.seconds",
	"controller.performance.sample.period.ms", "controller.performance.always.log.threshold.ms",
	"metadata.log.segment.bytes", "metadata.log.segment.min.bytes", "metadata.log.segment.ms",
	"metadata.log.max.record.bytes.between.snapshots", "metadata.log.max.snapshot.interval.ms",
	"metadata.max.retention.bytes", "metadata.max.retention.ms",

	// Groups, offsets, transactions, producer ids.
	"group.initial.rebalance.delay.ms", "group.min.session.timeout.ms", "group.max.session.timeout.ms",
	"group.max.size", "group.coordinator.rebalance.protocols", "group.coordinator.threads",
	"group.coordinator.append.linger.ms", "group.coordinator.new.enable", "offset.metadata.max.bytes",
	"offsets.topic.replication.factor", "offsets.topic.num.partitions", "offsets.topic.segment.bytes",
	"offsets.topic.compression.codec", "offsets.load.buffer.size", "offsets.retention.minutes",
	"offsets.retention.check.interval.ms", "offsets.commit.timeout.ms",
	"offsets.commit.required.acks", "transaction.state.log.replication.factor",
	"transaction.state.log.num.partitions", "transaction.state.log.min.isr",
	"transaction.state.log.segment.bytes", "transaction.state.log.load.buffer.size",
	"transaction.max.timeout.ms", "transactional.id.expiration.ms",
	"transaction.abort.timed.out.transaction.cleanup.interval.ms",
	"transaction.remove.expired.transaction.cleanup.interval.ms",
	"transaction.partition.verification.enable", "transaction.two.phase.commit.enable",
	"producer.id.expiration.ms", "producer.id.expiration.check.interval.ms",
	"consumer.heartbeat.interval.ms", "consumer.session.timeout.ms",
	"share.heartbeat.interval.ms", "share.session.timeout.ms", "share.record.lock.duration.ms",
	"share.fetch.max.fetch.records",

	// Quotas.
	"quota.window.num", "quota.window.size.seconds", "replication.quota.window.num",
	"replication.quota.window.size.seconds", "alter.log.dirs.replication.quota.window.num",
	"alter.log.dirs.replication.quota.window.size.seconds", "producer_byte_rate",
	"consumer_byte_rate", "request_percentage", "controller_mutation_rate", "connection_creation_rate",

	// Security.
	"authorizer.class.name", "super.users", "allow.everyone.if.no.acl.found",
	"sasl.enabled.mechanisms", "sasl.mechanism.inter.broker.protocol", "sasl.jaas.config",
	"sasl.server.callback.handler.class", "sasl.server.max.receive.size",
	"sasl.client.callback.handler.class", "sasl.login.class", "sasl.login.callback.handler.class",
	"ssl.principal.mapping.rules", "delegation.token.secret.key", "delegation.token.master.key",
	"delegation.token.max.lifetime.ms", "delegation.token.expiry.time.ms",
	"delegation.token.expiry.check.interval.ms", "password.encoder.secret",
	"password.encoder.old.secret", "password.encoder.keyfactory.algorithm",
	"password.encoder.cipher.algorithm", "password.encoder.key.length",
	"password.encoder.iterations",

	// Metrics.
	"metric.reporters", "metrics.num.samples", "metrics.recording.level", "metrics.sample.window.ms",
	"kafka.metrics.reporters", "kafka.metrics.polling.interval.secs",

	// ZooKeeper mode, gone in Kafka 4 but still in many files.
	"zookeeper.connect", "zookeeper.connection.timeout.ms", "zookeeper.session.timeout.ms",
	"zookeeper.set.acl", "zookeeper.max.in.flight.requests", "zookeeper.metadata.migration.enable",
	"host.name", "port", "advertised.host.name", "advertised.port",
)

func setOf(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}
