package topic

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
	"github.com/gregorhq/gregor/internal/cli/out"
)

// description is one topic in "topic describe" output.
type description struct {
	Topic             string `json:"topic"`
	TopicID           string `json:"topic_id"`
	Internal          bool   `json:"internal"`
	PartitionCount    int    `json:"partition_count"`
	ReplicationFactor int    `json:"replication_factor"`
	// Configs are the topic's configs that differ from the defaults (any
	// source other than DEFAULT_CONFIG), as kafka-topics --describe shows
	// them. A nil value is a sensitive or unset one.
	Configs    map[string]*string     `json:"configs"`
	Partitions []partitionDescription `json:"partitions"`
}

// partitionDescription is one partition of a described topic.
type partitionDescription struct {
	Partition       int32   `json:"partition"`
	Leader          int32   `json:"leader"` // -1 when there is none
	LeaderEpoch     int32   `json:"leader_epoch"`
	Replicas        []int32 `json:"replicas"`
	ISR             []int32 `json:"isr"`
	OfflineReplicas []int32 `json:"offline_replicas,omitempty"`
	Error           string  `json:"error,omitempty"` // the Kafka error code name, e.g. LEADER_NOT_AVAILABLE
}

func newDescribeCommand(cf *clientflags.Flags) *cobra.Command {
	var (
		topics          []string
		format          out.Format
		excludeInternal bool
	)
	cmd := &cobra.Command{
		Use:   "describe [--topic NAME]...",
		Short: "Describe topics: partitions, leaders, replicas, ISR and configs",
		Long: `Describe topics: partitions, leaders, replicas, ISR and configs.

Without --topic, every topic is described. The text output has the shape of
kafka-topics --describe; --format json prints the same data for scripts.`,
		Example: `  gregor topic describe --topic quickstart-events
  gregor topic describe --format json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			names := append(append([]string(nil), topics...), args...)
			cmd.SilenceUsage = true
			adm, err := cf.NewAdmin()
			if err != nil {
				return err
			}
			defer adm.Close()
			ctx := clientflags.Context(cmd)

			details, err := adm.ListTopicsWithInternal(ctx, names...)
			if err != nil {
				return fmt.Errorf("describing topics: %w", err)
			}
			if len(names) == 0 && excludeInternal {
				details.FilterInternal()
			}
			var errs []error
			var found []string
			for _, td := range details {
				if td.Err != nil {
					errs = append(errs, topicError(td.Topic, td.Err, ""))
					continue
				}
				found = append(found, td.Topic)
			}
			sort.Strings(found)
			configs := make(map[string]kadm.ResourceConfig)
			if len(found) > 0 {
				rcs, err := adm.DescribeTopicConfigs(ctx, found...)
				if err != nil {
					return fmt.Errorf("describing topic configs: %w", err)
				}
				for _, rc := range rcs {
					if rc.Err != nil {
						errs = append(errs, fmt.Errorf("configs of %w", topicError(rc.Name, rc.Err, rc.ErrMessage)))
						continue
					}
					configs[rc.Name] = rc
				}
			}
			descs := make([]description, 0, len(found))
			for _, name := range found {
				descs = append(descs, describeTopic(details[name], configs[name]))
			}
			if err := writeDescriptions(cmd.OutOrStdout(), format, descs); err != nil {
				return err
			}
			sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
			return errors.Join(errs...)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&topics, "topic", nil, "topic to describe; repeat for more (default: all topics)")
	f.BoolVar(&excludeInternal, "exclude-internal", false, "leave out internal topics when describing all topics")
	out.AddFormatFlag(f, &format)
	return cmd
}

// describeTopic builds the description of one topic from its metadata and
// its configs.
func describeTopic(td kadm.TopicDetail, rc kadm.ResourceConfig) description {
	d := description{
		Topic:             td.Topic,
		TopicID:           formatTopicID(td.ID),
		Internal:          td.IsInternal,
		PartitionCount:    len(td.Partitions),
		ReplicationFactor: replicationFactor(td),
		Configs:           map[string]*string{},
		Partitions:        []partitionDescription{},
	}
	for _, c := range rc.Configs {
		if c.Source == kmsg.ConfigSourceDefaultConfig {
			continue
		}
		d.Configs[c.Key] = c.Value
	}
	for _, p := range td.Partitions.Sorted() {
		pd := partitionDescription{
			Partition:       p.Partition,
			Leader:          p.Leader,
			LeaderEpoch:     p.LeaderEpoch,
			Replicas:        nonNil(p.Replicas),
			ISR:             nonNil(p.ISR),
			OfflineReplicas: p.OfflineReplicas,
		}
		if p.Err != nil {
			pd.Error = errorCode(p.Err)
		}
		d.Partitions = append(d.Partitions, pd)
	}
	return d
}

// writeDescriptions prints descs as JSON, or with the fields of
// kafka-topics --describe: a summary line per topic, then one indented line
// per partition. Cells are separated by spaces rather than Kafka's tabs so
// the partition lines align; scripts that split on whitespace see the same
// fields.
func writeDescriptions(w io.Writer, format out.Format, descs []description) error {
	if format == out.JSON {
		return out.WriteJSON(w, descs)
	}
	for _, d := range descs {
		summary := out.NewTable(w)
		summary.Row(
			"Topic: "+d.Topic,
			"TopicId: "+d.TopicID,
			"PartitionCount: "+strconv.Itoa(d.PartitionCount),
			"ReplicationFactor: "+strconv.Itoa(d.ReplicationFactor),
			"Configs: "+formatConfigs(d.Configs),
		)
		if err := summary.Flush(); err != nil {
			return err
		}
		t := out.NewTable(w)
		for _, p := range d.Partitions {
			leader := "none"
			if p.Leader >= 0 {
				leader = strconv.Itoa(int(p.Leader))
			}
			row := []any{
				"", // indent, as Kafka indents partition lines with a tab
				"Topic: " + d.Topic,
				"Partition: " + strconv.Itoa(int(p.Partition)),
				"Leader: " + leader,
				"Replicas: " + joinIDs(p.Replicas),
				"Isr: " + joinIDs(p.ISR),
			}
			if len(p.OfflineReplicas) > 0 {
				row = append(row, "Offline: "+joinIDs(p.OfflineReplicas))
			}
			if p.Error != "" {
				row = append(row, "Error: "+p.Error)
			}
			t.Row(row...)
		}
		if err := t.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// formatConfigs joins configs as key=value,key=value sorted by key, as
// kafka-topics does; a nil value prints as "null".
func formatConfigs(cfgs map[string]*string) string {
	keys := make([]string, 0, len(cfgs))
	for k := range cfgs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		v := "null"
		if cfgs[k] != nil {
			v = *cfgs[k]
		}
		parts[i] = k + "=" + v
	}
	return strings.Join(parts, ",")
}

// joinIDs joins broker ids with commas, as Kafka prints replica lists.
func joinIDs(ids []int32) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(int(id))
	}
	return strings.Join(s, ",")
}

// replicationFactor is the replica count of the topic's first partition, as
// kafka-topics reports it.
func replicationFactor(td kadm.TopicDetail) int {
	if p, ok := td.Partitions[0]; ok {
		return len(p.Replicas)
	}
	for _, p := range td.Partitions {
		return len(p.Replicas)
	}
	return 0
}

// errorCode is the Kafka error name of err (e.g. LEADER_NOT_AVAILABLE), or
// its text when it is not a Kafka error.
func errorCode(err error) string {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Message
	}
	return err.Error()
}

func nonNil(ids []int32) []int32 {
	if ids == nil {
		return []int32{}
	}
	return ids
}
