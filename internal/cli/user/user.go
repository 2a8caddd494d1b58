// Package user implements "gregor user": the users the brokers authenticate. Its one noun,
// scram, manages SCRAM credentials (kafka-configs --entity-type users --add-config
// 'SCRAM-SHA-256=[password=...]'):
//
//	gregor user scram set --user alice --mechanism SCRAM-SHA-256 --password secret [--iterations 4096]
//	gregor user scram describe [--user alice ...]
//	gregor user scram delete --user alice --mechanism SCRAM-SHA-256
//
// The password is salted client side (PBKDF2); only the salted form goes to the broker, which
// keeps the derived keys, never the password.
package user

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
)

// NewCommand returns the "user" command and its nouns.
func NewCommand() *cobra.Command {
	var cf clientflags.Flags
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage the users brokers authenticate (SCRAM credentials)",
	}
	cf.Register(cmd.PersistentFlags())
	scram := &cobra.Command{
		Use:   "scram",
		Short: "Set, describe and delete SCRAM credentials",
	}
	scram.AddCommand(newSetCommand(&cf), newDescribeCommand(&cf), newDeleteCommand(&cf))
	cmd.AddCommand(scram)
	return cmd
}

// parseMechanism maps SCRAM-SHA-256 / SCRAM-SHA-512 (any case) to kadm's mechanism.
func parseMechanism(s string) (kadm.ScramMechanism, error) {
	switch strings.ToUpper(s) {
	case "SCRAM-SHA-256":
		return kadm.ScramSha256, nil
	case "SCRAM-SHA-512":
		return kadm.ScramSha512, nil
	}
	return 0, fmt.Errorf("--mechanism %q: want SCRAM-SHA-256 or SCRAM-SHA-512", s)
}

func mechanismName(m kadm.ScramMechanism) string {
	switch m {
	case kadm.ScramSha256:
		return "SCRAM-SHA-256"
	case kadm.ScramSha512:
		return "SCRAM-SHA-512"
	}
	return "UNKNOWN"
}
