package acl

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
)

func newCreateCommand(cf *clientflags.Flags) *cobra.Command {
	var s selection
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create ACLs: every principal × host × operation × resource given",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rs := s.resources()
			es, ops, pt, err := s.parseFilter(kmsg.ACLOperationAll)
			if err != nil {
				return err
			}
			switch {
			case len(rs) == 0:
				return errNoResource
			case len(es) == 0:
				return errors.New("name a principal: --allow-principal or --deny-principal")
			case pt != kmsg.ACLResourcePatternTypeLiteral && pt != kmsg.ACLResourcePatternTypePrefixed:
				return errors.New("--resource-pattern-type: create takes LITERAL or PREFIXED")
			}
			req := kmsg.NewPtrCreateACLsRequest()
			for _, r := range rs {
				for _, e := range es {
					for _, op := range ops {
						c := kmsg.NewCreateACLsRequestCreation()
						c.ResourceType, c.ResourceName, c.ResourcePatternType = r.typ, r.name, pt
						c.Principal, c.Host, c.Operation, c.PermissionType = e.principal, e.host, op, e.perm
						req.Creations = append(req.Creations, c)
					}
				}
			}
			cl, err := cf.NewClient()
			if err != nil {
				return err
			}
			defer cl.Close()
			resp, err := req.RequestWith(clientflags.Context(cmd), cl)
			if err != nil {
				return err
			}
			var errs []error
			for i, res := range resp.Results {
				if err := kerr.ErrorForCode(res.ErrorCode); err != nil && i < len(req.Creations) {
					c := req.Creations[i]
					errs = append(errs, fmt.Errorf("%s %s on %s %s: %w", c.PermissionType, c.Principal, c.ResourceType, c.ResourceName, err))
				}
			}
			if len(errs) > 0 {
				return errors.Join(errs...)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Created %d ACL(s).\n", len(req.Creations))
			return nil
		},
	}
	s.register(cmd.Flags(), false)
	return cmd
}
