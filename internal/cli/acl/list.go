package acl

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
	"github.com/gregorhq/gregor/internal/cli/out"
)

func newListCommand(cf *clientflags.Flags) *cobra.Command {
	var s selection
	var format out.Format
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List ACLs (all, or those of the resources and principal given)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pt, err := s.patternType()
			if err != nil {
				return err
			}
			reqs := []*kmsg.DescribeACLsRequest{}
			for _, r := range s.resources() {
				req := describeRequest(pt, s.principal)
				req.ResourceType, req.ResourceName = r.typ, kmsg.StringPtr(r.name)
				reqs = append(reqs, req)
			}
			if len(reqs) == 0 {
				reqs = append(reqs, describeRequest(pt, s.principal))
			}
			cl, err := cf.NewClient()
			if err != nil {
				return err
			}
			defer cl.Close()
			var acls []described
			for _, req := range reqs {
				resp, err := req.RequestWith(clientflags.Context(cmd), cl)
				if err != nil {
					return err
				}
				if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
					return fmt.Errorf("listing ACLs: %w", err)
				}
				for _, r := range resp.Resources {
					for _, a := range r.ACLs {
						acls = append(acls, describedACL(r.ResourceType, r.ResourceName, r.ResourcePatternType, a.Principal, a.Host, a.Operation, a.PermissionType))
					}
				}
			}
			return printACLs(cmd.OutOrStdout(), format, acls)
		},
	}
	s.register(cmd.Flags(), true)
	out.AddFormatFlag(cmd.Flags(), &format)
	return cmd
}

func describeRequest(pt kmsg.ACLResourcePatternType, principal string) *kmsg.DescribeACLsRequest {
	req := kmsg.NewPtrDescribeACLsRequest()
	req.ResourceType, req.ResourcePatternType = kmsg.ACLResourceTypeAny, pt
	req.Operation, req.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	if principal != "" {
		req.Principal = kmsg.StringPtr(principal)
	}
	return req
}

func describedACL(typ kmsg.ACLResourceType, name string, pt kmsg.ACLResourcePatternType, principal, host string, op kmsg.ACLOperation, perm kmsg.ACLPermissionType) described {
	return described{
		ResourceType: strings.ToUpper(typ.String()), ResourceName: name, PatternType: strings.ToUpper(pt.String()),
		Principal: principal, Host: host, Operation: strings.ToUpper(op.String()), Permission: strings.ToUpper(perm.String()),
	}
}

// printACLs prints acls sorted, so that the same ACLs always print the same: the broker
// keeps them as a set, in no order.
func printACLs(w io.Writer, format out.Format, acls []described) error {
	slices.SortFunc(acls, func(a, b described) int {
		return cmp.Or(cmp.Compare(a.ResourceType, b.ResourceType), cmp.Compare(a.ResourceName, b.ResourceName),
			cmp.Compare(a.PatternType, b.PatternType), cmp.Compare(a.Principal, b.Principal), cmp.Compare(a.Host, b.Host),
			cmp.Compare(a.Operation, b.Operation), cmp.Compare(a.Permission, b.Permission))
	})
	if format == out.JSON {
		if acls == nil {
			acls = []described{}
		}
		return out.WriteJSON(w, acls)
	}
	t := out.NewTable(w, "RESOURCE-TYPE", "RESOURCE-NAME", "PATTERN", "PRINCIPAL", "HOST", "OPERATION", "PERMISSION")
	for _, a := range acls {
		t.Row(a.ResourceType, a.ResourceName, a.PatternType, a.Principal, a.Host, a.Operation, a.Permission)
	}
	return t.Flush()
}
