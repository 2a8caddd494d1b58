package dropin

import (
	"errors"
	"strconv"

	"github.com/gregorhq/gregor/internal/cli/cluster"
	"github.com/gregorhq/gregor/internal/cli/topic"
)

// kafka-reassign-partitions (--generate, --execute, --verify, --cancel, --list) on "gregor
// topic reassign", and kafka-leader-election on "gregor cluster elect-leaders"; both modern
// commands print Kafka's text.
func init() {
	register(&tool{
		name: "kafka-reassign-partitions",
		opts: options{
			optBootstrapServer,
			{"generate", noValue, "propose an assignment of --topics-to-move-json-file's topics to --broker-list"},
			{"execute", noValue, "start the reassignments of --reassignment-json-file"},
			{"verify", noValue, "show the reassignments' progress; clear the throttles when they are done"},
			{"cancel", noValue, "cancel the reassignments of --reassignment-json-file in progress"},
			{"list", noValue, "list the reassignments in progress"},
			{"topics-to-move-json-file", requiredValue, `{"version":1,"topics":[{"topic":"foo"}]}`},
			{"broker-list", requiredValue, "with --generate: the brokers to move to, as 1,2,3"},
			{"reassignment-json-file", requiredValue, "the reassignment JSON file"},
			{"throttle", requiredValue, "with --execute: replication throttle in bytes/sec"},
			{"preserve-throttles", noValue, "with --verify or --cancel: keep the throttles"},
			{"disable-rack-aware", noValue, "with --generate: accepted; the plan is not rack-aware"},
			{"timeout", requiredValue, "accepted for compatibility"},
		},
		run: runReassignPartitions,
	})
	register(&tool{
		name: "kafka-leader-election",
		opts: options{
			optBootstrapServer,
			{"election-type", requiredValue, "PREFERRED or UNCLEAN"},
			{"all-topic-partitions", noValue, "elect leaders of every partition"},
			{"topic", requiredValue, "the topic (with --partition)"},
			{"partition", requiredValue, "the partition (with --topic)"},
			{"path-to-json-file", requiredValue, `{"partitions":[{"topic":"foo","partition":1}]}`},
		},
		run: runLeaderElection,
	})
}

func runReassignPartitions(e *env, p *parsed) error {
	action, err := p.oneOf("generate", "execute", "verify", "cancel", "list")
	if err != nil {
		return errors.New("Command must include exactly one action: --generate, --execute, --verify, --cancel, or --list")
	}
	bs := p.get("bootstrap-server")
	if bs == "" {
		return errors.New("Please specify --bootstrap-server")
	}
	args := []string{"reassign", action, "--bootstrap-server", bs}
	switch action {
	case "generate":
		tf, err := p.require("topics-to-move-json-file")
		if err != nil {
			return err
		}
		bl, err := p.require("broker-list")
		if err != nil {
			return err
		}
		args = append(args, "--topics-to-move-json-file", tf, "--broker-list", bl)
	case "execute", "verify", "cancel":
		rf, err := p.require("reassignment-json-file")
		if err != nil {
			return err
		}
		args = append(args, "--reassignment-json-file", rf)
		if action == "execute" && p.has("throttle") {
			args = append(args, "--throttle", p.get("throttle"))
		}
		if action != "execute" && p.has("preserve-throttles") {
			args = append(args, "--preserve-throttles")
		}
	}
	return runModern(e, topic.NewCommand(), e.stdout, args)
}

func runLeaderElection(e *env, p *parsed) error {
	bs := p.get("bootstrap-server")
	if bs == "" {
		return errors.New("Missing required option(s) [bootstrap-server]")
	}
	args := []string{"elect-leaders", "--bootstrap-server", bs, "--election-type", p.get("election-type")}
	if p.has("all-topic-partitions") {
		args = append(args, "--all-topic-partitions")
	}
	if p.has("topic") {
		args = append(args, "--topic", p.get("topic"))
	}
	if p.has("partition") {
		n, err := strconv.ParseInt(p.get("partition"), 10, 32)
		if err != nil {
			return errors.New("partition must be a number")
		}
		args = append(args, "--partition", strconv.Itoa(int(n)))
	}
	if p.has("path-to-json-file") {
		args = append(args, "--path-to-json-file", p.get("path-to-json-file"))
	}
	return runModern(e, cluster.NewCommand(), e.stdout, args)
}
