package dropin

import (
	"encoding/json"
	"fmt"

	"github.com/gregorhq/gregor/internal/cli/config"
	"github.com/gregorhq/gregor/internal/cli/records"
)

// kafka-configs on "gregor config", and kafka-delete-records on "gregor records delete".
func init() {
	register(&tool{
		name: "kafka-configs",
		opts: options{
			optBootstrapServer,
			{"describe", noValue, "describe configs"},
			{"alter", noValue, "set or delete configs"},
			{"entity-type", requiredValue, "topics, brokers, users, clients or ips"},
			{"entity-name", requiredValue, "the topic name, broker id, user name, client id or IP address"},
			{"entity-default", noValue, "the cluster-wide broker default, or the default user, client id or IP"},
			{"topic", requiredValue, "the same as --entity-type topics --entity-name"},
			{"broker", requiredValue, "the same as --entity-type brokers --entity-name"},
			{"broker-defaults", noValue, "the same as --entity-type brokers --entity-default"},
			{"all", noValue, "with --describe: every config, defaults included"},
			{"add-config", requiredValue, "with --alter: k=v,k2=[a,b]"},
			{"delete-config", requiredValue, "with --alter: k,k2"},
		},
		run: runConfigs,
	})
	register(&tool{
		name: "kafka-delete-records",
		opts: options{
			optBootstrapServer,
			{"offset-json-file", requiredValue, `JSON file: {"partitions":[{"topic":"t","partition":0,"offset":3}],"version":1}`},
		},
		run: runDeleteRecords,
	})
}

func runConfigs(e *env, p *parsed) error {
	action, err := p.oneOf("describe", "alter")
	if err != nil {
		return err
	}
	for _, o := range []string{"add-config", "delete-config"} {
		if err := p.onlyWith(o, action, "alter"); err != nil {
			return err
		}
	}
	if err := p.onlyWith("all", action, "describe"); err != nil {
		return err
	}
	bs, err := bootstrap(p)
	if err != nil {
		return err
	}
	switch typ := p.get("entity-type"); {
	case typ == "clients", typ == "ips", typ == "users" && (isQuotaConfigs(p) || p.has("entity-default")):
		return runQuotaConfigs(e, p, typ, action, []string{"--bootstrap-server", bs})
	case typ == "users":
		return runUserConfigs(e, p, action, []string{"--bootstrap-server", bs})
	}
	args := []string{action, "--bootstrap-server", bs}
	switch {
	case p.has("topic"):
		args = append(args, "--entity-type", "topics", "--entity-name", p.get("topic"))
	case p.has("broker"):
		args = append(args, "--entity-type", "brokers", "--entity-name", p.get("broker"))
	case p.has("broker-defaults"):
		args = append(args, "--entity-type", "brokers", "--entity-default")
	default:
		if !p.has("entity-type") {
			return fmt.Errorf("Missing required argument \"[entity-type]\"")
		}
		for _, o := range []string{"entity-type", "entity-name", "entity-default"} {
			args = p.pass(args, o, o)
		}
	}
	for _, o := range []string{"all", "add-config", "delete-config"} {
		args = p.pass(args, o, o)
	}
	return runModern(e, config.NewCommand(), e.stdout, args)
}

// runDeleteRecords prints Kafka's report of the new low watermarks.
func runDeleteRecords(e *env, p *parsed) error {
	bs, err := bootstrap(p)
	if err != nil {
		return err
	}
	file, err := p.require("offset-json-file")
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "Executing records delete operation")
	raw, err := runModernJSON(e, records.NewCommand(), []string{"delete", "--bootstrap-server", bs, "--offset-json-file", file})
	if len(raw) == 0 {
		return err
	}
	var results []struct {
		Topic        string `json:"topic"`
		Partition    int32  `json:"partition"`
		LowWatermark int64  `json:"low_watermark"`
		Error        string `json:"error"`
	}
	if jerr := json.Unmarshal(raw, &results); jerr != nil {
		return fmt.Errorf("reading the delete results: %w", jerr)
	}
	fmt.Fprintln(e.stdout, "Records delete operation completed:")
	for _, r := range results {
		if r.Error != "" {
			fmt.Fprintf(e.stdout, "partition: %s-%d\terror: %s\n", r.Topic, r.Partition, r.Error)
			continue
		}
		fmt.Fprintf(e.stdout, "partition: %s-%d\tlow_watermark: %d\n", r.Topic, r.Partition, r.LowWatermark)
	}
	return err
}
