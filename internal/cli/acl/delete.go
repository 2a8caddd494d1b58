package acl

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
	"github.com/gregorhq/gregor/internal/cli/out"
)

func newDeleteCommand(cf *clientflags.Flags) *cobra.Command {
	var s selection
	var format out.Format
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete the ACLs matching the resources, principals and operations given",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rs := s.resources()
			if len(rs) == 0 {
				return errNoResource
			}
			es, ops, pt, err := s.parseFilter(kmsg.ACLOperationAny)
			if err != nil {
				return err
			}
			req := kmsg.NewPtrDeleteACLsRequest()
			for _, r := range rs {
				for _, op := range ops {
					f := kmsg.NewDeleteACLsRequestFilter()
					f.ResourceType, f.ResourceName, f.ResourcePatternType = r.typ, kmsg.StringPtr(r.name), pt
					f.Operation, f.PermissionType = op, kmsg.ACLPermissionTypeAny
					if len(es) == 0 {
						req.Filters = append(req.Filters, f)
						continue
					}
					for _, e := range es {
						f.Principal, f.Host, f.PermissionType = kmsg.StringPtr(e.principal), kmsg.StringPtr(e.host), e.perm
						req.Filters = append(req.Filters, f)
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
			var deleted []described
			for _, res := range resp.Results {
				if err := kerr.ErrorForCode(res.ErrorCode); err != nil {
					return fmt.Errorf("deleting ACLs: %w", err)
				}
				for _, m := range res.MatchingACLs {
					deleted = append(deleted, describedACL(m.ResourceType, m.ResourceName, m.ResourcePatternType, m.Principal, m.Host, m.Operation, m.PermissionType))
				}
			}
			return printACLs(cmd.OutOrStdout(), format, deleted)
		},
	}
	s.register(cmd.Flags(), false)
	out.AddFormatFlag(cmd.Flags(), &format)
	return cmd
}
