package group

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
)

func newDeleteCommand(cf *clientflags.Flags) *cobra.Command {
	var (
		groups []string
		all    bool
	)
	cmd := &cobra.Command{
		Use:   "delete [GROUP...]",
		Short: "Delete groups that have no members, with their committed offsets",
		Example: `  gregor group delete --group old-app
  gregor group delete old-app other-app`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SilenceUsage = true
			adm, err := cf.NewAdmin()
			if err != nil {
				return err
			}
			defer adm.Close()
			ctx := clientflags.Context(cmd)
			names, err := groupsFrom(ctx, adm, groups, args, all)
			if err != nil {
				return err
			}
			resps, err := adm.DeleteGroups(ctx, names...)
			if err != nil {
				return fmt.Errorf("deleting groups: %w", err)
			}
			var ok []string
			var errs []error
			for _, name := range names {
				r, found := resps[name]
				switch {
				case !found:
					errs = append(errs, fmt.Errorf("group %q: no answer from the coordinator", name))
				case r.Err != nil:
					errs = append(errs, clientflags.Explain("group", name, r.Err))
				default:
					ok = append(ok, "'"+name+"'")
				}
			}
			if len(ok) > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "Deletion of requested consumer groups (%s) was successful.\n", strings.Join(ok, ", "))
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().StringArrayVar(&groups, "group", nil, "group to delete (repeatable)")
	cmd.Flags().BoolVar(&all, "all-groups", false, "delete every group that has no members")
	return cmd
}
