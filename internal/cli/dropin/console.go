package dropin

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gregorhq/gregor/internal/cli/consume"
	"github.com/gregorhq/gregor/internal/cli/produce"
	"github.com/gregorhq/gregor/internal/cli/property"
)

// kafka-console-producer and kafka-console-consumer, on "gregor produce" and
// "gregor consume".
func init() {
	register(&tool{
		name: "kafka-console-producer",
		opts: options{
			optBootstrapServer,
			optBrokerList,
			{"topic", requiredValue, "topic to produce to"},
			{"property", requiredValue, "line reader property key=value (parse.key, key.separator, parse.headers, ...)"},
			{"reader-property", requiredValue, "the same as --property"},
			{"producer-property", requiredValue, "producer property key=value (acks, compression.type)"},
			{"compression-codec", optionalValue, "none, gzip (when no value is given), snappy, lz4 or zstd"},
			{"request-required-acks", requiredValue, "acks: -1 (all), 1 or 0"},
		},
		run: runProducer,
	})
	register(&tool{
		name: "kafka-console-consumer",
		opts: options{
			optBootstrapServer,
			{"topic", requiredValue, "topic to consume"},
			{"from-beginning", noValue, "start at the earliest record"},
			{"partition", requiredValue, "consume only this partition"},
			{"offset", requiredValue, "with --partition: earliest, latest or an offset"},
			{"group", requiredValue, "consumer group to join and commit for"},
			{"max-messages", requiredValue, "exit after this many records"},
			{"timeout-ms", requiredValue, "exit after this many milliseconds without a record"},
			{"property", requiredValue, "formatter property key=value (print.key, print.timestamp, key.separator, ...)"},
			{"formatter-property", requiredValue, "the same as --property"},
			{"consumer-property", requiredValue, "consumer property key=value (group.id, isolation.level)"},
			{"isolation-level", requiredValue, "read_uncommitted (the default) or read_committed"},
		},
		run: runConsumer,
	})
}

func runProducer(e *env, p *parsed) error {
	bs, t, err := bootstrapAndTopic(p)
	if err != nil {
		return err
	}
	args := []string{"--bootstrap-server", bs, "--topic", t}
	args = p.pass(args, "property", "property")
	args = p.pass(args, "reader-property", "property")
	props, err := property.Parse("producer-property", p.all("producer-property"), nil)
	if err != nil {
		return err
	}
	acks, codec := props["acks"], props["compression.type"]
	for k, v := range props {
		switch k {
		case "acks", "compression.type":
		case "enable.idempotence":
			args = append(args, "--idempotent="+v)
		case "partitioner.class":
			name, ok := partitionerClasses[v]
			if !ok {
				return fmt.Errorf("partitioner.class %s: Gregor's console producer knows %s", v, knownPartitionerClasses())
			}
			args = append(args, "--partitioner", name)
		default:
			fmt.Fprintf(e.stderr, "Ignoring producer property %s: Gregor's console producer sets only acks, compression.type, enable.idempotence and partitioner.class.\n", k)
		}
	}
	if p.has("request-required-acks") {
		acks = p.get("request-required-acks")
	}
	if p.has("compression-codec") {
		// Kafka's flag alone means gzip.
		if codec = p.get("compression-codec"); codec == "" {
			codec = "gzip"
		}
	}
	if acks != "" {
		args = append(args, "--acks", acks)
	}
	if codec != "" {
		args = append(args, "--compression", codec)
	}
	return runModern(e, produce.NewCommand(), e.stdout, args)
}

// partitionerClasses maps Kafka's partitioner.class values to --partitioner.
var partitionerClasses = map[string]string{
	"org.apache.kafka.clients.producer.internals.DefaultPartitioner": "murmur2",
	"org.apache.kafka.clients.producer.RoundRobinPartitioner":        "round-robin",
	"org.apache.kafka.clients.producer.UniformStickyPartitioner":     "sticky",
}

func knownPartitionerClasses() string {
	names := make([]string, 0, len(partitionerClasses))
	for c := range partitionerClasses {
		names = append(names, c)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func runConsumer(e *env, p *parsed) error {
	bs, t, err := bootstrapAndTopic(p)
	if err != nil {
		return err
	}
	args := []string{"--bootstrap-server", bs, "--topic", t}
	for _, o := range []string{"from-beginning", "partition", "offset", "group", "max-messages", "timeout-ms", "property"} {
		args = p.pass(args, o, o)
	}
	args = p.pass(args, "formatter-property", "property")
	props, err := property.Parse("consumer-property", p.all("consumer-property"), nil)
	if err != nil {
		return err
	}
	isolation := props["isolation.level"]
	for k, v := range props {
		switch k {
		case "group.id":
			if p.has("group") && p.get("group") != v {
				return fmt.Errorf("option --group %q and consumer property group.id=%s disagree", p.get("group"), v)
			}
			if !p.has("group") {
				args = append(args, "--group", v)
			}
		case "isolation.level":
		default:
			fmt.Fprintf(e.stderr, "Ignoring consumer property %s: Gregor's console consumer sets only group.id and isolation.level.\n", k)
		}
	}
	if p.has("isolation-level") {
		isolation = p.get("isolation-level")
	}
	switch strings.ToLower(isolation) {
	case "", "read_uncommitted":
	case "read_committed":
		args = append(args, "--isolation-level", "read_committed")
	default:
		return fmt.Errorf("option --isolation-level: %q: want read_committed or read_uncommitted", isolation)
	}
	return runModern(e, consume.NewCommand(), e.stdout, args)
}
