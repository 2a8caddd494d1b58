package config

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
	"github.com/gregorhq/gregor/internal/cli/out"
)

// described is one config in "config describe" output.
type described struct {
	Name      string    `json:"name"`
	Value     *string   `json:"value"` // nil: sensitive or unset
	Source    string    `json:"source"`
	Sensitive bool      `json:"sensitive"`
	Synonyms  []synonym `json:"synonyms"`
}

type synonym struct {
	Name   string  `json:"name"`
	Value  *string `json:"value"`
	Source string  `json:"source"`
}

func newDescribeCommand(cf *clientflags.Flags) *cobra.Command {
	var (
		e      entity
		all    bool
		format out.Format
	)
	cmd := &cobra.Command{
		Use:   "describe --entity-type topics|brokers --entity-name NAME [--all]",
		Short: "Describe the configs of a topic or broker",
		Long: `Describe the configs of a topic or broker.

Without --all only the configs that do not have their built-in default are
shown; --all shows every config. Each config shows its source and, as
kafka-configs does, its synonyms: the definitions it could come from, the one
in use first.`,
		Example: `  gregor config describe --entity-type topics --entity-name orders
  gregor config describe --entity-type brokers --entity-name 1 --all
  gregor config describe --entity-type brokers --entity-default`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, err := e.check()
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
			var rcs kadm.ResourceConfigs
			switch {
			case e.Type == "topics":
				rcs, err = adm.DescribeTopicConfigs(ctx, e.Name)
			case id < 0:
				rcs, err = adm.DescribeBrokerConfigs(ctx)
			default:
				rcs, err = adm.DescribeBrokerConfigs(ctx, id)
			}
			if err != nil {
				return fmt.Errorf("describing %s: %w", e.String(), err)
			}
			if len(rcs) != 1 {
				return fmt.Errorf("describing %s: the broker answered for %d resources", e.String(), len(rcs))
			}
			rc := rcs[0]
			if rc.Err != nil {
				return e.explain("describing", brokerError(rc.Err, rc.ErrMessage))
			}
			return writeDescribed(cmd.OutOrStdout(), format, e.String(), all, describe(rc.Configs, all))
		},
	}
	f := cmd.Flags()
	e.register(f)
	f.BoolVar(&all, "all", false, "show every config, not only those that differ from the default")
	out.AddFormatFlag(f, &format)
	return cmd
}

// describe converts configs, leaving out those with their built-in default unless all.
func describe(configs []kadm.Config, all bool) []described {
	ds := []described{}
	for _, c := range configs {
		if !all && c.Source == kmsg.ConfigSourceDefaultConfig {
			continue
		}
		d := described{Name: c.Key, Value: c.Value, Source: c.Source.String(), Sensitive: c.Sensitive, Synonyms: []synonym{}}
		for _, s := range c.Synonyms {
			d.Synonyms = append(d.Synonyms, synonym{Name: s.Key, Value: s.Value, Source: s.Source.String()})
		}
		ds = append(ds, d)
	}
	return ds
}

// writeDescribed prints configs as JSON, or as kafka-configs --describe does:
// a heading, then "  key=value sensitive=false synonyms={SOURCE:key=value, ...}".
func writeDescribed(w io.Writer, format out.Format, what string, all bool, ds []described) error {
	if format == out.JSON {
		return out.WriteJSON(w, ds)
	}
	heading := "Non-default configs for %s are:\n"
	if all {
		heading = "All configs for %s are:\n"
	}
	if _, err := fmt.Fprintf(w, heading, what); err != nil {
		return err
	}
	for _, d := range ds {
		syns := make([]string, len(d.Synonyms))
		for i, s := range d.Synonyms {
			syns[i] = s.Source + ":" + s.Name + "=" + valueOf(s.Value)
		}
		if _, err := fmt.Fprintf(w, "  %s=%s sensitive=%t synonyms={%s}\n",
			d.Name, valueOf(d.Value), d.Sensitive, strings.Join(syns, ", ")); err != nil {
			return err
		}
	}
	return nil
}

func valueOf(v *string) string {
	if v == nil {
		return "null"
	}
	return *v
}
