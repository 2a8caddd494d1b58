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

// authorizedOperationsOmitted is the authorized-operations value of a response to a request
// that did not ask for them (Kafka's Integer.MIN_VALUE, the schemas' default).
const authorizedOperationsOmitted = -2147483648

// supportedOperations are the ACL operations that mean something on each resource type
// (Kafka's AclEntry.supportedOperations): an authorized-operations bit field is built from
// these alone, so ALL never appears in it.
var supportedOperations = map[int8][]int8{
	metadata.ACLResourceTopic: {auth.OpRead, auth.OpWrite, auth.OpCreate, auth.OpDescribe, auth.OpDelete,
		auth.OpAlter, auth.OpDescribeConfigs, auth.OpAlterConfigs},
	metadata.ACLResourceGroup: {auth.OpRead, auth.OpDescribe, auth.OpDelete},
	metadata.ACLResourceCluster: {auth.OpCreate, auth.OpClusterAction, auth.OpDescribeConfigs,
		auth.OpAlterConfigs, auth.OpIdempotentWrite, auth.OpAlter, auth.OpDescribe},
	metadata.ACLResourceTransactionalID: {auth.OpDescribe, auth.OpWrite},
}

// authorizedOperations is the bit field (bit n set for operation code n) of the operations the
// sender of r may do on the resource resType/name, as KIP-430 reports them in Metadata,
// DescribeCluster and the group descriptions: with no authorizer, every supported operation.
func (h *Handlers) authorizedOperations(ctx context.Context, r *wire.Request, resType int8, name string) int32 {
	var bits int32
	for _, op := range supportedOperations[resType] {
		if h.allowed(ctx, r, op, resType, name) {
			bits |= 1 << op
		}
	}
	return bits
}

// clusterAuthorizedOperations is the cluster's authorized-operations field, as Kafka fills it:
// the omitted sentinel unless asked for, and 0 (not the operations) for a client that may not
// DESCRIBE the cluster.
func (h *Handlers) clusterAuthorizedOperations(ctx context.Context, r *wire.Request, asked bool) int32 {
	switch {
	case !asked:
		return authorizedOperationsOmitted
	case !h.allowedCluster(ctx, r, auth.OpDescribe):
		return 0
	}
	return h.authorizedOperations(ctx, r, metadata.ACLResourceCluster, auth.ClusterResourceName)
}

// groupAuthorizedOperations is a described group's authorized-operations field: the group's
// operations when asked for and the group was described without error, else the sentinel.
func (h *Handlers) groupAuthorizedOperations(ctx context.Context, r *wire.Request, asked bool, code int16, group string) int32 {
	if !asked || code != 0 {
		return authorizedOperationsOmitted
	}
	return h.authorizedOperations(ctx, r, metadata.ACLResourceGroup, group)
}
