package user

import (
	"io"
	"sort"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
	"github.com/gregorhq/gregor/internal/cli/out"
)

// credential is one line of describe's output.
type credential struct {
	User       string `json:"user"`
	Mechanism  string `json:"mechanism,omitempty"`
	Iterations int32  `json:"iterations,omitempty"`
	Error      string `json:"error,omitempty"`
}

func newDescribeCommand(cf *clientflags.Flags) *cobra.Command {
	var users []string
	var format out.Format
	cmd := &cobra.Command{
		Use:   "describe",
		Short: "List users' SCRAM mechanisms and iterations (every user by default)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			adm, err := cf.NewAdmin()
			if err != nil {
				return err
			}
			defer adm.Close()
			described, err := adm.DescribeUserSCRAMs(clientflags.Context(cmd), users...)
			if err != nil {
				return err
			}
			return printCredentials(cmd.OutOrStdout(), format, described)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&users, "user", nil, "user to describe (repeatable)")
	out.AddFormatFlag(f, &format)
	return cmd
}

func printCredentials(w io.Writer, format out.Format, described kadm.DescribedUserSCRAMs) error {
	creds := []credential{}
	for _, d := range described {
		if d.Err != nil {
			creds = append(creds, credential{User: d.User, Error: d.Err.Error()})
			continue
		}
		for _, ci := range d.CredInfos {
			creds = append(creds, credential{User: d.User, Mechanism: mechanismName(ci.Mechanism), Iterations: ci.Iterations})
		}
	}
	sort.Slice(creds, func(i, j int) bool {
		if creds[i].User != creds[j].User {
			return creds[i].User < creds[j].User
		}
		return creds[i].Mechanism < creds[j].Mechanism
	})
	if format == out.JSON {
		return out.WriteJSON(w, creds)
	}
	t := out.NewTable(w, "USER", "MECHANISM", "ITERATIONS", "ERROR")
	for _, c := range creds {
		iters := any(c.Iterations)
		if c.Error != "" {
			iters = ""
		}
		t.Row(c.User, c.Mechanism, iters, c.Error)
	}
	return t.Flush()
}
