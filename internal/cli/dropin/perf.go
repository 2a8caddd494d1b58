package dropin

import (
	"fmt"

	"github.com/gregorhq/gregor/internal/cli/perf"
	"github.com/gregorhq/gregor/internal/cli/verify"
)

// kafka-producer-perf-test and kafka-consumer-perf-test, on "gregor perf";
// kafka-verifiable-producer and kafka-verifiable-consumer, on "gregor verify".
func init() {
	register(&tool{
		name: "kafka-producer-perf-test",
		opts: options{
			{"bootstrap-server", requiredValue, "host:port of a broker to connect to (or bootstrap.servers in --producer-props)"},
			{"topic", requiredValue, "topic to produce to"},
			{"num-records", requiredValue, "number of records to produce"},
			{"record-size", requiredValue, "record size in bytes"},
			{"payload-file", requiredValue, "file of payloads, one picked at random per record"},
			{"payload-delimiter", requiredValue, "delimiter of payloads in --payload-file (default a newline)"},
			{"throughput", requiredValue, "maximum records/sec; -1 for no limit"},
			{"producer-props", multiValue, "producer properties key=value ..."},
			{"producer.config", requiredValue, "producer properties file"},
			{"command-config", requiredValue, "the same as --producer.config"},
			{"print-metrics", noValue, "print the client's counters at the end"},
		},
		run: runProducerPerf,
	})
	register(&tool{
		name: "kafka-consumer-perf-test",
		opts: options{
			optBootstrapServer,
			{"broker-list", requiredValue, "the same as --bootstrap-server (Kafka's old flag set)"},
			{"topic", requiredValue, "topic to consume"},
			{"messages", requiredValue, "number of records to consume"},
			{"num-records", requiredValue, "the same as --messages"},
			{"group", requiredValue, "consumer group (default perf-consumer-N)"},
			{"fetch-size", requiredValue, "bytes to fetch per partition per request"},
			{"from-latest", noValue, "without a committed offset, start at the log end"},
			{"timeout", requiredValue, "stop after this many milliseconds without a record"},
			{"reporting-interval", requiredValue, "milliseconds between --show-detailed-stats lines"},
			{"show-detailed-stats", noValue, "print a line every reporting interval"},
			{"hide-header", noValue, "do not print the header"},
			{"print-metrics", noValue, "accepted; Gregor prints no client metrics here"},
			{"threads", requiredValue, "accepted and ignored, as in Kafka"},
			{"num-fetch-threads", requiredValue, "accepted and ignored, as in Kafka"},
			{"socket-buffer-size", requiredValue, "accepted and ignored"},
			{"consumer.config", requiredValue, "accepted and ignored"},
			{"command-config", requiredValue, "accepted and ignored"},
		},
		run: runConsumerPerf,
	})
	register(&tool{
		name: "kafka-verifiable-producer",
		opts: options{
			optBootstrapServer,
			optBrokerList,
			{"topic", requiredValue, "topic to produce to"},
			{"max-messages", requiredValue, "records to produce; -1 until interrupted"},
			{"throughput", requiredValue, "maximum records/sec; -1 for no limit"},
			{"acks", requiredValue, "-1 (all), 1 or 0"},
			{"value-prefix", requiredValue, "prefix values with this number and a dot"},
			{"repeating-keys", requiredValue, "key records 0..N-1 repeating"},
			{"message-create-time", requiredValue, "timestamp (ms) of the first record"},
			{"producer.config", requiredValue, "accepted and ignored"},
			{"command-config", requiredValue, "accepted and ignored"},
		},
		run: runVerifiableProducer,
	})
	register(&tool{
		name: "kafka-verifiable-consumer",
		opts: options{
			optBootstrapServer,
			optBrokerList,
			{"topic", requiredValue, "topic to consume"},
			{"group-id", requiredValue, "consumer group to join"},
			{"group-instance-id", requiredValue, "static member id"},
			{"group-protocol", requiredValue, "classic or consumer"},
			{"group-remote-assignor", requiredValue, "accepted; the broker's default assignor is used"},
			{"max-messages", requiredValue, "records to consume; -1 until interrupted"},
			{"enable-autocommit", noValue, "commit in the background instead of after each poll"},
			{"reset-policy", requiredValue, "earliest or latest"},
			{"assignment-strategy", requiredValue, "assignor class name (RangeAssignor, ...)"},
			{"session-timeout", requiredValue, "session timeout in milliseconds"},
			{"verbose", noValue, "print a record_data event per record"},
			{"consumer.config", requiredValue, "accepted and ignored"},
			{"command-config", requiredValue, "accepted and ignored"},
		},
		run: runVerifiableConsumer,
	})
}

// ignored tells the user which accepted options have no effect here.
func ignored(e *env, p *parsed, tool string, names ...string) {
	for _, n := range names {
		if p.has(n) {
			fmt.Fprintf(e.stderr, "Ignoring --%s: not supported by Gregor's %s.\n", n, tool)
		}
	}
}

func runProducerPerf(e *env, p *parsed) error {
	t, err := p.require("topic")
	if err != nil {
		return err
	}
	if !p.has("num-records") {
		return fmt.Errorf("Missing required argument \"[num-records]\"")
	}
	if !p.has("throughput") {
		return fmt.Errorf("Missing required argument \"[throughput]\"")
	}
	args := []string{"produce", "--topic", t}
	if p.has("bootstrap-server") {
		args = append(args, "--bootstrap-server", p.get("bootstrap-server"))
	}
	for _, o := range []string{"num-records", "record-size", "payload-file", "payload-delimiter", "throughput", "producer.config", "print-metrics"} {
		args = p.pass(args, o, o)
	}
	args = p.pass(args, "command-config", "producer.config")
	args = p.pass(args, "producer-props", "producer-props")
	return runModern(e, perf.NewCommand(), e.stdout, args)
}

func runConsumerPerf(e *env, p *parsed) error {
	bs, t, err := bootstrapAndTopic(p)
	if err != nil {
		return err
	}
	ignored(e, p, "kafka-consumer-perf-test", "print-metrics", "socket-buffer-size", "consumer.config", "command-config")
	args := []string{"consume", "--bootstrap-server", bs, "--topic", t}
	for _, o := range []string{"messages", "group", "fetch-size", "from-latest", "timeout", "reporting-interval", "show-detailed-stats", "hide-header"} {
		args = p.pass(args, o, o)
	}
	args = p.pass(args, "num-records", "messages")
	return runModern(e, perf.NewCommand(), e.stdout, args)
}

func runVerifiableProducer(e *env, p *parsed) error {
	bs, t, err := bootstrapAndTopic(p)
	if err != nil {
		return err
	}
	ignored(e, p, "kafka-verifiable-producer", "producer.config", "command-config")
	args := []string{"producer", "--bootstrap-server", bs, "--topic", t}
	for _, o := range []string{"max-messages", "throughput", "acks", "value-prefix", "repeating-keys", "message-create-time"} {
		args = p.pass(args, o, o)
	}
	return runModern(e, verify.NewCommand(), e.stdout, args)
}

func runVerifiableConsumer(e *env, p *parsed) error {
	bs, t, err := bootstrapAndTopic(p)
	if err != nil {
		return err
	}
	g, err := p.require("group-id")
	if err != nil {
		return err
	}
	ignored(e, p, "kafka-verifiable-consumer", "group-remote-assignor", "consumer.config", "command-config")
	args := []string{"consumer", "--bootstrap-server", bs, "--topic", t, "--group-id", g}
	for _, o := range []string{"group-instance-id", "group-protocol", "max-messages", "enable-autocommit", "reset-policy", "assignment-strategy", "session-timeout", "verbose"} {
		args = p.pass(args, o, o)
	}
	return runModern(e, verify.NewCommand(), e.stdout, args)
}
