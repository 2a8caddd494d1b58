package topic

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
)

func newDeleteCommand(cf *clientflags.Flags) *cobra.Command {
	var (
		topic    string
		ifExists bool
	)
	cmd := &cobra.Command{
		Use:     "delete [--topic] NAME",
		Short:   "Delete a topic and all its records",
		Example: `  gregor topic delete --topic quickstart-events`,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := topicName(topic, args)
			if err != nil {
				return err
			}
			cmd.SilenceUsage = true

			adm, err := cf.NewAdmin()
			if err != nil {
				return err
			}
			defer adm.Close()
			resp, err := adm.DeleteTopics(clientflags.Context(cmd), name)
			r, err := topicResult("deleting", name, resp, err)
			if err != nil {
				return err
			}
			if r.Err != nil {
				if ifExists && errors.Is(r.Err, kerr.UnknownTopicOrPartition) {
					return nil
				}
				return topicError(name, r.Err, r.ErrMessage)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Deleted topic %s.\n", name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&topic, "topic", "", "name of the topic to delete")
	f.BoolVar(&ifExists, "if-exists", false, "succeed quietly if the topic does not exist")
	return cmd
}
