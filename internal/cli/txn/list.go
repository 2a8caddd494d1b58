package txn

import (
	"fmt"
	"io"
	"sort"

	"github.com/spf13/cobra"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
	"github.com/gregorhq/gregor/internal/cli/out"
)

// listEntry is one transactional id in "txn list".
type listEntry struct {
	TransactionalID string `json:"transactional_id"`
	Coordinator     int32  `json:"coordinator"`
	ProducerID      int64  `json:"producer_id"`
	State           string `json:"state"`
}

func newListCommand(cf *clientflags.Flags) *cobra.Command {
	var (
		format      out.Format
		states      []string
		producerIDs []int64
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List transactional ids: coordinator, producer id and state",
		Example: `  gregor txn list
  gregor txn list --state Ongoing,PrepareCommit
  gregor txn list --producer-id 1000 --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SilenceUsage = true
			adm, err := cf.NewAdmin()
			if err != nil {
				return err
			}
			defer adm.Close()
			listed, err := adm.ListTransactions(clientflags.Context(cmd), producerIDs, states)
			if err != nil {
				return fmt.Errorf("listing transactions: %w", err)
			}
			entries := make([]listEntry, 0, len(listed))
			for _, l := range listed {
				entries = append(entries, listEntry{TransactionalID: l.TxnID, Coordinator: l.Coordinator, ProducerID: l.ProducerID, State: l.State})
			}
			sort.Slice(entries, func(i, j int) bool { return entries[i].TransactionalID < entries[j].TransactionalID })
			return writeList(cmd.OutOrStdout(), format, entries)
		},
	}
	out.AddFormatFlag(cmd.Flags(), &format)
	cmd.Flags().StringSliceVar(&states, "state", nil, "only ids in these states (Empty, Ongoing, PrepareCommit, ...)")
	cmd.Flags().Int64SliceVar(&producerIDs, "producer-id", nil, "only ids with these producer ids")
	return cmd
}

func writeList(w io.Writer, format out.Format, entries []listEntry) error {
	if format == out.JSON {
		return out.WriteJSON(w, entries)
	}
	t := out.NewTable(w, "TRANSACTIONAL-ID", "COORDINATOR", "PRODUCER-ID", "STATE")
	for _, e := range entries {
		t.Row(e.TransactionalID, e.Coordinator, e.ProducerID, e.State)
	}
	return t.Flush()
}
