package topic

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
	configcmd "github.com/gregorhq/gregor/internal/cli/config"
)

func newAlterConfigCommand(cf *clientflags.Flags) *cobra.Command {
	var (
		topic        string
		addConfig    []string
		deleteConfig []string
	)
	cmd := &cobra.Command{
		Use:   "alter-config [--topic] NAME [--add-config k=v,...] [--delete-config k,...]",
		Short: "Set or delete a topic's config overrides",
		Long: `Set or delete a topic's config overrides, key by key; overrides not named
are kept. The same as "gregor config alter --entity-type topics".`,
		Example: `  gregor topic alter-config --topic orders --add-config retention.ms=86400000,cleanup.policy=[compact,delete]
  gregor topic alter-config --topic orders --delete-config retention.ms`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := topicName(topic, args)
			if err != nil {
				return err
			}
			ops, err := configcmd.AlterOps(addConfig, deleteConfig)
			if err != nil {
				return err
			}
			cmd.SilenceUsage = true
			adm, err := cf.NewAdmin()
			if err != nil {
				return err
			}
			defer adm.Close()
			rs, err := adm.AlterTopicConfigs(clientflags.Context(cmd), ops, name)
			if err != nil {
				return fmt.Errorf("altering configs of topic %q: %w", name, err)
			}
			if len(rs) != 1 {
				return fmt.Errorf("altering configs of topic %q: the broker answered for %d resources", name, len(rs))
			}
			if rs[0].Err != nil {
				return topicError(name, rs[0].Err, rs[0].ErrMessage)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Completed updating config for topic %s.\n", name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&topic, "topic", "", "the topic whose configs to change")
	f.StringArrayVar(&addConfig, "add-config", nil, "configs to set: k=v,k2=[a,b]; repeat for more")
	f.StringArrayVar(&deleteConfig, "delete-config", nil, "configs to delete: k,k2; repeat for more")
	return cmd
}
