package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
)

// ElectionOptions are kafka-leader-election's options.
type ElectionOptions struct {
	ElectionType  string // PREFERRED or UNCLEAN, any case
	AllPartitions bool   // --all-topic-partitions
	Topic         string // --topic, with Partition
	Partition     int32  // --partition; -1 unset
	JSONFile      string // --path-to-json-file: {"partitions":[{"topic":"foo","partition":1}]}
}

func newElectLeadersCommand(cf *clientflags.Flags) *cobra.Command {
	o := ElectionOptions{Partition: -1}
	cmd := &cobra.Command{
		Use:   "elect-leaders --election-type PREFERRED|UNCLEAN (--all-topic-partitions | --topic T --partition P | --path-to-json-file F)",
		Short: "Run preferred or unclean leader elections (kafka-leader-election)",
		Example: `  gregor cluster elect-leaders --election-type preferred --all-topic-partitions
  gregor cluster elect-leaders --election-type unclean --topic orders --partition 0`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			how, set, err := o.resolve()
			if err != nil {
				return err
			}
			cmd.SilenceUsage = true
			adm, err := cf.NewAdmin()
			if err != nil {
				return err
			}
			defer adm.Close()
			return ElectLeaders(clientflags.Context(cmd), adm, how, set, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.ElectionType, "election-type", "", "PREFERRED or UNCLEAN")
	f.BoolVar(&o.AllPartitions, "all-topic-partitions", false, "elect leaders of every partition")
	f.StringVar(&o.Topic, "topic", "", "the topic of the partition to elect a leader for (with --partition)")
	f.Int32Var(&o.Partition, "partition", -1, "the partition to elect a leader for (with --topic)")
	f.StringVar(&o.JSONFile, "path-to-json-file", "", `JSON file of partitions: {"partitions":[{"topic":"foo","partition":1}]}`)
	return cmd
}

// resolve checks the options as kafka-leader-election does and returns the election type and
// the partitions (nil: all).
func (o ElectionOptions) resolve() (kadm.ElectLeadersHow, kadm.TopicsSet, error) {
	var how kadm.ElectLeadersHow
	switch strings.ToUpper(o.ElectionType) {
	case "PREFERRED":
		how = kadm.ElectPreferredReplica
	case "UNCLEAN":
		how = kadm.ElectLiveReplica
	case "":
		return how, nil, errors.New("Missing required option(s) [election-type]")
	default:
		return how, nil, fmt.Errorf("Invalid election type %q: use PREFERRED or UNCLEAN", o.ElectionType)
	}
	n := 0
	for _, set := range []bool{o.AllPartitions, o.Topic != "", o.JSONFile != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return how, nil, errors.New("One and only one of the following options is required: all-topic-partitions, topic, path-to-json-file")
	}
	switch {
	case o.AllPartitions:
		if o.Partition >= 0 {
			return how, nil, errors.New("Option partition is only allowed if topic is used")
		}
		return how, nil, nil
	case o.Topic != "":
		if o.Partition < 0 {
			return how, nil, errors.New("Missing required option(s) [partition]")
		}
		set := kadm.TopicsSet{}
		set.Add(o.Topic, o.Partition)
		return how, set, nil
	}
	data, err := os.ReadFile(o.JSONFile)
	if err != nil {
		return how, nil, err
	}
	var f struct {
		Partitions []struct {
			Topic     string `json:"topic"`
			Partition int32  `json:"partition"`
		} `json:"partitions"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return how, nil, fmt.Errorf("parsing %s: %w", o.JSONFile, err)
	}
	if len(f.Partitions) == 0 {
		return how, nil, fmt.Errorf("Replica election data is empty")
	}
	set := kadm.TopicsSet{}
	seen := map[string]bool{}
	for _, p := range f.Partitions {
		k := fmt.Sprintf("%s-%d", p.Topic, p.Partition)
		if seen[k] {
			return how, nil, fmt.Errorf("Replica election data contains duplicate partitions: %s", k)
		}
		seen[k] = true
		set.Add(p.Topic, p.Partition)
	}
	return how, set, nil
}

// ElectLeaders runs the election and prints its outcome as kafka-leader-election does:
// the partitions elected, those whose leader was already right, and an error line per
// partition that failed (then the returned error counts them).
func ElectLeaders(ctx context.Context, adm *kadm.Client, how kadm.ElectLeadersHow, set kadm.TopicsSet, w io.Writer) error {
	res, err := adm.ElectLeaders(ctx, how, set)
	if err != nil {
		return err
	}
	typ := "PREFERRED"
	if how == kadm.ElectLiveReplica {
		typ = "UNCLEAN"
	}
	var ok, noop, failed []string
	var errLines []string
	for _, t := range sortedTopics(res) {
		for _, p := range sortedPartitions(res[t]) {
			r := res[t][p]
			name := fmt.Sprintf("%s-%d", t, p)
			switch {
			case r.Err == nil:
				ok = append(ok, name)
			case errors.Is(r.Err, kerr.ElectionNotNeeded):
				noop = append(noop, name)
			default:
				failed = append(failed, name)
				errLines = append(errLines, fmt.Sprintf("Error completing leader election (%s) for partition: %s: %s", typ, name, javaException(r.Err, r.ErrMessage)))
			}
		}
	}
	if len(ok) > 0 {
		fmt.Fprintf(w, "Successfully completed leader election (%s) for partitions %s\n", typ, strings.Join(ok, ", "))
	}
	if len(noop) > 0 {
		fmt.Fprintf(w, "Valid replica already elected for partitions %s\n", strings.Join(noop, ", "))
	}
	for _, l := range errLines {
		fmt.Fprintln(w, l)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d replica(s) could not be elected", len(failed))
	}
	return nil
}

// javaException renders a Kafka error as the Java tool prints its exception:
// "org.apache.kafka.common.errors.PreferredLeaderNotAvailableException: message".
func javaException(err error, msg string) string {
	var ke *kerr.Error
	if !errors.As(err, &ke) {
		return err.Error()
	}
	var b strings.Builder
	for _, w := range strings.Split(ke.Message, "_") {
		if w != "" {
			b.WriteString(w[:1] + strings.ToLower(w[1:]))
		}
	}
	if msg == "" {
		msg = ke.Description
	}
	return fmt.Sprintf("org.apache.kafka.common.errors.%sException: %s", b.String(), msg)
}

func sortedTopics(res kadm.ElectLeadersResults) []string {
	return slices.Sorted(maps.Keys(res))
}

func sortedPartitions(m map[int32]kadm.ElectLeadersResult) []int32 {
	return slices.Sorted(maps.Keys(m))
}
