package config

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
	"github.com/gregorhq/gregor/internal/cli/property"
)

func newAlterCommand(cf *clientflags.Flags) *cobra.Command {
	var (
		e           entity
		addConfig   []string
		deleteConfg []string
	)
	cmd := &cobra.Command{
		Use:   "alter --entity-type topics|brokers --entity-name NAME [--add-config k=v,...] [--delete-config k,...]",
		Short: "Set or delete configs of a topic or broker",
		Long: `Set or delete configs of a topic or broker, key by key
(IncrementalAlterConfigs): keys not named keep their values. A value with
commas goes in square brackets: --add-config cleanup.policy=[compact,delete].`,
		Example: `  gregor config alter --entity-type topics --entity-name orders --add-config retention.ms=86400000
  gregor config alter --entity-type brokers --entity-default --add-config log.retention.ms=604800000
  gregor config alter --entity-type topics --entity-name orders --delete-config retention.ms`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, err := e.check()
			if err != nil {
				return err
			}
			ops, err := AlterOps(addConfig, deleteConfg)
			if err != nil {
				return err
			}
			cmd.SilenceUsage = true
			adm, err := cf.NewAdmin()
			if err != nil {
				return err
			}
			defer adm.Close()
			ctx := clientflags.Context(cmd)
			var rs kadm.AlterConfigsResponses
			switch {
			case e.Type == "topics":
				rs, err = adm.AlterTopicConfigs(ctx, ops, e.Name)
			case id < 0:
				rs, err = adm.AlterBrokerConfigs(ctx, ops)
			default:
				rs, err = adm.AlterBrokerConfigs(ctx, ops, id)
			}
			if err == nil && len(rs) != 1 {
				err = fmt.Errorf("the broker answered for %d resources", len(rs))
			}
			if err == nil && rs[0].Err != nil {
				err = brokerError(rs[0].Err, rs[0].ErrMessage)
			}
			if err != nil {
				return e.explain("altering", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Completed updating config for %s.\n", e.String())
			return nil
		},
	}
	f := cmd.Flags()
	e.register(f)
	f.StringArrayVar(&addConfig, "add-config", nil, "configs to set: k=v,k2=[a,b]; repeat for more")
	f.StringArrayVar(&deleteConfg, "delete-config", nil, "configs to delete: k,k2; repeat for more")
	return cmd
}

// AlterOps turns --add-config and --delete-config flags into incremental
// operations, sets first. Naming no config, or one key in both, is an error.
func AlterOps(addFlags, deleteFlags []string) ([]kadm.AlterConfig, error) {
	add, err := property.ParseAddConfig(addFlags)
	if err != nil {
		return nil, err
	}
	del, err := property.ParseDeleteConfig(deleteFlags)
	if err != nil {
		return nil, err
	}
	if len(add) == 0 && len(del) == 0 {
		return nil, errors.New("nothing to change: use --add-config or --delete-config")
	}
	var ops []kadm.AlterConfig
	for _, k := range sortedKeys(add) {
		ops = append(ops, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: kadm.StringPtr(add[k])})
	}
	for _, k := range del {
		if _, ok := add[k]; ok {
			return nil, fmt.Errorf("config %q is both added and deleted", k)
		}
		ops = append(ops, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k})
	}
	return ops, nil
}
