package auth

import (
	"testing"

	"github.com/gregorhq/gregor/internal/metadata"
)

func aclSet(acls ...metadata.ACL) *metadata.ACLSet {
	s := &metadata.ACLSet{ByID: map[metadata.UUID]metadata.ACL{}}
	for _, a := range acls {
		s.ByID[metadata.RandomUUID()] = a
	}
	return s
}

func topicACL(name string, pattern int8, principal, host string, op, perm int8) metadata.ACL {
	return metadata.ACL{ResourceType: metadata.ACLResourceTopic, ResourceName: name, PatternType: pattern,
		Principal: principal, Host: host, Operation: op, Permission: perm}
}

const (
	lit   = metadata.ACLPatternLiteral
	pre   = metadata.ACLPatternPrefixed
	allow = metadata.ACLPermissionAllow
	deny  = metadata.ACLPermissionDeny
)

func TestAuthorize(t *testing.T) {
	set := aclSet(
		topicACL("a", lit, "User:alice", "*", OpRead, allow),
		topicACL("w", lit, "User:alice", "*", OpAlterConfigs, allow),
		topicACL("pfx-", pre, "User:alice", "*", OpWrite, allow),
		topicACL("pfx-secret", lit, "User:*", "*", OpWrite, deny),
		topicACL("*", lit, "User:bob", "*", OpDescribe, allow),
		topicACL("h", lit, "User:alice", "10.0.0.1", OpAll, allow),
		topicACL("d", lit, "User:alice", "*", OpAll, allow),
		topicACL("d", lit, "User:alice", "*", OpDescribe, deny),
	)
	a := NewAuthorizer(AuthorizerConfig{SuperUsers: []string{"User:admin"}}, func() *metadata.ACLSet { return set })
	for _, tc := range []struct {
		principal, host string
		op              int8
		topic           string
		want            bool
	}{
		{"User:alice", "127.0.0.1", OpRead, "a", true},
		{"User:alice", "127.0.0.1", OpDescribe, "a", true}, // READ implies DESCRIBE
		{"User:alice", "127.0.0.1", OpWrite, "a", false},
		{"User:alice", "127.0.0.1", OpRead, "b", false}, // no ACL at all: closed
		{"User:alice", "127.0.0.1", OpDescribeConfigs, "w", true},
		{"User:alice", "127.0.0.1", OpDescribe, "w", false}, // ALTER_CONFIGS implies only DESCRIBE_CONFIGS
		{"User:alice", "127.0.0.1", OpWrite, "pfx-1", true},
		{"User:alice", "127.0.0.1", OpWrite, "pfx-secret", false}, // DENY beats the prefixed ALLOW
		{"User:alice", "127.0.0.1", OpDescribe, "pfx-secret", true},
		{"User:bob", "127.0.0.1", OpDescribe, "anything", true}, // literal wildcard
		{"User:bob", "127.0.0.1", OpRead, "anything", false},
		{"User:alice", "10.0.0.1", OpRead, "h", true},
		{"User:alice", "10.0.0.2", OpRead, "h", false},
		{"User:alice", "127.0.0.1", OpRead, "d", true},
		{"User:alice", "127.0.0.1", OpDescribe, "d", false}, // DENY DESCRIBE wins over ALL
		{"User:admin", "127.0.0.1", OpDelete, "b", true},
	} {
		if got := a.Authorize(tc.principal, tc.host, tc.op, metadata.ACLResourceTopic, tc.topic); got != tc.want {
			t.Errorf("%s from %s, op %d on %s: %v, want %v", tc.principal, tc.host, tc.op, tc.topic, got, tc.want)
		}
	}
	if !a.AuthorizeAny("User:alice", "127.0.0.1", OpWrite, metadata.ACLResourceTopic) {
		t.Error("alice may write some topic")
	}
	if a.AuthorizeAny("User:carol", "127.0.0.1", OpWrite, metadata.ACLResourceTopic) {
		t.Error("carol may write no topic")
	}

	// allow.everyone.if.no.acl.found opens resources no ACL names, only those.
	open := NewAuthorizer(AuthorizerConfig{AllowEveryoneIfNoACLFound: true}, func() *metadata.ACLSet { return set })
	if !open.Authorize("User:carol", "127.0.0.1", OpRead, metadata.ACLResourceGroup, "g") {
		t.Error("a group no ACL names is open")
	}
	if open.Authorize("User:carol", "127.0.0.1", OpRead, metadata.ACLResourceTopic, "a") {
		t.Error("topic a has ACLs: carol is not in them")
	}

	// A new ACL set is seen at once.
	set = aclSet(topicACL("b", lit, "User:alice", "*", OpRead, allow))
	if !a.Authorize("User:alice", "127.0.0.1", OpRead, metadata.ACLResourceTopic, "b") {
		t.Error("the index did not follow the new ACLs")
	}
}

func TestAuthorizerFromProps(t *testing.T) {
	if AuthorizerFromProps(map[string]string{}, nil) != nil {
		t.Fatal("no authorizer.class.name: no authorizer")
	}
	a := AuthorizerFromProps(map[string]string{
		"authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"super.users":           "User:admin; User:ops",
	}, func() *metadata.ACLSet { return nil })
	if !a.IsSuperUser("User:ops") || a.IsSuperUser("User:alice") {
		t.Fatal("super.users not parsed")
	}
}
