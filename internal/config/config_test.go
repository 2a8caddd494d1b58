package config

import (
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestDefaultIsValid(t *testing.T) {
	b := Default()
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	// Loading nothing gives the defaults, derived ones included.
	if !reflect.DeepEqual(loaded, b) {
		t.Fatalf("Load(nil) = %+v\nDefault() = %+v", loaded, b)
	}
	if b.MessageMaxBytes != 1048588 || b.SocketRequestMaxBytes != 104857600 || b.LogSegmentBytes != 1<<30 ||
		b.LogIndexSizeMaxBytes != 10485760 || b.LogIndexIntervalBytes != 4096 || b.LogRetentionMs != 604800000 {
		t.Fatalf("defaults differ from Kafka's: %+v", b)
	}
	if l, ok := b.Advertised("plaintext"); !ok || l != (Listener{"PLAINTEXT", "localhost", 9092}) {
		t.Fatalf("Advertised(plaintext) = %v, %v", l, ok)
	}
	if _, ok := b.Advertised("CONTROLLER"); ok {
		t.Fatal("controller listener advertised by default")
	}
	if b.MetadataDir() != "./gregor-data" {
		t.Fatal(b.MetadataDir())
	}
}

func TestLoadKRaftSample(t *testing.T) {
	f, err := os.Open("testdata/kraft-server.properties")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	props, err := ParseProperties(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(props)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Raw = props
	want.ControllerQuorumVoters = "1@localhost:9093"
	want.AdvertisedListeners = []Listener{{"PLAINTEXT", "localhost", 9092}, {"CONTROLLER", "localhost", 9093}}
	want.LogDirs = []string{"/tmp/kraft-combined-logs"}
	want.OffsetsTopicReplicationFactor = 1
	want.TransactionStateLogReplicationFactor = 1
	want.ShareCoordinatorStateTopicReplicationFactor = 1
	want.Ignored = []string{
		"num.io.threads", "num.network.threads",
		"num.recovery.threads.per.data.dir",
		"share.coordinator.state.topic.min.isr",
		"socket.receive.buffer.bytes", "socket.send.buffer.bytes",
		"transaction.state.log.min.isr",
	}
	if !reflect.DeepEqual(b, want) {
		t.Fatalf("got  %+v\nwant %+v", b, want)
	}
	if got := b.QuorumVoters(); !reflect.DeepEqual(got, []Voter{{1, "localhost", 9093}}) {
		t.Fatalf("voters %+v", got)
	}
}

func TestLoadZooKeeperEraFile(t *testing.T) {
	f, err := os.Open("testdata/zk-era-server.properties")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	props, err := ParseProperties(f)
	if err != nil {
		t.Fatal(err)
	}
	// As in Kafka 4, a file without KRaft settings does not start a controller...
	if _, err := Load(props); err == nil || !strings.Contains(err.Error(), "controller.listener.names: CONTROLLER is not in listeners") {
		t.Fatalf("want a controller listener error, got %v", err)
	}
	// ...until it says how this node finds its controllers.
	props["process.roles"] = "broker"
	props["controller.quorum.voters"] = "1@ctl-1:9093,2@ctl-2:9093,4@ctl-3:9093"
	b, err := Load(props)
	if err != nil {
		t.Fatal(err)
	}
	if b.NodeID != 3 || !slices.Equal(b.LogDirs, []string{"/var/lib/kafka/data-1", "/var/lib/kafka/data-2"}) ||
		b.LogRetentionMs != 72*3600*1000 || b.AutoCreateTopicsEnable || b.DefaultReplicationFactor != 3 ||
		b.MinInsyncReplicas != 2 || b.MessageMaxBytes != 2097152 || b.CompressionType != "zstd" {
		t.Fatalf("%+v", b)
	}
	if l, _ := b.Advertised("PLAINTEXT"); l.Host != "kafka-3.example.com" {
		t.Fatalf("advertised %+v", l)
	}
	if !slices.Equal(b.Ignored, []string{"zookeeper.connect", "zookeeper.connection.timeout.ms"}) {
		t.Fatalf("ignored %v", b.Ignored)
	}
	td := b.TopicDefaults()
	if td.MinInsyncReplicas != 2 || td.MaxMessageBytes != 2097152 || td.RetentionMs != 72*3600*1000 || td.CompressionType != "zstd" {
		t.Fatalf("topic defaults %+v", td)
	}
}

func TestLoadSettings(t *testing.T) {
	for _, tc := range []struct {
		name  string
		props map[string]string
		check func(b Broker) bool
	}{
		{"values are trimmed", map[string]string{"num.partitions": " 6 ", "auto.create.topics.enable": "FALSE"},
			func(b Broker) bool { return b.NumPartitions == 6 && !b.AutoCreateTopicsEnable }},
		{"log.dirs wins over log.dir", map[string]string{"log.dir": "/a", "log.dirs": "/b,/c"},
			func(b Broker) bool { return slices.Equal(b.LogDirs, []string{"/b", "/c"}) }},
		{"log.flush.interval.messages is flush.messages's default", map[string]string{"log.flush.interval.messages": "1"},
			func(b Broker) bool { return b.TopicDefaults().FlushMessages == 1 }},
		{"log.dir alone", map[string]string{"log.dir": "/a"},
			func(b Broker) bool { return slices.Equal(b.LogDirs, []string{"/a"}) && b.MetadataDir() == "/a" }},
		{"metadata.log.dir", map[string]string{"metadata.log.dir": "/meta"},
			func(b Broker) bool { return b.MetadataDir() == "/meta" }},
		{"retention ms over minutes over hours", map[string]string{"log.retention.ms": "1000", "log.retention.minutes": "5", "log.retention.hours": "1"},
			func(b Broker) bool { return b.LogRetentionMs == 1000 }},
		{"retention minutes over hours", map[string]string{"log.retention.minutes": "5", "log.retention.hours": "1"},
			func(b Broker) bool { return b.LogRetentionMs == 300000 }},
		{"negative retention is forever", map[string]string{"log.retention.hours": "-5"},
			func(b Broker) bool { return b.LogRetentionMs == -1 }},
		{"broker.id stands for node.id", map[string]string{"broker.id": "7", "controller.quorum.voters": "7@localhost:9093"},
			func(b Broker) bool { return b.NodeID == 7 }},
		{"advertised derived from listeners", map[string]string{"listeners": "PLAINTEXT://:19092,CONTROLLER://127.0.0.1:19093"},
			func(b Broker) bool {
				return slices.Equal(b.AdvertisedListeners, []Listener{{"PLAINTEXT", "localhost", 19092}})
			}},
		{"listener names upper-cased", map[string]string{
			"listeners":                      "internal://:9092,ctl://[::1]:9093",
			"listener.security.protocol.map": "internal:plaintext,ctl:plaintext",
			"controller.listener.names":      "ctl",
			"inter.broker.listener.name":     "internal",
		}, func(b Broker) bool {
			return b.Listeners[1] == (Listener{"CTL", "::1", 9093}) && b.InterBrokerListenerName == "INTERNAL"
		}},
		{"security.inter.broker.protocol names the listener", map[string]string{
			"listeners":                      "SSL://:9093,CONTROLLER://:9094",
			"security.inter.broker.protocol": "ssl",
		}, func(b Broker) bool { return b.InterBrokerListenerName == "SSL" }},
		{"broker-only with voters", map[string]string{
			"process.roles": "broker", "node.id": "4", "listeners": "PLAINTEXT://:9092",
			"controller.quorum.voters": "1@c1:9093",
		}, func(b Broker) bool { return !b.HasRole("controller") }},
		{"controller-only", map[string]string{
			"process.roles": "controller", "listeners": "CONTROLLER://:9093", "advertised.listeners": "CONTROLLER://c1:9093",
		}, func(b Broker) bool { return !b.HasRole("broker") }},
		{"listener-prefixed keys are known", map[string]string{"listener.name.plaintext.ssl.engine.factory.class": "x"},
			func(b Broker) bool {
				return slices.Equal(b.Ignored, []string{"listener.name.plaintext.ssl.engine.factory.class"})
			}},
		{"security keys are implemented", map[string]string{
			"listener.name.sasl_ssl.ssl.keystore.location": "/x", "ssl.client.auth": "required",
			"listener.name.sasl_plaintext.plain.sasl.jaas.config": "m required;",
			"ssl.truststore.password":                             "x", "sasl.oauthbearer.jwks.endpoint.url": "file:///k.json",
			"listener.name.sasl_ssl.oauthbearer.sasl.jaas.config":                 "m required;",
			"listener.name.sasl_ssl.oauthbearer.sasl.oauthbearer.expected.issuer": "i",
			"listener.name.sasl_ssl.oauthbearer.connections.max.reauth.ms":        "1000",
			"listener.name.sasl_ssl.connections.max.reauth.ms":                    "2000",
		}, func(b Broker) bool { return len(b.Ignored) == 0 && b.Raw["ssl.client.auth"] == "required" }},
		{"replica settings", map[string]string{"replica.fetch.wait.max.ms": "100", "replica.lag.time.max.ms": "10000", "num.replica.fetchers": "4"},
			func(b Broker) bool {
				return b.ReplicaFetchWaitMaxMs == 100 && b.ReplicaLagTimeMaxMs == 10000 && b.NumReplicaFetchers == 4
			}},
		{"message.max.bytes 0", map[string]string{"message.max.bytes": "0"},
			func(b Broker) bool { return b.MessageMaxBytes == 0 }},
		{"segment bytes minimum", map[string]string{"log.segment.bytes": "14"},
			func(b Broker) bool { return b.LogSegmentBytes == 14 }},
		{"group coordinator settings", map[string]string{
			"group.min.session.timeout.ms": "100", "group.max.session.timeout.ms": "200",
			"group.initial.rebalance.delay.ms": "0", "group.max.size": "5",
			"offsets.topic.num.partitions": "3", "offsets.topic.replication.factor": "1",
			"offsets.topic.segment.bytes": "1024", "offsets.retention.minutes": "1",
			"offsets.retention.check.interval.ms": "10", "offset.metadata.max.bytes": "16",
		}, func(b Broker) bool {
			return b.GroupMinSessionTimeoutMs == 100 && b.GroupMaxSessionTimeoutMs == 200 &&
				b.GroupInitialRebalanceDelayMs == 0 && b.GroupMaxSize == 5 && b.OffsetsTopicNumPartitions == 3 &&
				b.OffsetsTopicReplicationFactor == 1 && b.OffsetsTopicSegmentBytes == 1024 &&
				b.OffsetsRetentionMinutes == 1 && b.OffsetsRetentionCheckIntervalMs == 10 && b.OffsetMetadataMaxBytes == 16
		}},
		{"consumer group settings", map[string]string{
			"group.consumer.session.timeout.ms": "1000", "group.consumer.min.session.timeout.ms": "500",
			"group.consumer.heartbeat.interval.ms": "100", "group.consumer.min.heartbeat.interval.ms": "50",
			"group.consumer.max.size": "7", "group.consumer.assignors": "range, uniform",
		}, func(b Broker) bool {
			return b.GroupConsumerSessionTimeoutMs == 1000 && b.GroupConsumerMinSessionTimeoutMs == 500 &&
				b.GroupConsumerHeartbeatIntervalMs == 100 && b.GroupConsumerMinHeartbeatIntervalMs == 50 &&
				b.GroupConsumerMaxSize == 7 && b.GroupConsumerAssignors == "range,uniform"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Load(tc.props)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(b) {
				t.Fatalf("%+v", b)
			}
			if !maps.Equal(b.Raw, tc.props) {
				t.Fatalf("raw %v", b.Raw)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"foo.bar": "1"}, `config: unknown key "foo.bar"`},
		{map[string]string{"log.segment.bytes": "abc"}, `config: log.segment.bytes: "abc" is not a number`},
		{map[string]string{"log.segment.bytes": "13"}, `config: log.segment.bytes: 13 is not between 14 and 2147483647`},
		{map[string]string{"log.segment.bytes": "4294967296"}, `config: log.segment.bytes: "4294967296" is out of range for a 32-bit number`},
		{map[string]string{"message.max.bytes": "-1"}, `config: message.max.bytes: -1 is less than the minimum 0`},
		{map[string]string{"node.id": "-1"}, `config: node.id: -1 is less than the minimum 0`},
		{map[string]string{"num.partitions": "0"}, `config: num.partitions: 0 is less than the minimum 1`},
		{map[string]string{"default.replication.factor": "40000"}, `config: default.replication.factor: 40000 is out of range for a 16-bit number`},
		{map[string]string{"socket.request.max.bytes": "0"}, `config: socket.request.max.bytes: 0 is less than the minimum 1`},
		{map[string]string{"log.index.size.max.bytes": "3"}, `config: log.index.size.max.bytes: 3 is less than the minimum 4`},
		{map[string]string{"log.index.interval.bytes": "-1"}, `config: log.index.interval.bytes: -1 is less than the minimum 0`},
		{map[string]string{"auto.create.topics.enable": "yes"}, `config: auto.create.topics.enable: "yes" is not true or false`},
		{map[string]string{"log.message.timestamp.type": "createtime"}, `config: log.message.timestamp.type: "createtime" is not one of CreateTime, LogAppendTime`},
		{map[string]string{"log.cleanup.policy": "delete,shred"}, `config: log.cleanup.policy: "delete,shred": item "shred" is not one of compact, delete`},
		{map[string]string{"compression.type": "brotli"}, `config: compression.type: "brotli" is not one of`},
		{map[string]string{"min.insync.replicas": "0"}, `config: min.insync.replicas: 0 is less than the minimum 1`},
		{map[string]string{"log.retention.ms": "0"}, `config: log.retention.ms: must be -1 (forever) or at least 1, not 0`},
		{map[string]string{"replica.fetch.wait.max.ms": "40000"}, `config: replica.fetch.wait.max.ms: 40000 is more than replica.lag.time.max.ms 30000`},
		{map[string]string{"listeners": "PLAINTEXT:9092"}, `config: listeners: "PLAINTEXT:9092" is not NAME://host:port`},
		{map[string]string{"listeners": "PLAINTEXT://:99999"}, `port "99999" is not a number in 0..65535`},
		{map[string]string{"listeners": "PLAINTEXT://::1:9092"}, `an IPv6 host must be in brackets`},
		{map[string]string{"listeners": "PLAINTEXT://:9092,PLAINTEXT://:9094"}, `listener name PLAINTEXT is used more than once`},
		{map[string]string{"listeners": "PLAINTEXT://:9092,CONTROLLER://:9093,FOO://:9094"}, `listener.security.protocol.map: has no entry for listener FOO`},
		{map[string]string{"listener.security.protocol.map": "PLAINTEXT:TLS"}, `unknown security protocol "TLS"`},
		{map[string]string{"listener.security.protocol.map": "PLAINTEXT:PLAINTEXT"}, `has no entry for listener CONTROLLER`},
		{map[string]string{"advertised.listeners": "SSL://h:9093"}, `advertised.listeners: listener SSL is not in listeners`},
		{map[string]string{"advertised.listeners": "PLAINTEXT://0.0.0.0:9092"}, `non-routable address 0.0.0.0`},
		{map[string]string{"inter.broker.listener.name": "SSL"}, `inter.broker.listener.name: SSL is not in advertised.listeners`},
		{map[string]string{"inter.broker.listener.name": "PLAINTEXT", "security.inter.broker.protocol": "PLAINTEXT"}, `set only one of`},
		{map[string]string{"process.roles": ""}, `process.roles: must name broker, controller or both`},
		{map[string]string{"process.roles": "broker,zookeeper"}, `"zookeeper" is not broker or controller`},
		{map[string]string{"process.roles": "broker", "controller.quorum.voters": "1@c:9093"}, `voter but not a controller`},
		{map[string]string{"process.roles": "broker", "listeners": "PLAINTEXT://:9092"}, `a broker-only node must be told its controllers`},
		{map[string]string{"process.roles": "broker", "controller.quorum.voters": "2@c:9093"}, `CONTROLLER is in listeners, and this node is not a controller`},
		{map[string]string{"controller.quorum.voters": "2@c:9093"}, `node 1 is a controller but not a voter`},
		{map[string]string{"controller.quorum.voters": "1@c"}, `config: controller.quorum.voters: "1@c" is not id@host:port`},
		{map[string]string{"controller.quorum.voters": "x@c:1"}, `"x" is not a node id`},
		{map[string]string{"controller.quorum.voters": "1@a:1,1@b:2"}, `voter id 1 appears more than once`},
		{map[string]string{"controller.listener.names": ""}, `controller.listener.names: must name at least one listener`},
		{map[string]string{"broker.id": "2", "node.id": "3"}, `broker.id: 2 differs from node.id 3`},
		{map[string]string{"log.dirs": " , "}, `log.dirs: has an empty directory name`},
		{map[string]string{"log.dirs": ""}, `log.dirs: must name at least one directory`},
		{map[string]string{"group.max.session.timeout.ms": "5000"}, `group.max.session.timeout.ms: 5000 is less than group.min.session.timeout.ms 6000`},
		{map[string]string{"group.max.size": "0"}, `config: group.max.size: 0 is less than the minimum 1`},
		{map[string]string{"group.initial.rebalance.delay.ms": "-1"}, `group.initial.rebalance.delay.ms: -1 is less than the minimum 0`},
		{map[string]string{"group.consumer.session.timeout.ms": "1000"}, `group.consumer.session.timeout.ms: 1000 is outside group.consumer.min.session.timeout.ms 45000 and group.consumer.max.session.timeout.ms 60000`},
		{map[string]string{"group.consumer.heartbeat.interval.ms": "20000"}, `group.consumer.heartbeat.interval.ms: 20000 is outside`},
		{map[string]string{"group.consumer.session.timeout.ms": "1000", "group.consumer.min.session.timeout.ms": "1000",
			"group.consumer.heartbeat.interval.ms": "1000", "group.consumer.min.heartbeat.interval.ms": "1000"},
			`group.consumer.heartbeat.interval.ms: 1000 must be less than group.consumer.session.timeout.ms 1000`},
		{map[string]string{"group.consumer.max.size": "0"}, `group.consumer.max.size: 0 is less than the minimum 1`},
		{map[string]string{"group.consumer.assignors": "uniform,sticky"}, `group.consumer.assignors: "uniform,sticky": item`},
		{map[string]string{"group.consumer.assignors": "range,range"}, `group.consumer.assignors: "range" is listed twice`},
		{map[string]string{"group.consumer.assignors": ""}, `group.consumer.assignors: must name at least one assignor`},
		{map[string]string{"offsets.topic.num.partitions": "0"}, `offsets.topic.num.partitions: 0 is less than the minimum 1`},
		{map[string]string{"offsets.topic.replication.factor": "0"}, `offsets.topic.replication.factor: 0 is less than the minimum 1`},
		{map[string]string{"offsets.retention.minutes": "0"}, `offsets.retention.minutes: 0 is less than the minimum 1`},
	} {
		t.Run(tc.want, func(t *testing.T) {
			_, err := Load(tc.props)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load(%v) = %v, want %q", tc.props, err, tc.want)
			}
		})
	}
}

func TestLoadReportsEveryError(t *testing.T) {
	_, err := Load(map[string]string{"a.b": "1", "num.partitions": "x", "c.d": "2"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`unknown key "a.b"`, `unknown key "c.d"`, `num.partitions: "x" is not a number`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q missing from %v", want, err)
		}
	}
}

func TestParseListeners(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Listener
	}{
		{"", nil},
		{"PLAINTEXT://:9092", []Listener{{"PLAINTEXT", "", 9092}}},
		{" PLAINTEXT://h1:1 , ssl://10.0.0.1:2 ", []Listener{{"PLAINTEXT", "h1", 1}, {"SSL", "10.0.0.1", 2}}},
		{"A://[fe80::1%eth0]:0", []Listener{{"A", "fe80::1%eth0", 0}}},
		{"B://my_host-1.example.com:65535", []Listener{{"B", "my_host-1.example.com", 65535}}},
	} {
		got, err := ParseListeners(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseListeners(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"://:1", "A://h", "A://h:x", "A://h:-1", "A://h h:1", "A://[::1:1", "A//h:1"} {
		if _, err := ParseListeners(bad); err == nil {
			t.Errorf("ParseListeners(%q) accepted", bad)
		}
	}
	l := Listener{"A", "::1", 9092}
	if l.String() != "A://[::1]:9092" || l.Addr() != "[::1]:9092" {
		t.Fatal(l.String(), l.Addr())
	}
}

func TestClusterKeys(t *testing.T) {
	b, err := Load(map[string]string{
		"listeners":                           "INTERNAL://:9092,CONTROLLER://:9093",
		"listener.security.protocol.map":      "INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT",
		"controller.quorum.bootstrap.servers": "a:9093, b:9093",
		"broker.session.timeout.ms":           "3000",
		"broker.heartbeat.interval.ms":        "500",
	})
	if err != nil {
		t.Fatal(err)
	}
	if b.InterBrokerListenerName != "INTERNAL" {
		t.Errorf("inter.broker.listener.name = %q, want the first non-controller listener", b.InterBrokerListenerName)
	}
	if len(b.ControllerQuorumBootstrapServers) != 2 || b.BrokerSessionTimeoutMs != 3000 || b.BrokerHeartbeatIntervalMs != 500 {
		t.Errorf("cluster keys: %+v %d %d", b.ControllerQuorumBootstrapServers, b.BrokerSessionTimeoutMs, b.BrokerHeartbeatIntervalMs)
	}
	if !b.AutoLeaderRebalanceEnable || b.LeaderImbalanceCheckIntervalSecs != 300 || b.LeaderImbalancePerBrokerPercentage != 10 {
		t.Errorf("leader rebalance defaults: %v %d %d", b.AutoLeaderRebalanceEnable, b.LeaderImbalanceCheckIntervalSecs, b.LeaderImbalancePerBrokerPercentage)
	}
	if _, err := Load(map[string]string{"broker.session.timeout.ms": "100", "broker.heartbeat.interval.ms": "200"}); err == nil {
		t.Error("a session timeout below the heartbeat interval was accepted")
	}
	if _, err := Load(map[string]string{"controller.quorum.bootstrap.servers": "nohostport"}); err == nil {
		t.Error("a bootstrap server without a port was accepted")
	}
}
