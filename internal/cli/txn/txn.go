// Package txn implements "gregor txn": list and describe transactional ids, as
// kafka-transactions does, with tables for people and --format json for
// scripts. One file per verb.
package txn

import (
	"github.com/spf13/cobra"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
)

// NewCommand returns the "txn" command and its verbs.
func NewCommand() *cobra.Command {
	var cf clientflags.Flags
	cmd := &cobra.Command{
		Use:     "txn",
		Aliases: []string{"transactions"},
		Short:   "List and describe transactional ids and their transactions",
		Long: `List and describe transactional ids and their transactions, as
kafka-transactions.sh does: the state of each id (Empty, Ongoing,
PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort), its producer id
and epoch, and the partitions of an ongoing transaction.`,
	}
	cf.Register(cmd.PersistentFlags())
	cmd.AddCommand(newListCommand(&cf), newDescribeCommand(&cf))
	return cmd
}
