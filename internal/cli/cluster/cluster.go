// Package cluster implements "gregor cluster": describe the cluster as the brokers see it
// (brokers, racks, fenced state, the active controller, partition health) and run leader
// elections (elect-leaders, kafka-leader-election). One file per verb.
package cluster

import (
	"github.com/spf13/cobra"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
)

// NewCommand returns the "cluster" command and its verbs.
func NewCommand() *cobra.Command {
	var cf clientflags.Flags
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Describe the cluster: brokers, controller, partition health; elect leaders",
	}
	cf.Register(cmd.PersistentFlags())
	cmd.AddCommand(newDescribeCommand(&cf), newElectLeadersCommand(&cf))
	return cmd
}
