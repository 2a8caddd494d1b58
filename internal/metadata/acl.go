package metadata

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ACL codes are Kafka's wire values (kmsg.ACLResourceType, ACLResourcePatternType,
// ACLOperation, ACLPermissionType), so records, the authorizer and the ACL APIs share them.
const (
	ACLResourceTopic           int8 = 2
	ACLResourceGroup           int8 = 3
	ACLResourceCluster         int8 = 4
	ACLResourceTransactionalID int8 = 5
	ACLResourceDelegationToken int8 = 6

	ACLPatternLiteral  int8 = 3
	ACLPatternPrefixed int8 = 4

	ACLPermissionDeny  int8 = 2
	ACLPermissionAllow int8 = 3
)

// ACL is one access control entry: who (Principal, from Host) may or may not (Permission) do
// Operation on the resources matched by ResourceType, ResourceName and PatternType.
type ACL struct {
	ResourceType int8   `json:"resourceType"`
	ResourceName string `json:"resourceName"`
	PatternType  int8   `json:"patternType"`
	Principal    string `json:"principal"`
	Host         string `json:"host"`
	Operation    int8   `json:"operation"`
	Permission   int8   `json:"permissionType"`
}

// ACLSet is the cluster's ACLs by id. It is immutable once published in an Image; an Apply
// that changes it makes a new one, so a reader can tell whether ACLs changed by comparing
// pointers (the authorizer rebuilds its index only then).
type ACLSet struct {
	ByID map[UUID]ACL
}

// Len is the number of ACLs; a nil set has none.
func (s *ACLSet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.ByID)
}

// AccessControlEntryRecord adds an ACL under a new id (Kafka's AccessControlEntryRecord).
type AccessControlEntryRecord struct {
	ID UUID `json:"id"`
	ACL
}

// RemoveAccessControlEntryRecord deletes the ACL with an id (Kafka's
// RemoveAccessControlEntryRecord).
type RemoveAccessControlEntryRecord struct {
	ID UUID `json:"id"`
}

func (AccessControlEntryRecord) Type() RecordType       { return RecordAccessControlEntry }
func (RemoveAccessControlEntryRecord) Type() RecordType { return RecordRemoveAccessControlEntry }

// The ACL record types; part of the on-disk format.
const (
	RecordAccessControlEntry       RecordType = "access_control_entry"
	RecordRemoveAccessControlEntry RecordType = "remove_access_control_entry"
)

func (b *builder) acls() map[UUID]ACL {
	if !b.aclsOwned {
		var m map[UUID]ACL
		if b.img.ACLs != nil {
			m = maps.Clone(b.img.ACLs.ByID)
		}
		if m == nil {
			m = map[UUID]ACL{}
		}
		b.img.ACLs = &ACLSet{ByID: m}
		b.aclsOwned = true
	}
	return b.img.ACLs.ByID
}

// Validate checks the ACL's fields as Kafka does before storing one.
func (a ACL) Validate() error {
	switch {
	case a.ResourceType < ACLResourceTopic || a.ResourceType > ACLResourceDelegationToken:
		return fmt.Errorf("invalid resource type %d", a.ResourceType)
	case a.PatternType != ACLPatternLiteral && a.PatternType != ACLPatternPrefixed:
		return fmt.Errorf("invalid pattern type %d", a.PatternType)
	case a.ResourceName == "":
		return errors.New("empty resource name")
	case a.Operation < 2 || a.Operation > 12:
		return fmt.Errorf("invalid operation %d", a.Operation)
	case a.Permission != ACLPermissionAllow && a.Permission != ACLPermissionDeny:
		return fmt.Errorf("invalid permission type %d", a.Permission)
	case !strings.Contains(a.Principal, ":"):
		return fmt.Errorf("principal %q is not of the form Type:name", a.Principal)
	case a.Host == "":
		return errors.New("empty host")
	}
	return nil
}

func (r AccessControlEntryRecord) applyTo(b *builder) error {
	if r.ID == ZeroUUID {
		return errors.New("ACL has the zero id")
	}
	if err := r.ACL.Validate(); err != nil {
		return err
	}
	if _, ok := b.img.ACLs.lookup(r.ID); ok {
		return fmt.Errorf("ACL id %s already exists", r.ID)
	}
	b.acls()[r.ID] = r.ACL
	return nil
}

func (r RemoveAccessControlEntryRecord) applyTo(b *builder) error {
	if _, ok := b.img.ACLs.lookup(r.ID); !ok {
		return fmt.Errorf("unknown ACL id %s", r.ID)
	}
	delete(b.acls(), r.ID)
	return nil
}

func (s *ACLSet) lookup(id UUID) (ACL, bool) {
	if s == nil {
		return ACL{}, false
	}
	a, ok := s.ByID[id]
	return a, ok
}

func appendACLRecords(recs []Record, s *ACLSet) []Record {
	if s == nil {
		return recs
	}
	ids := slices.SortedFunc(maps.Keys(s.ByID), func(a, b UUID) int { return strings.Compare(a.String(), b.String()) })
	for _, id := range ids {
		recs = append(recs, AccessControlEntryRecord{ID: id, ACL: s.ByID[id]})
	}
	return recs
}

// ACLFilter selects ACLs, as Kafka's AclBindingFilter in DescribeAcls and DeleteAcls: a nil
// string or the ANY code (1) matches anything. PatternType MATCH (2) with a name selects the
// ACLs that apply to that name: literal ones naming it, the literal "*", and PREFIXED ones
// whose prefix it starts with; ANY selects any pattern type naming it exactly.
type ACLFilter struct {
	ResourceType int8
	ResourceName *string
	PatternType  int8
	Principal    *string
	Host         *string
	Operation    int8
	Permission   int8
}

// Filter codes that match more than one value.
const (
	ACLAny   int8 = 1
	ACLMatch int8 = 2
)

// Matches reports whether the filter selects a.
func (f ACLFilter) Matches(a ACL) bool {
	if f.ResourceType != ACLAny && f.ResourceType != a.ResourceType {
		return false
	}
	switch f.PatternType {
	case ACLAny:
		if f.ResourceName != nil && *f.ResourceName != a.ResourceName {
			return false
		}
	case ACLMatch:
		if f.ResourceName != nil {
			n := *f.ResourceName
			ok := a.PatternType == ACLPatternLiteral && (a.ResourceName == n || a.ResourceName == "*") ||
				a.PatternType == ACLPatternPrefixed && strings.HasPrefix(n, a.ResourceName)
			if !ok {
				return false
			}
		}
	default:
		if f.PatternType != a.PatternType || (f.ResourceName != nil && *f.ResourceName != a.ResourceName) {
			return false
		}
	}
	return (f.Principal == nil || *f.Principal == a.Principal) &&
		(f.Host == nil || *f.Host == a.Host) &&
		(f.Operation == ACLAny || f.Operation == a.Operation) &&
		(f.Permission == ACLAny || f.Permission == a.Permission)
}

// Matching returns the ACLs the filter selects, with their ids, in a stable order.
func (s *ACLSet) Matching(f ACLFilter) ([]UUID, []ACL) {
	if s == nil {
		return nil, nil
	}
	var ids []UUID
	for id, a := range s.ByID {
		if f.Matches(a) {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(x, y UUID) int { return strings.Compare(x.String(), y.String()) })
	acls := make([]ACL, len(ids))
	for i, id := range ids {
		acls[i] = s.ByID[id]
	}
	return ids, acls
}
