package group

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
	"github.com/gregorhq/gregor/internal/cli/out"
)

// deleteOffsetRow is one partition in "group delete-offsets".
type deleteOffsetRow struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Status    string `json:"status"`
}

func newDeleteOffsetsCommand(cf *clientflags.Flags) *cobra.Command {
	var (
		format out.Format
		group  string
		topics []string
	)
	cmd := &cobra.Command{
		Use:   "delete-offsets",
		Short: "Delete a group's committed offsets (a share group's state) for some topics or partitions",
		Example: `  gregor group delete-offsets --group app --topic orders
  gregor group delete-offsets --group app --topic orders:0,1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SilenceUsage = true
			if group == "" {
				return errors.New("--group is required")
			}
			if len(topics) == 0 {
				return errors.New("name the offsets to delete with --topic TOPIC or --topic TOPIC:P1,P2")
			}
			adm, err := cf.NewAdmin()
			if err != nil {
				return err
			}
			defer adm.Close()
			ctx := clientflags.Context(cmd)
			set, err := resolveTopics(ctx, adm, topics)
			if err != nil {
				return err
			}
			var rows []deleteOffsetRow
			var failed int
			if isShareGroup(ctx, adm, group) {
				// A share group's state is deleted by whole topics.
				for _, tp := range topics {
					if strings.Contains(tp, ":") {
						return errors.New("a share group's offsets are deleted by whole topics: give --topic TOPIC")
					}
				}
				resps, err := adm.DeleteShareGroupOffsets(ctx, group, set.Topics()...)
				if err != nil {
					return clientflags.Explain("group", group, err)
				}
				rows, failed = deleteShareOffsetRows(set, resps)
			} else {
				resps, err := adm.DeleteOffsets(ctx, group, set)
				if err != nil {
					return clientflags.Explain("group", group, err)
				}
				rows, failed = deleteOffsetRows(set, resps)
			}
			if err := writeDeleteOffsets(cmd.OutOrStdout(), format, rows); err != nil {
				return err
			}
			if failed > 0 {
				return fmt.Errorf("group %q: %d partition(s) failed", group, failed)
			}
			return nil
		},
	}
	out.AddFormatFlag(cmd.Flags(), &format)
	cmd.Flags().StringVar(&group, "group", "", "the group whose offsets to delete")
	cmd.Flags().StringArrayVar(&topics, "topic", nil, "TOPIC or TOPIC:P1,P2 (repeatable)")
	return cmd
}

func deleteOffsetRows(set kadm.TopicsSet, resps kadm.DeleteOffsetsResponses) (rows []deleteOffsetRow, failed int) {
	for _, tp := range sortedPartitions(set) {
		for _, p := range tp.Partitions {
			status := "Successful"
			err, ok := resps.Lookup(tp.Topic, p)
			switch {
			case !ok:
				status, failed = "Error: no answer", failed+1
			case err != nil:
				status, failed = "Error: "+err.Error(), failed+1
			}
			rows = append(rows, deleteOffsetRow{Topic: tp.Topic, Partition: p, Status: status})
		}
	}
	return rows, failed
}

// deleteShareOffsetRows reports a share group's deletion, done per topic, on every
// partition of the topic.
func deleteShareOffsetRows(set kadm.TopicsSet, resps kadm.DeleteShareGroupOffsetsResponses) (rows []deleteOffsetRow, failed int) {
	for _, tp := range sortedPartitions(set) {
		status := "Successful"
		err, ok := resps.Lookup(tp.Topic)
		switch {
		case !ok:
			status = "Error: no answer"
		case err != nil:
			status = "Error: " + err.Error()
		}
		for _, p := range tp.Partitions {
			if status != "Successful" {
				failed++
			}
			rows = append(rows, deleteOffsetRow{Topic: tp.Topic, Partition: p, Status: status})
		}
	}
	return rows, failed
}

func writeDeleteOffsets(w io.Writer, format out.Format, rows []deleteOffsetRow) error {
	if format == out.JSON {
		return out.WriteJSON(w, rows)
	}
	t := out.NewTable(w, "TOPIC", "PARTITION", "STATUS")
	for _, r := range rows {
		t.Row(r.Topic, r.Partition, r.Status)
	}
	return t.Flush()
}
