package api

// AlterClientQuotas, versions 0-1 (v1: flexible).
//
// Entities are "user" and/or "client-id", each named or the default (a null name). Keys are
// producer_byte_rate, consumer_byte_rate, request_percentage and connection_creation_rate;
// anything else, an entity type other than those two, or one named twice is INVALID_REQUEST.
// Needs ALTER_CONFIGS on the cluster (else CLUSTER_AUTHORIZATION_FAILED). Changes are stored
// through the controller (ClientQuotaRecord).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerAlterClientQuotas(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.AlterClientQuotas, MinVersion: 0, MaxVersion: 1, Handle: h.alterClientQuotas})
}

func (h *Handlers) alterClientQuotas(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.AlterClientQuotasRequest)
	resp := kmsg.NewPtrAlterClientQuotasResponse()
	allowed := h.allowedCluster(ctx, r, auth.OpAlterConfigs)
	alts := make([]controller.QuotaAlteration, 0, len(req.Entries))
	idx := make([]int, len(req.Entries)) // entry -> index in alts, or -1
	for i, e := range req.Entries {
		re := kmsg.NewAlterClientQuotasResponseEntry()
		for _, c := range e.Entity {
			ec := kmsg.NewAlterClientQuotasResponseEntryEntity()
			ec.Type, ec.Name = c.Type, c.Name
			re.Entity = append(re.Entity, ec)
		}
		idx[i] = -1
		ent, ok := quotaEntity(e.Entity)
		switch {
		case !allowed:
			re.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		case !ok:
			re.ErrorCode = kerr.InvalidRequest.Code
			re.ErrorMessage = strPtr("Invalid quota entity")
		default:
			alt := controller.QuotaAlteration{Entity: ent}
			for _, op := range e.Ops {
				alt.Ops = append(alt.Ops, controller.QuotaOp{Key: op.Key, Value: op.Value, Remove: op.Remove})
			}
			idx[i] = len(alts)
			alts = append(alts, alt)
		}
		resp.Entries = append(resp.Entries, re)
	}
	errs := h.Controller.AlterClientQuotas(ctx, alts, req.ValidateOnly)
	for i, j := range idx {
		if j >= 0 {
			resp.Entries[i].ErrorCode, resp.Entries[i].ErrorMessage = controller.ErrorCode(errs[j])
		}
	}
	return wire.Reply{Msg: resp}, nil
}

// quotaEntity turns entity components into a metadata.QuotaEntity; false when a type is
// unknown or given twice, or there is none.
func quotaEntity(comps []kmsg.AlterClientQuotasRequestEntryEntity) (metadata.QuotaEntity, bool) {
	var e metadata.QuotaEntity
	seen := map[string]bool{}
	for _, c := range comps {
		if seen[c.Type] {
			return e, false
		}
		seen[c.Type] = true
		switch c.Type {
		case "user":
			if c.Name == nil {
				e.UserDefault = true
			} else if *c.Name == "" {
				return e, false
			} else {
				e.User = *c.Name
			}
		case "client-id":
			if c.Name == nil {
				e.ClientDefault = true
			} else if *c.Name == "" {
				return e, false
			} else {
				e.ClientID = *c.Name
			}
		case "ip":
			if c.Name == nil {
				e.IPDefault = true
			} else if *c.Name == "" {
				return e, false
			} else {
				e.IP = *c.Name
			}
		default:
			return e, false
		}
	}
	return e, len(comps) > 0
}
