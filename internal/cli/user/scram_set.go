package user

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
)

func newSetCommand(cf *clientflags.Flags) *cobra.Command {
	var user, mechanism, password string
	var iterations int32
	cmd := &cobra.Command{
		Use:   "set",
		Short: "Create or replace a user's SCRAM credential",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if user == "" || password == "" {
				return errors.New("--user and --password are required")
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
			res, err := adm.AlterUserSCRAMs(clientflags.Context(cmd), nil, []kadm.UpsertSCRAM{
				{User: user, Mechanism: mech, Iterations: iterations, Password: password},
			})
			if err != nil {
				return err
			}
			if err := res.Error(); err != nil {
				return fmt.Errorf("setting %s's %s credential: %w", user, mechanismName(mech), err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Set %s credential for user %s.\n", mechanismName(mech), user)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&user, "user", "", "user name")
	f.StringVar(&mechanism, "mechanism", "SCRAM-SHA-256", "SCRAM-SHA-256 or SCRAM-SHA-512")
	f.StringVar(&password, "password", "", "the password (salted here; the broker never sees it)")
	f.Int32Var(&iterations, "iterations", 4096, "PBKDF2 iterations, 4096..16384")
	return cmd
}
