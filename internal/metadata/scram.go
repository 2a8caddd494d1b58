package metadata

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ScramMechanism is a SCRAM mechanism by Kafka's ScramMechanism id.
type ScramMechanism int8

const (
	ScramSHA256 ScramMechanism = 1 // SCRAM-SHA-256
	ScramSHA512 ScramMechanism = 2 // SCRAM-SHA-512
)

// Valid reports whether m is a mechanism Gregor knows.
func (m ScramMechanism) Valid() bool { return m == ScramSHA256 || m == ScramSHA512 }

// ScramKey names one SCRAM credential: a user and a mechanism.
type ScramKey struct {
	User      string
	Mechanism ScramMechanism
}

// ScramCredential is what the broker keeps of a SCRAM password (RFC 5802): never the password,
// only what is needed to check a client's proof and to prove the broker knows it.
type ScramCredential struct {
	Salt       []byte
	StoredKey  []byte
	ServerKey  []byte
	Iterations int32
}

// UserScramCredentialRecord sets (creates or replaces) a user's credential for one mechanism
// (Kafka's UserScramCredentialRecord).
type UserScramCredentialRecord struct {
	Name       string         `json:"name"`
	Mechanism  ScramMechanism `json:"mechanism"`
	Salt       []byte         `json:"salt"`
	StoredKey  []byte         `json:"storedKey"`
	ServerKey  []byte         `json:"serverKey"`
	Iterations int32          `json:"iterations"`
}

// RemoveUserScramCredentialRecord deletes a user's credential for one mechanism (Kafka's
// RemoveUserScramCredentialRecord).
type RemoveUserScramCredentialRecord struct {
	Name      string         `json:"name"`
	Mechanism ScramMechanism `json:"mechanism"`
}

func (UserScramCredentialRecord) Type() RecordType       { return RecordUserScramCredential }
func (RemoveUserScramCredentialRecord) Type() RecordType { return RecordRemoveUserScramCredential }

func (b *builder) scramCredentials() map[ScramKey]ScramCredential {
	if !b.scramOwned {
		b.img.ScramCredentials = maps.Clone(b.img.ScramCredentials)
		if b.img.ScramCredentials == nil {
			b.img.ScramCredentials = map[ScramKey]ScramCredential{}
		}
		b.scramOwned = true
	}
	return b.img.ScramCredentials
}

func (r UserScramCredentialRecord) applyTo(b *builder) error {
	switch {
	case r.Name == "":
		return fmt.Errorf("empty user name")
	case !r.Mechanism.Valid():
		return fmt.Errorf("unknown SCRAM mechanism %d", r.Mechanism)
	case len(r.Salt) == 0 || len(r.StoredKey) == 0 || len(r.ServerKey) == 0 || r.Iterations <= 0:
		return fmt.Errorf("incomplete credential for %s", r.Name)
	}
	b.scramCredentials()[ScramKey{r.Name, r.Mechanism}] = ScramCredential{
		Salt: r.Salt, StoredKey: r.StoredKey, ServerKey: r.ServerKey, Iterations: r.Iterations,
	}
	return nil
}

func (r RemoveUserScramCredentialRecord) applyTo(b *builder) error {
	k := ScramKey{r.Name, r.Mechanism}
	if _, ok := b.img.ScramCredentials[k]; !ok {
		return fmt.Errorf("no %d credential for user %s", r.Mechanism, r.Name)
	}
	delete(b.scramCredentials(), k)
	return nil
}

// ScramUsers returns the users with at least one SCRAM credential, sorted.
func (img *Image) ScramUsers() []string {
	seen := map[string]bool{}
	for k := range img.ScramCredentials {
		seen[k.User] = true
	}
	return slices.Sorted(maps.Keys(seen))
}

func appendScramRecords(recs []Record, m map[ScramKey]ScramCredential) []Record {
	keys := slices.SortedFunc(maps.Keys(m), func(a, b ScramKey) int {
		if c := strings.Compare(a.User, b.User); c != 0 {
			return c
		}
		return int(a.Mechanism) - int(b.Mechanism)
	})
	for _, k := range keys {
		c := m[k]
		recs = append(recs, UserScramCredentialRecord{Name: k.User, Mechanism: k.Mechanism,
			Salt: c.Salt, StoredKey: c.StoredKey, ServerKey: c.ServerKey, Iterations: c.Iterations})
	}
	return recs
}
