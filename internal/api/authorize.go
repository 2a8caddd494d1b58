package api

// Authorization: every handler that Kafka's KafkaApis authorizes calls allowed (or one of its
// helpers) once per resource, at the top of its per-resource loop, before doing anything. With
// no authorizer configured (Handlers.Authorizer nil) everything is allowed.

import (
	"context"
	"net"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/wire"
)

// requester is who sent r: the connection's principal and the client's IP.
func requester(ctx context.Context, r *wire.Request) (principal, host string) {
	principal = auth.Anonymous
	if s := auth.SessionFrom(ctx); s != nil {
		principal = s.Principal()
	}
	if r != nil && r.Remote != nil {
		if ta, ok := r.Remote.(*net.TCPAddr); ok {
			host = ta.IP.String()
		} else if h, _, err := net.SplitHostPort(r.Remote.String()); err == nil {
			host = h
		}
	}
	return principal, host
}

// allowed reports whether the sender of r may do op on the resource resType/name.
func (h *Handlers) allowed(ctx context.Context, r *wire.Request, op, resType int8, name string) bool {
	if h.Authorizer == nil {
		return true
	}
	p, host := requester(ctx, r)
	return h.Authorizer.Authorize(p, host, op, resType, name)
}

// allowedTopic reports whether the sender of r may do op on topic.
func (h *Handlers) allowedTopic(ctx context.Context, r *wire.Request, op int8, topic string) bool {
	return h.allowed(ctx, r, op, metadata.ACLResourceTopic, topic)
}

// allowedGroup reports whether the sender of r may do op on group.
func (h *Handlers) allowedGroup(ctx context.Context, r *wire.Request, op int8, group string) bool {
	return h.allowed(ctx, r, op, metadata.ACLResourceGroup, group)
}

// allowedCluster reports whether the sender of r may do op on the cluster.
func (h *Handlers) allowedCluster(ctx context.Context, r *wire.Request, op int8) bool {
	return h.allowed(ctx, r, op, metadata.ACLResourceCluster, auth.ClusterResourceName)
}

// allowedAny reports whether the sender of r may do op on some resource of resType.
func (h *Handlers) allowedAny(ctx context.Context, r *wire.Request, op, resType int8) bool {
	if h.Authorizer == nil {
		return true
	}
	p, host := requester(ctx, r)
	return h.Authorizer.AuthorizeAny(p, host, op, resType)
}

// clientID is the request's client id, "" when null.
func clientID(r *wire.Request) string {
	if r == nil || r.Header.ClientID == nil {
		return ""
	}
	return *r.Header.ClientID
}
