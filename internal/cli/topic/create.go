package topic

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
	"github.com/gregorhq/gregor/internal/cli/property"
)

func newCreateCommand(cf *clientflags.Flags) *cobra.Command {
	var (
		topic             string
		partitions        int32
		replicationFactor int16
		configs           []string
		ifNotExists       bool
	)
	cmd := &cobra.Command{
		Use:   "create [--topic] NAME",
		Short: "Create a topic",
		Example: `  gregor topic create --topic quickstart-events
  gregor topic create --topic orders --partitions 6 --replication-factor 3 --config cleanup.policy=compact`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := topicName(topic, args)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("partitions") && partitions < 1 {
				return fmt.Errorf("--partitions %d: must be at least 1", partitions)
			}
			if cmd.Flags().Changed("replication-factor") && replicationFactor < 1 {
				return fmt.Errorf("--replication-factor %d: must be at least 1", replicationFactor)
			}
			cfgs, err := parseConfigs(configs)
			if err != nil {
				return err
			}
			cmd.SilenceUsage = true

			adm, err := cf.NewAdmin()
			if err != nil {
				return err
			}
			defer adm.Close()
			resp, err := adm.CreateTopics(clientflags.Context(cmd), partitions, replicationFactor, cfgs, name)
			r, err := topicResult("creating", name, resp, err)
			if err != nil {
				return err
			}
			if r.Err != nil {
				if ifNotExists && errors.Is(r.Err, kerr.TopicAlreadyExists) {
					return nil
				}
				return topicError(name, r.Err, r.ErrMessage)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Created topic %s.\n", name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&topic, "topic", "", "name of the topic to create")
	f.Int32Var(&partitions, "partitions", -1, "number of partitions (default: the broker's num.partitions)")
	f.Int16Var(&replicationFactor, "replication-factor", -1, "replicas of each partition (default: the broker's default.replication.factor)")
	f.StringArrayVar(&configs, "config", nil, "topic config override key=value; repeat for more")
	f.BoolVar(&ifNotExists, "if-not-exists", false, "succeed quietly if the topic already exists")
	return cmd
}

// parseConfigs turns --config key=value flags into CreateTopics configs.
func parseConfigs(pairs []string) (map[string]*string, error) {
	m, err := property.Parse("config", pairs, nil)
	if err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, nil
	}
	cfgs := make(map[string]*string, len(m))
	for k, v := range m {
		cfgs[k] = &v
	}
	return cfgs, nil
}
