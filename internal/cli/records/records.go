// Package records implements "gregor records": commands on the records of a partition. Its
// one verb, delete, is kafka-delete-records.sh: it moves partitions' log start offsets up, so
// that the records before them can no longer be read and their segments are deleted.
package records

import (
	"github.com/spf13/cobra"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
)

// NewCommand returns the "records" command and its verbs.
func NewCommand() *cobra.Command {
	var cf clientflags.Flags
	cmd := &cobra.Command{
		Use:   "records",
		Short: "Delete the records of partitions up to an offset",
	}
	cf.Register(cmd.PersistentFlags())
	cmd.AddCommand(newDeleteCommand(&cf))
	return cmd
}

// contextOf returns the command's context, or Background when the command is run without
// Execute.
