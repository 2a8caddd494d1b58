package api

// DescribeAcls, versions 0-3 (v1: resource pattern types; v2: flexible).
//
// Needs DESCRIBE on the cluster (else CLUSTER_AUTHORIZATION_FAILED); without an authorizer
// SECURITY_DISABLED. The ACLs the filter matches come back grouped by resource pattern.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerDescribeAcls(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.DescribeACLs, MinVersion: 0, MaxVersion: 3, Handle: h.describeAcls})
}

func (h *Handlers) describeAcls(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.DescribeACLsRequest)
	resp := kmsg.NewPtrDescribeACLsResponse()
	switch {
	case h.Authorizer == nil:
		resp.ErrorCode = kerr.SecurityDisabled.Code
		return wire.Reply{Msg: resp}, nil
	case !h.allowedCluster(ctx, r, auth.OpDescribe):
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return wire.Reply{Msg: resp}, nil
	}
	f := metadata.ACLFilter{
		ResourceType: int8(req.ResourceType), ResourceName: req.ResourceName, PatternType: int8(req.ResourcePatternType),
		Principal: req.Principal, Host: req.Host, Operation: int8(req.Operation), Permission: int8(req.PermissionType),
	}
	if req.Version == 0 {
		f.PatternType = metadata.ACLPatternLiteral
	}
	_, acls := h.Controller.Image().ACLs.Matching(f)
	type pattern struct {
		typ, pt int8
		name    string
	}
	byPattern := map[pattern]int{}
	for _, a := range acls {
		k := pattern{a.ResourceType, a.PatternType, a.ResourceName}
		i, ok := byPattern[k]
		if !ok {
			res := kmsg.NewDescribeACLsResponseResource()
			res.ResourceType = kmsg.ACLResourceType(a.ResourceType)
			res.ResourceName = a.ResourceName
			res.ResourcePatternType = kmsg.ACLResourcePatternType(a.PatternType)
			i = len(resp.Resources)
			byPattern[k] = i
			resp.Resources = append(resp.Resources, res)
		}
		e := kmsg.NewDescribeACLsResponseResourceACL()
		e.Principal, e.Host = a.Principal, a.Host
		e.Operation, e.PermissionType = kmsg.ACLOperation(a.Operation), kmsg.ACLPermissionType(a.Permission)
		resp.Resources[i].ACLs = append(resp.Resources[i].ACLs, e)
	}
	return wire.Reply{Msg: resp}, nil
}
