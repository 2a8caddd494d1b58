package topic

import (
	"fmt"
	"io"
	"sort"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
	"github.com/gregorhq/gregor/internal/cli/out"
)

// listEntry is one topic in "topic list --format json".
type listEntry struct {
	Topic             string `json:"topic"`
	TopicID           string `json:"topic_id"`
	Internal          bool   `json:"internal"`
	PartitionCount    int    `json:"partition_count"`
	ReplicationFactor int    `json:"replication_factor"`
}

func newListCommand(cf *clientflags.Flags) *cobra.Command {
	var (
		format          out.Format
		excludeInternal bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List topic names, one a line",
		Example: `  gregor topic list
  gregor topic list --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SilenceUsage = true
			adm, err := cf.NewAdmin()
			if err != nil {
				return err
			}
			defer adm.Close()
			details, err := adm.ListTopicsWithInternal(clientflags.Context(cmd))
			if err != nil {
				return fmt.Errorf("listing topics: %w", err)
			}
			if excludeInternal {
				details.FilterInternal()
			}
			return writeList(cmd.OutOrStdout(), format, listEntries(details))
		},
	}
	out.AddFormatFlag(cmd.Flags(), &format)
	cmd.Flags().BoolVar(&excludeInternal, "exclude-internal", false, "leave out internal topics such as __consumer_offsets")
	return cmd
}

// listEntries summarizes details, sorted by topic name.
func listEntries(details kadm.TopicDetails) []listEntry {
	entries := make([]listEntry, 0, len(details))
	for _, td := range details {
		entries = append(entries, listEntry{
			Topic:             td.Topic,
			TopicID:           formatTopicID(td.ID),
			Internal:          td.IsInternal,
			PartitionCount:    len(td.Partitions),
			ReplicationFactor: replicationFactor(td),
		})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Topic < entries[j].Topic })
	return entries
}

// writeList prints names one a line, as kafka-topics --list does, or the
// entries as JSON.
func writeList(w io.Writer, format out.Format, entries []listEntry) error {
	if format == out.JSON {
		return out.WriteJSON(w, entries)
	}
	for _, e := range entries {
		if _, err := fmt.Fprintln(w, e.Topic); err != nil {
			return err
		}
	}
	return nil
}
