package api

// DeleteAcls, versions 0-3 (v1: resource pattern types; v2: flexible).
//
// Needs ALTER on the cluster (else every filter gets CLUSTER_AUTHORIZATION_FAILED); without
// an authorizer SECURITY_DISABLED. Each filter lists the ACLs it removed.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerDeleteAcls(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.DeleteACLs, MinVersion: 0, MaxVersion: 3, Handle: h.deleteAcls})
}

func (h *Handlers) deleteAcls(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.DeleteACLsRequest)
	resp := kmsg.NewPtrDeleteACLsResponse()
	results := make([]kmsg.DeleteACLsResponseResult, len(req.Filters))
	for i := range results {
		results[i] = kmsg.NewDeleteACLsResponseResult()
	}
	resp.Results = results
	var code int16
	switch {
	case h.Authorizer == nil:
		code = kerr.SecurityDisabled.Code
	case !h.allowedCluster(ctx, r, auth.OpAlter):
		code = kerr.ClusterAuthorizationFailed.Code
	}
	filters := make([]metadata.ACLFilter, len(req.Filters))
	for i, f := range req.Filters {
		filters[i] = metadata.ACLFilter{
			ResourceType: int8(f.ResourceType), ResourceName: f.ResourceName, PatternType: int8(f.ResourcePatternType),
			Principal: f.Principal, Host: f.Host, Operation: int8(f.Operation), Permission: int8(f.PermissionType),
		}
		if req.Version == 0 {
			filters[i].PatternType = metadata.ACLPatternLiteral
		}
	}
	var removed [][]metadata.ACL
	if code == 0 {
		var err error
		removed, err = h.Controller.DeleteAcls(ctx, filters)
		if err != nil {
			code, _ = controller.ErrorCode(err)
		}
	}
	for i := range results {
		if code != 0 {
			results[i].ErrorCode = code
			continue
		}
		for _, a := range removed[i] {
			m := kmsg.NewDeleteACLsResponseResultMatchingACL()
			m.ResourceType, m.ResourceName = kmsg.ACLResourceType(a.ResourceType), a.ResourceName
			m.ResourcePatternType = kmsg.ACLResourcePatternType(a.PatternType)
			m.Principal, m.Host = a.Principal, a.Host
			m.Operation, m.PermissionType = kmsg.ACLOperation(a.Operation), kmsg.ACLPermissionType(a.Permission)
			results[i].MatchingACLs = append(results[i].MatchingACLs, m)
		}
	}
	return wire.Reply{Msg: resp}, nil
}
