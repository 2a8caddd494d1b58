package metadata

import (
	"bytes"
	"reflect"
	"testing"
)

func TestScramCredentialRecords(t *testing.T) {
	cred := UserScramCredentialRecord{Name: "alice", Mechanism: ScramSHA512, Salt: []byte("s"), StoredKey: []byte("k"), ServerKey: []byte("v"), Iterations: 4096}
	img, err := Empty().Apply([]Record{cred, UserScramCredentialRecord{Name: "bob", Mechanism: ScramSHA256, Salt: []byte("s"), StoredKey: []byte("k"), ServerKey: []byte("v"), Iterations: 8192}})
	if err != nil {
		t.Fatal(err)
	}
	if got := img.ScramUsers(); !reflect.DeepEqual(got, []string{"alice", "bob"}) {
		t.Fatalf("users %v", got)
	}
	if c := img.ScramCredentials[ScramKey{"alice", ScramSHA512}]; c.Iterations != 4096 || string(c.StoredKey) != "k" {
		t.Fatalf("alice: %+v", c)
	}

	// A snapshot keeps them.
	var buf bytes.Buffer
	if err := img.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := ReadSnapshot(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.ScramCredentials, img.ScramCredentials) {
		t.Fatalf("snapshot: %v, want %v", back.ScramCredentials, img.ScramCredentials)
	}

	// Removal is copy on write: the old image keeps the credential.
	next, err := img.Apply([]Record{RemoveUserScramCredentialRecord{Name: "alice", Mechanism: ScramSHA512}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := next.ScramCredentials[ScramKey{"alice", ScramSHA512}]; ok {
		t.Fatal("alice still there after removal")
	}
	if _, ok := img.ScramCredentials[ScramKey{"alice", ScramSHA512}]; !ok {
		t.Fatal("removal changed the previous image")
	}

	for _, bad := range []Record{
		RemoveUserScramCredentialRecord{Name: "carol", Mechanism: ScramSHA256},
		UserScramCredentialRecord{Name: "", Mechanism: ScramSHA256, Salt: []byte("s"), StoredKey: []byte("k"), ServerKey: []byte("v"), Iterations: 1},
		UserScramCredentialRecord{Name: "x", Mechanism: 3, Salt: []byte("s"), StoredKey: []byte("k"), ServerKey: []byte("v"), Iterations: 1},
		UserScramCredentialRecord{Name: "x", Mechanism: ScramSHA256},
	} {
		if _, err := img.Apply([]Record{bad}); err == nil {
			t.Errorf("%#v applied", bad)
		}
	}
}
