package group

import (
	"fmt"
	"io"
	"sort"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
	"github.com/gregorhq/gregor/internal/cli/out"
)

// listEntry is one group in "group list".
type listEntry struct {
	Group        string `json:"group"`
	State        string `json:"state"`
	ProtocolType string `json:"protocol_type"`
	Coordinator  int32  `json:"coordinator"`
}

func newListCommand(cf *clientflags.Flags) *cobra.Command {
	var (
		format out.Format
		states []string
		types  []string
		wide   bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List groups, one a line (with --state: a table of group and state)",
		Example: `  gregor group list
  gregor group list --state Stable,Empty
  gregor group list --type consumer --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SilenceUsage = true
			adm, err := cf.NewAdmin()
			if err != nil {
				return err
			}
			defer adm.Close()
			var listed kadm.ListedGroups
			if len(types) > 0 {
				listed, err = adm.ListGroupsByType(clientflags.Context(cmd), types, states...)
			} else {
				listed, err = adm.ListGroups(clientflags.Context(cmd), states...)
			}
			if err != nil {
				return fmt.Errorf("listing groups: %w", err)
			}
			entries := make([]listEntry, 0, len(listed))
			for _, g := range listed {
				entries = append(entries, listEntry{Group: g.Group, State: g.State, ProtocolType: g.ProtocolType, Coordinator: g.Coordinator})
			}
			sort.Slice(entries, func(i, j int) bool { return entries[i].Group < entries[j].Group })
			return writeList(cmd.OutOrStdout(), format, entries, wide || cmd.Flags().Changed("state"))
		},
	}
	out.AddFormatFlag(cmd.Flags(), &format)
	cmd.Flags().StringSliceVar(&states, "state", nil, "only groups in these states (Stable, Empty, PreparingRebalance, ...); also prints the state")
	cmd.Flags().StringSliceVar(&types, "type", nil, "only groups of these types (classic, consumer, share)")
	cmd.Flags().BoolVarP(&wide, "verbose", "v", false, "print the state as well as the name")
	return cmd
}

func writeList(w io.Writer, format out.Format, entries []listEntry, wide bool) error {
	if format == out.JSON {
		return out.WriteJSON(w, entries)
	}
	if !wide {
		for _, e := range entries {
			if _, err := fmt.Fprintln(w, e.Group); err != nil {
				return err
			}
		}
		return nil
	}
	t := out.NewTable(w, "GROUP", "STATE")
	for _, e := range entries {
		t.Row(e.Group, dash(e.State))
	}
	return t.Flush()
}
