package dropin

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
	"github.com/gregorhq/gregor/internal/cli/topic"
)

// kafka-topics: --create, --list, --describe, --alter (partitions) and --delete, on the
// modern "gregor topic" verbs.
func init() {
	register(&tool{
		name: "kafka-topics",
		opts: options{
			optBootstrapServer,
			{"create", noValue, "create a topic"},
			{"list", noValue, "list topic names"},
			{"describe", noValue, "describe topics"},
			{"alter", noValue, "add partitions to a topic"},
			{"delete", noValue, "delete a topic"},
			{"topic", requiredValue, "the topic (a regular expression for --list, --describe, --delete)"},
			{"partitions", requiredValue, "number of partitions (--create, --alter)"},
			{"replication-factor", requiredValue, "replicas of each partition (--create)"},
			{"config", requiredValue, "topic config override key=value (--create); repeat for more"},
			{"if-not-exists", noValue, "with --create: succeed if the topic exists"},
			{"if-exists", noValue, "with --alter, --describe, --delete: succeed if the topic does not exist"},
			{"exclude-internal", noValue, "leave out internal topics in --list and --describe"},
		},
		run: runTopics,
	})
}

func runTopics(e *env, p *parsed) error {
	action, err := p.oneOf("list", "describe", "create", "alter", "delete")
	if err != nil {
		return err
	}
	for _, o := range []struct{ opt, actions string }{
		{"partitions", "create alter"},
		{"replication-factor", "create"},
		{"config", "create"},
		{"if-not-exists", "create"},
		{"if-exists", "alter describe delete"},
	} {
		if err := p.onlyWith(o.opt, action, strings.Fields(o.actions)...); err != nil {
			return err
		}
	}
	bs, err := bootstrap(p)
	if err != nil {
		return err
	}
	base := []string{"--bootstrap-server", bs}
	switch action {
	case "create":
		name, err := p.require("topic")
		if err != nil {
			return err
		}
		args := append([]string{"create", "--topic", name}, base...)
		args = p.pass(args, "partitions", "partitions")
		args = p.pass(args, "replication-factor", "replication-factor")
		args = p.pass(args, "config", "config")
		args = p.pass(args, "if-not-exists", "if-not-exists")
		return runModern(e, topic.NewCommand(), e.stdout, args)
	case "list":
		names, err := topicNames(e, p, base)
		if err != nil {
			return err
		}
		for _, n := range names {
			fmt.Fprintln(e.stdout, n)
		}
		return nil
	case "describe":
		return describeTopics(e, p, base)
	case "alter":
		return alterPartitions(e, p, bs)
	default: // delete
		name, err := p.require("topic")
		if err != nil {
			return err
		}
		names, err := matchTopics(e, p, base, name)
		if err != nil || len(names) == 0 {
			return err
		}
		for _, n := range names {
			// Kafka's tool prints nothing when a topic is deleted.
			if err := runModern(e, topic.NewCommand(), io.Discard, append([]string{"delete", "--topic", n}, base...)); err != nil {
				return err
			}
		}
		return nil
	}
}

// topicNames lists the topics, filtered by --topic as a regular expression, as
// kafka-topics --list does.
func topicNames(e *env, p *parsed, base []string) ([]string, error) {
	args := append([]string{"list"}, base...)
	args = p.pass(args, "exclude-internal", "exclude-internal")
	raw, err := runModernJSON(e, topic.NewCommand(), args)
	if err != nil {
		return nil, err
	}
	var entries []struct {
		Topic string `json:"topic"`
	}
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("reading the topic list: %w", err)
	}
	var re *regexp.Regexp
	if t := p.get("topic"); t != "" {
		if re, err = regexp.Compile("^(?:" + t + ")$"); err != nil {
			return nil, fmt.Errorf("option --topic: %q is not a regular expression: %v", t, err)
		}
	}
	var names []string
	for _, en := range entries {
		if re == nil || re.MatchString(en.Topic) {
			names = append(names, en.Topic)
		}
	}
	return names, nil
}

// matchTopics returns the topics --topic names, or Kafka's error when there are none and
// --if-exists was not given.
func matchTopics(e *env, p *parsed, base []string, name string) ([]string, error) {
	names, err := topicNames(e, p, base)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 && !p.has("if-exists") {
		return nil, fmt.Errorf("Topic '%s' does not exist as expected", name)
	}
	return names, nil
}

// description is what kafka-topics --describe prints of a topic, read from
// "gregor topic describe --format json".
type description struct {
	Topic             string             `json:"topic"`
	TopicID           string             `json:"topic_id"`
	PartitionCount    int                `json:"partition_count"`
	ReplicationFactor int                `json:"replication_factor"`
	Configs           map[string]*string `json:"configs"`
	Partitions        []struct {
		Partition       int32   `json:"partition"`
		Leader          int32   `json:"leader"`
		Replicas        []int32 `json:"replicas"`
		ISR             []int32 `json:"isr"`
		OfflineReplicas []int32 `json:"offline_replicas"`
	} `json:"partitions"`
}

func describeTopics(e *env, p *parsed, base []string) error {
	args := append([]string{"describe"}, base...)
	if t := p.get("topic"); t != "" {
		names, err := matchTopics(e, p, base, t)
		if err != nil || len(names) == 0 {
			return err
		}
		for _, n := range names {
			args = append(args, "--topic", n)
		}
	}
	args = p.pass(args, "exclude-internal", "exclude-internal")
	raw, err := runModernJSON(e, topic.NewCommand(), args)
	if len(raw) == 0 && err != nil {
		return err
	}
	var descs []description
	if jerr := json.Unmarshal(raw, &descs); jerr != nil {
		return fmt.Errorf("reading the topic descriptions: %w", jerr)
	}
	for _, d := range descs {
		writeDescription(e.stdout, d)
	}
	return err
}

// writeDescription prints d as Kafka 3.9 and 4.0 print it: a tab-separated
// summary line, then one tab-indented line per partition with the (empty)
// eligible leader replica fields of KIP-966.
func writeDescription(w io.Writer, d description) {
	keys := make([]string, 0, len(d.Configs))
	for k := range d.Configs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	cfgs := make([]string, len(keys))
	for i, k := range keys {
		v := "null"
		if d.Configs[k] != nil {
			v = *d.Configs[k]
		}
		cfgs[i] = k + "=" + v
	}
	fmt.Fprintf(w, "Topic: %s\tTopicId: %s\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: %s\n",
		d.Topic, d.TopicID, d.PartitionCount, d.ReplicationFactor, strings.Join(cfgs, ","))
	for _, pd := range d.Partitions {
		leader := "none"
		if pd.Leader >= 0 {
			leader = strconv.Itoa(int(pd.Leader))
		}
		fmt.Fprintf(w, "\tTopic: %s\tPartition: %d\tLeader: %s\tReplicas: %s\tIsr: %s\tElr: \tLastKnownElr: ",
			d.Topic, pd.Partition, leader, joinIDs(pd.Replicas), joinIDs(pd.ISR))
		if len(pd.OfflineReplicas) > 0 {
			fmt.Fprintf(w, "\tOffline: %s", joinIDs(pd.OfflineReplicas))
		}
		fmt.Fprintln(w)
	}
}

func joinIDs(ids []int32) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(int(id))
	}
	return strings.Join(s, ",")
}

// alterPartitions raises the partition count of the --topic topics to --partitions, the
// only change kafka-topics --alter makes against a broker (configs go through kafka-configs).
func alterPartitions(e *env, p *parsed, bs string) error {
	name, err := p.require("topic")
	if err != nil {
		return err
	}
	if !p.has("partitions") {
		return fmt.Errorf("Missing required argument \"[partitions]\"")
	}
	n, err := p.int("partitions", 0)
	if err != nil {
		return err
	}
	if n < 1 || n > 1<<31-1 {
		return fmt.Errorf("option --partitions: %d is not a partition count (1 or more)", n)
	}
	names, err := matchTopics(e, p, []string{"--bootstrap-server", bs}, name)
	if err != nil || len(names) == 0 {
		return err
	}
	cf := clientflags.Flags{BootstrapServer: bs, CommandConfig: e.commandConfig}
	adm, err := cf.NewAdmin()
	if err != nil {
		return err
	}
	defer adm.Close()
	resp, err := adm.UpdatePartitions(e.ctx, int(n), names...)
	if err != nil {
		return fmt.Errorf("altering partitions: %w", err)
	}
	for _, r := range resp.Sorted() {
		if r.Err != nil {
			msg := r.Err.Error()
			if r.ErrMessage != "" {
				msg += ": " + r.ErrMessage
			}
			return fmt.Errorf("topic %q: %s", r.Topic, msg)
		}
	}
	return nil
}
