// Package group implements "gregor group": list, describe, delete groups, reset
// and delete their committed offsets, with kafka-consumer-groups' flag names and
// columns. One file per verb.
package group

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
)

// NewCommand returns the "group" command and its verbs.
func NewCommand() *cobra.Command {
	var cf clientflags.Flags
	cmd := &cobra.Command{
		Use:     "group",
		Aliases: []string{"groups"},
		Short:   "List, describe and delete consumer groups; reset and delete their offsets",
		Long: `List, describe and delete consumer groups; reset and delete their offsets.

The flags follow kafka-consumer-groups.sh: --bootstrap-server, --group,
--all-groups, --topic, --members, --state, --to-earliest, --to-latest,
--to-offset, --shift-by, --to-datetime, --dry-run and --execute.`,
	}
	cf.Register(cmd.PersistentFlags())
	cmd.AddCommand(
		newListCommand(&cf),
		newDescribeCommand(&cf),
		newDeleteCommand(&cf),
		newResetOffsetsCommand(&cf),
		newDeleteOffsetsCommand(&cf),
		newLagCommand(),
	)
	return cmd
}

// groupsFrom returns the groups named by --group flags and positional
// arguments, or every group with --all-groups.
func groupsFrom(ctx context.Context, adm *kadm.Client, flagGroups, args []string, all bool) ([]string, error) {
	groups := append(append([]string(nil), flagGroups...), args...)
	switch {
	case all && len(groups) > 0:
		return nil, errors.New("--all-groups cannot be given with --group")
	case all:
		listed, err := adm.ListGroups(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing groups: %w", err)
		}
		return listed.Groups(), nil
	case len(groups) == 0:
		return nil, errors.New("name a group with --group (or use --all-groups)")
	}
	return groups, nil
}

// topicPartitions is one --topic value: a topic and, optionally, some of its
// partitions ("orders" or "orders:0,2").
type topicPartitions struct {
	topic      string
	partitions []int32 // nil: every partition
}

// parseTopicFlag parses "topic" or "topic:p1,p2" as Kafka's tools accept it.
func parseTopicFlag(s string) (topicPartitions, error) {
	topic, parts, hasParts := strings.Cut(s, ":")
	if topic == "" {
		return topicPartitions{}, fmt.Errorf("--topic %q: no topic name", s)
	}
	tp := topicPartitions{topic: topic}
	if !hasParts {
		return tp, nil
	}
	for _, p := range strings.Split(parts, ",") {
		var n int32
		if _, err := fmt.Sscan(strings.TrimSpace(p), &n); err != nil || n < 0 {
			return topicPartitions{}, fmt.Errorf("--topic %q: %q is not a partition number", s, p)
		}
		tp.partitions = append(tp.partitions, n)
	}
	return tp, nil
}

// resolveTopics expands --topic values into a set of partitions, listing a
// topic's partitions when none were named.
func resolveTopics(ctx context.Context, adm *kadm.Client, values []string) (kadm.TopicsSet, error) {
	set := make(kadm.TopicsSet)
	var whole []string
	for _, v := range values {
		tp, err := parseTopicFlag(v)
		if err != nil {
			return nil, err
		}
		if tp.partitions == nil {
			whole = append(whole, tp.topic)
			continue
		}
		set.Add(tp.topic, tp.partitions...)
	}
	if len(whole) > 0 {
		details, err := adm.ListTopics(ctx, whole...)
		if err != nil {
			return nil, fmt.Errorf("describing topics: %w", err)
		}
		for _, t := range whole {
			d, ok := details[t]
			if !ok || d.Err != nil {
				err := d.Err
				if err == nil {
					err = kerr.UnknownTopicOrPartition
				}
				return nil, clientflags.Explain("topic", t, err)
			}
			set.Add(t, d.Partitions.Numbers()...)
		}
	}
	return set, nil
}

// sortedPartitions lists a TopicsSet in topic, partition order.
func sortedPartitions(s kadm.TopicsSet) []kadm.TopicPartitions {
	out := s.Sorted()
	for i := range out {
		sort.Slice(out[i].Partitions, func(a, b int) bool { return out[i].Partitions[a] < out[i].Partitions[b] })
	}
	return out
}

// dash prints "-" for an unknown value, as Kafka's tool does.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
