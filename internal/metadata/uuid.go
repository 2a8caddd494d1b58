package metadata

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// ZeroUUID is the all-zero UUID; Kafka uses it for "no topic id".
var ZeroUUID UUID

// metadataTopicID is the id Kafka reserves for the __cluster_metadata topic (0, 1).
var metadataTopicID = UUID{15: 1}

// RandomUUID returns a random UUID that is neither zero nor reserved, and whose string form
// does not begin with '-' (so that it cannot be mistaken for a command-line flag), as Kafka's
// Uuid.randomUuid does.
func RandomUUID() UUID {
	for {
		var u UUID
		if _, err := rand.Read(u[:]); err != nil {
			panic(fmt.Sprintf("crypto/rand: %v", err)) // crypto/rand.Read never fails on supported platforms
		}
		// Version 4, variant 1, as java.util.UUID.randomUUID sets them.
		u[6] = u[6]&0x0f | 0x40
		u[8] = u[8]&0x3f | 0x80
		if u == ZeroUUID || u == metadataTopicID || u.String()[0] == '-' {
			continue
		}
		return u
	}
}

// String returns the UUID as Kafka prints it: URL-safe base64 without padding (22 characters).
func (u UUID) String() string {
	return base64.RawURLEncoding.EncodeToString(u[:])
}

// ParseUUID parses the form String returns.
func ParseUUID(s string) (UUID, error) {
	var u UUID
	if len(s) != 22 {
		return u, fmt.Errorf("invalid UUID %q: want 22 base64url characters", s)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != 16 {
		return u, fmt.Errorf("invalid UUID %q", s)
	}
	copy(u[:], b)
	return u, nil
}

// MarshalText encodes the UUID as String does.
func (u UUID) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// UnmarshalText decodes what MarshalText encodes.
func (u *UUID) UnmarshalText(b []byte) error {
	v, err := ParseUUID(string(b))
	if err != nil {
		return err
	}
	*u = v
	return nil
}
