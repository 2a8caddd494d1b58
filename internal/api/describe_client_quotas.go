package api

// DescribeClientQuotas, versions 0-1 (v1: flexible).
//
// Each component filters one entity type: match type 0 an exact name, 1 the default, 2 any
// (named or default). With strict, entities that have a type no component names are left
// out. Needs DESCRIBE_CONFIGS on the cluster (else CLUSTER_AUTHORIZATION_FAILED).

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerDescribeClientQuotas(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.DescribeClientQuotas, MinVersion: 0, MaxVersion: 1, Handle: h.describeClientQuotas})
}

func (h *Handlers) describeClientQuotas(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.DescribeClientQuotasRequest)
	resp := kmsg.NewPtrDescribeClientQuotasResponse()
	if !h.allowedCluster(ctx, r, auth.OpDescribeConfigs) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return wire.Reply{Msg: resp}, nil
	}
	named := map[string]bool{}
	for _, c := range req.Components {
		if (c.EntityType != "user" && c.EntityType != "client-id" && c.EntityType != "ip") || named[c.EntityType] || (c.MatchType == 0 && c.Match == nil) || c.MatchType > 2 {
			resp.ErrorCode = kerr.InvalidRequest.Code
			resp.ErrorMessage = strPtr("Invalid quota filter component")
			return wire.Reply{Msg: resp}, nil
		}
		named[c.EntityType] = true
	}
	q := h.Controller.Image().ClientQuotas
	ents := slices.SortedFunc(maps.Keys(q), func(a, b metadata.QuotaEntity) int { return strings.Compare(a.String(), b.String()) })
	for _, e := range ents {
		if !quotaFilterMatches(req, e) {
			continue
		}
		entry := kmsg.NewDescribeClientQuotasResponseEntry()
		if e.HasUser() {
			entry.Entity = append(entry.Entity, entityComponent("user", e.User, e.UserDefault))
		}
		if e.HasClient() {
			entry.Entity = append(entry.Entity, entityComponent("client-id", e.ClientID, e.ClientDefault))
		}
		if e.HasIP() {
			entry.Entity = append(entry.Entity, entityComponent("ip", e.IP, e.IPDefault))
		}
		for _, k := range slices.Sorted(maps.Keys(q[e])) {
			v := kmsg.NewDescribeClientQuotasResponseEntryValue()
			v.Key, v.Value = k, q[e][k]
			entry.Values = append(entry.Values, v)
		}
		resp.Entries = append(resp.Entries, entry)
	}
	return wire.Reply{Msg: resp}, nil
}

func entityComponent(typ, name string, def bool) kmsg.DescribeClientQuotasResponseEntryEntity {
	c := kmsg.NewDescribeClientQuotasResponseEntryEntity()
	c.Type = typ
	if !def {
		c.Name = &name
	}
	return c
}

func quotaFilterMatches(req *kmsg.DescribeClientQuotasRequest, e metadata.QuotaEntity) bool {
	for _, c := range req.Components {
		has, name, def := e.HasUser(), e.User, e.UserDefault
		switch c.EntityType {
		case "client-id":
			has, name, def = e.HasClient(), e.ClientID, e.ClientDefault
		case "ip":
			has, name, def = e.HasIP(), e.IP, e.IPDefault
		}
		switch c.MatchType {
		case 0:
			if !has || def || name != *c.Match {
				return false
			}
		case 1:
			if !def {
				return false
			}
		default:
			if !has {
				return false
			}
		}
	}
	if req.Strict {
		named := map[string]bool{}
		for _, c := range req.Components {
			named[c.EntityType] = true
		}
		if (e.HasUser() && !named["user"]) || (e.HasClient() && !named["client-id"]) || (e.HasIP() && !named["ip"]) {
			return false
		}
	}
	return true
}
