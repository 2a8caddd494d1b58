package auth

import (
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/gregorhq/gregor/internal/metadata"
)

// ACL operations, by Kafka's codes (kmsg.ACLOperation).
const (
	OpAll             int8 = 2
	OpRead            int8 = 3
	OpWrite           int8 = 4
	OpCreate          int8 = 5
	OpDelete          int8 = 6
	OpAlter           int8 = 7
	OpDescribe        int8 = 8
	OpClusterAction   int8 = 9
	OpDescribeConfigs int8 = 10
	OpAlterConfigs    int8 = 11
	OpIdempotentWrite int8 = 12
)

// ClusterResourceName is the name of the one CLUSTER resource.
const ClusterResourceName = "kafka-cluster"

// Wildcard is the resource name, principal and host that match every other.
const Wildcard = "*"

// AuthorizerConfig is what turns the authorizer on and shapes its defaults.
type AuthorizerConfig struct {
	// SuperUsers may do anything ("User:admin"), from super.users.
	SuperUsers []string
	// AllowEveryoneIfNoACLFound is allow.everyone.if.no.acl.found: a resource no ACL names
	// is open to all (default false: closed to all but super users).
	AllowEveryoneIfNoACLFound bool
}

// AuthorizerFromProps reads authorizer.class.name, super.users and
// allow.everyone.if.no.acl.found from a broker's raw properties. It returns nil (no
// authorization: everything is allowed, as in Kafka without an authorizer) when
// authorizer.class.name is empty.
func AuthorizerFromProps(raw map[string]string, acls func() *metadata.ACLSet) *Authorizer {
	cfg, ok := AuthorizerConfigFromProps(raw)
	if !ok {
		return nil
	}
	return NewAuthorizer(cfg, acls)
}

// AuthorizerConfigFromProps reads super.users and allow.everyone.if.no.acl.found from a
// broker's raw properties; ok is false when authorizer.class.name is empty (no authorizer).
func AuthorizerConfigFromProps(raw map[string]string) (cfg AuthorizerConfig, ok bool) {
	if strings.TrimSpace(raw["authorizer.class.name"]) == "" {
		return AuthorizerConfig{}, false
	}
	for _, u := range strings.Split(raw["super.users"], ";") {
		if u = strings.TrimSpace(u); u != "" {
			cfg.SuperUsers = append(cfg.SuperUsers, u)
		}
	}
	cfg.AllowEveryoneIfNoACLFound, _ = strconv.ParseBool(strings.TrimSpace(raw["allow.everyone.if.no.acl.found"]))
	return cfg, true
}

// Authorizer decides requests as Kafka's StandardAuthorizer does:
//
//   - a super user may do anything;
//   - the ACLs that apply to a resource are those naming it literally, the literal wildcard
//     "*" of its type, and every PREFIXED ACL whose name is a prefix of it;
//   - of those, the ones whose principal ("User:x" or "User:*") and host (an IP or "*") match
//     the request and whose operation covers the one asked for count: a DENY among them wins,
//     else an ALLOW allows; READ, WRITE, DELETE and ALTER imply DESCRIBE, ALTER_CONFIGS
//     implies DESCRIBE_CONFIGS, ALL implies everything;
//   - when no ACL at all applies to the resource, allow.everyone.if.no.acl.found decides.
//
// ACLs come from the metadata image (acls); the index is rebuilt only when the image's ACL set
// changes (a new *metadata.ACLSet), so a check costs a few map lookups, never a scan.
type Authorizer struct {
	cfg   AuthorizerConfig
	super map[string]bool
	acls  func() *metadata.ACLSet

	// idx is the index of the ACL set it was built from; immutable once stored. Requests
	// load it without a lock; one that finds it stale builds a new one and stores it (two
	// may build at once: both build the same index, either wins).
	idx atomic.Pointer[aclIndex]
}

// aclIndex is the ACLs by resource type, then by literal name or by prefix.
type aclIndex struct {
	built    *metadata.ACLSet // the set this index was built from
	literal  map[int8]map[string][]metadata.ACL
	prefixed map[int8]map[string][]metadata.ACL
	// byType is every ALLOW ACL of a type, for AuthorizeAny (one per type, rarely used).
	byType map[int8][]metadata.ACL
}

// NewAuthorizer returns an authorizer over the ACLs acls returns.
func NewAuthorizer(cfg AuthorizerConfig, acls func() *metadata.ACLSet) *Authorizer {
	a := &Authorizer{cfg: cfg, super: map[string]bool{}, acls: acls}
	for _, u := range cfg.SuperUsers {
		a.super[u] = true
	}
	return a
}

func (a *Authorizer) index() *aclIndex {
	set := a.acls()
	if idx := a.idx.Load(); idx != nil && idx.built == set {
		return idx
	}
	idx := &aclIndex{
		built:    set,
		literal:  map[int8]map[string][]metadata.ACL{},
		prefixed: map[int8]map[string][]metadata.ACL{},
		byType:   map[int8][]metadata.ACL{},
	}
	if set != nil {
		for _, acl := range set.ByID {
			m := idx.literal
			if acl.PatternType == metadata.ACLPatternPrefixed {
				m = idx.prefixed
			}
			if m[acl.ResourceType] == nil {
				m[acl.ResourceType] = map[string][]metadata.ACL{}
			}
			m[acl.ResourceType][acl.ResourceName] = append(m[acl.ResourceType][acl.ResourceName], acl)
			idx.byType[acl.ResourceType] = append(idx.byType[acl.ResourceType], acl)
		}
	}
	a.idx.Store(idx)
	return idx
}

// IsSuperUser reports whether principal is in super.users.
func (a *Authorizer) IsSuperUser(principal string) bool { return a.super[principal] }

// Authorize reports whether principal, connected from host, may do op on the resource of type
// resType named name. A nil Authorizer allows everything.
func (a *Authorizer) Authorize(principal, host string, op, resType int8, name string) bool {
	if a == nil || a.super[principal] {
		return true
	}
	idx := a.index()
	found, allowed, denied := false, false, false
	check := func(acls []metadata.ACL) {
		for _, acl := range acls {
			found = true
			if !principalMatches(acl.Principal, principal) || (acl.Host != Wildcard && acl.Host != host) {
				continue
			}
			if acl.Permission == metadata.ACLPermissionDeny {
				if acl.Operation == OpAll || acl.Operation == op {
					denied = true
				}
			} else if implies(acl.Operation, op) {
				allowed = true
			}
		}
	}
	lit := idx.literal[resType]
	check(lit[name])
	if name != Wildcard {
		check(lit[Wildcard])
	}
	if pre := idx.prefixed[resType]; len(pre) > 0 {
		for i := len(name); i > 0; i-- {
			check(pre[name[:i]])
		}
	}
	switch {
	case denied:
		return false
	case allowed:
		return true
	case !found:
		return a.cfg.AllowEveryoneIfNoACLFound
	}
	return false
}

// AuthorizeAny reports whether principal may do op on at least one resource of resType (Kafka's
// authorizeByResourceType, which Produce uses to allow idempotent writes to anyone who may
// write to some topic): an ALLOW for it on some resource that is not cancelled by a DENY on
// every resource (a literal "*" DENY), or, with no ACL on the type at all,
// allow.everyone.if.no.acl.found.
func (a *Authorizer) AuthorizeAny(principal, host string, op, resType int8) bool {
	if a == nil || a.super[principal] {
		return true
	}
	idx := a.index()
	all := idx.byType[resType]
	if len(all) == 0 {
		return a.cfg.AllowEveryoneIfNoACLFound
	}
	allowed := false
	for _, acl := range all {
		if !principalMatches(acl.Principal, principal) || (acl.Host != Wildcard && acl.Host != host) {
			continue
		}
		if acl.Permission == metadata.ACLPermissionDeny {
			if acl.PatternType == metadata.ACLPatternLiteral && acl.ResourceName == Wildcard && (acl.Operation == OpAll || acl.Operation == op) {
				return false
			}
			continue
		}
		if implies(acl.Operation, op) {
			allowed = true
		}
	}
	return allowed
}

// principalMatches reports whether an ACL's principal covers principal: the same, or the
// wildcard of its type ("User:*").
func principalMatches(aclPrincipal, principal string) bool {
	if aclPrincipal == principal {
		return true
	}
	typ, name, ok := strings.Cut(aclPrincipal, ":")
	return ok && name == Wildcard && strings.HasPrefix(principal, typ+":")
}

// implies reports whether an ALLOW for granted allows op.
func implies(granted, op int8) bool {
	switch {
	case granted == op, granted == OpAll:
		return true
	case op == OpDescribe:
		return granted == OpRead || granted == OpWrite || granted == OpDelete || granted == OpAlter
	case op == OpDescribeConfigs:
		return granted == OpAlterConfigs
	}
	return false
}
