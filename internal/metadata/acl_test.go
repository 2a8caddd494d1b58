package metadata

import (
	"bytes"
	"reflect"
	"testing"
)

func TestACLAndQuotaRecords(t *testing.T) {
	id := RandomUUID()
	acl := ACL{ResourceType: ACLResourceTopic, ResourceName: "a", PatternType: ACLPatternLiteral,
		Principal: "User:alice", Host: "*", Operation: 3, Permission: ACLPermissionAllow}
	alice := QuotaEntity{User: "alice"}
	img, err := Empty().Apply([]Record{
		AccessControlEntryRecord{ID: id, ACL: acl},
		ClientQuotaRecord{Entity: alice, Key: "producer_byte_rate", Value: 1024},
		ClientQuotaRecord{Entity: QuotaEntity{ClientDefault: true}, Key: "consumer_byte_rate", Value: 2048},
	})
	if err != nil {
		t.Fatal(err)
	}
	if img.ACLs.Len() != 1 || img.ACLs.ByID[id] != acl {
		t.Fatalf("ACLs %+v", img.ACLs)
	}
	if v, ok := img.QuotaFor("alice", "app", "producer_byte_rate"); !ok || v != 1024 {
		t.Fatalf("alice's producer quota %v %v", v, ok)
	}
	if v, ok := img.QuotaFor("bob", "app", "consumer_byte_rate"); !ok || v != 2048 {
		t.Fatalf("the default client's consumer quota %v %v", v, ok)
	}
	if _, ok := img.QuotaFor("bob", "app", "producer_byte_rate"); ok {
		t.Fatal("bob has no producer quota")
	}

	// Invalid records are refused; the image is unchanged.
	for _, bad := range []Record{
		AccessControlEntryRecord{ID: id, ACL: acl}, // duplicate id
		AccessControlEntryRecord{ID: RandomUUID(), ACL: ACL{ResourceType: 9}},
		RemoveAccessControlEntryRecord{ID: RandomUUID()},
		ClientQuotaRecord{Key: "producer_byte_rate", Value: 1},
		ClientQuotaRecord{Entity: alice, Key: "no_such_quota", Value: 1},
	} {
		if _, err := img.Apply([]Record{bad}); err == nil {
			t.Errorf("%T %+v applied", bad, bad)
		}
	}

	// A snapshot rebuilds ACLs and quotas.
	var buf bytes.Buffer
	if err := img.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := ReadSnapshot(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.ACLs, img.ACLs) || !reflect.DeepEqual(back.ClientQuotas, img.ClientQuotas) {
		t.Fatalf("snapshot: %+v %+v", back.ACLs, back.ClientQuotas)
	}

	// Removing leaves the old image as it was (copy on write).
	next, err := img.Apply([]Record{
		RemoveAccessControlEntryRecord{ID: id},
		ClientQuotaRecord{Entity: alice, Key: "producer_byte_rate", Remove: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if next.ACLs.Len() != 0 || img.ACLs.Len() != 1 || len(next.ClientQuotas) != 1 || len(img.ClientQuotas) != 2 {
		t.Fatalf("after removal: %d ACLs (old %d), %d quota entities (old %d)",
			next.ACLs.Len(), img.ACLs.Len(), len(next.ClientQuotas), len(img.ClientQuotas))
	}
}

func TestACLFilter(t *testing.T) {
	lit := ACL{ResourceType: ACLResourceTopic, ResourceName: "orders", PatternType: ACLPatternLiteral, Principal: "User:a", Host: "*", Operation: 3, Permission: ACLPermissionAllow}
	wild := lit
	wild.ResourceName = "*"
	pre := lit
	pre.ResourceName, pre.PatternType = "ord", ACLPatternPrefixed
	name := "orders"
	match := ACLFilter{ResourceType: ACLAny, ResourceName: &name, PatternType: ACLMatch, Operation: ACLAny, Permission: ACLAny}
	exact := ACLFilter{ResourceType: ACLResourceTopic, ResourceName: &name, PatternType: ACLPatternLiteral, Operation: ACLAny, Permission: ACLAny}
	for _, a := range []ACL{lit, wild, pre} {
		if !match.Matches(a) {
			t.Errorf("MATCH orders misses %+v", a)
		}
	}
	if !exact.Matches(lit) || exact.Matches(wild) || exact.Matches(pre) {
		t.Error("LITERAL orders matches only the literal ACL")
	}
}
