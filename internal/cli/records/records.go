// Package records implements "gregor records": commands on the records of a partition.
// delete is kafka-delete-records.sh: it moves partitions' log start offsets up, so that the
// records before them can no longer be read and their segments are deleted. dump is
// kafka-dump-log.sh: it prints segment files read offline, in the text of Kafka's tool.
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
		Short: "Delete the records of partitions up to an offset; dump segment files",
	}
	cf.Register(cmd.PersistentFlags())
	cmd.AddCommand(newDeleteCommand(&cf), newDumpCommand())
	return cmd
}
