package api

// CreateAcls, versions 0-3 (v1: resource pattern types; v2: flexible).
//
// Needs ALTER on the cluster (else every creation gets CLUSTER_AUTHORIZATION_FAILED); without
// an authorizer every creation gets SECURITY_DISABLED, as in Kafka. ACLs are stored through
// the controller; an ACL already stored is not stored twice.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerCreateAcls(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.CreateACLs, MinVersion: 0, MaxVersion: 3, Handle: h.createAcls})
}

func (h *Handlers) createAcls(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.CreateACLsRequest)
	resp := kmsg.NewPtrCreateACLsResponse()
	results := make([]kmsg.CreateACLsResponseResult, len(req.Creations))
	for i := range results {
		results[i] = kmsg.NewCreateACLsResponseResult()
	}
	resp.Results = results
	var code int16
	switch {
	case h.Authorizer == nil:
		code = kerr.SecurityDisabled.Code
	case !h.allowedCluster(ctx, r, auth.OpAlter):
		code = kerr.ClusterAuthorizationFailed.Code
	}
	if code != 0 {
		for i := range results {
			results[i].ErrorCode = code
		}
		return wire.Reply{Msg: resp}, nil
	}
	acls := make([]metadata.ACL, len(req.Creations))
	for i, c := range req.Creations {
		pt := int8(c.ResourcePatternType)
		if req.Version == 0 {
			pt = metadata.ACLPatternLiteral
		}
		acls[i] = metadata.ACL{
			ResourceType: int8(c.ResourceType), ResourceName: c.ResourceName, PatternType: pt,
			Principal: c.Principal, Host: c.Host, Operation: int8(c.Operation), Permission: int8(c.PermissionType),
		}
	}
	for i, err := range h.Controller.CreateAcls(ctx, acls) {
		results[i].ErrorCode, results[i].ErrorMessage = controller.ErrorCode(err)
	}
	return wire.Reply{Msg: resp}, nil
}
