package user

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
)

func newDeleteCommand(cf *clientflags.Flags) *cobra.Command {
	var user, mechanism string
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete a user's SCRAM credential for one mechanism",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if user == "" {
				return errors.New("--user is required")
			}
			mech, err := parseMechanism(mechanism)
			if err != nil {
				return err
			}
			adm, err := cf.NewAdmin()
			if err != nil {
				return err
			}
			defer adm.Close()
			res, err := adm.AlterUserSCRAMs(clientflags.Context(cmd), []kadm.DeleteSCRAM{{User: user, Mechanism: mech}}, nil)
			if err != nil {
				return err
			}
			if err := res.Error(); errors.Is(err, kerr.ResourceNotFound) {
				return fmt.Errorf("user %q has no %s credential: %w", user, mechanismName(mech), err)
			} else if err != nil {
				return fmt.Errorf("deleting %s's %s credential: %w", user, mechanismName(mech), err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Deleted %s credential of user %s.\n", mechanismName(mech), user)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&user, "user", "", "user name")
	f.StringVar(&mechanism, "mechanism", "SCRAM-SHA-256", "SCRAM-SHA-256 or SCRAM-SHA-512")
	return cmd
}
