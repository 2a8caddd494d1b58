package group

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// FuzzDecodeRecord feeds arbitrary key and value bytes to the decoder of __consumer_offsets
// records, which replay reads from disk: it must return an error, never panic or allocate
// without bound.
func FuzzDecodeRecord(f *testing.F) {
	commit := offsetCommitRecord("g", "t", 3, offsetValue(offset{offset: 42, leaderEpoch: -1, metadata: "m", commitTimestamp: 1, expireTimestamp: -1}))
	f.Add(commit.Key, commit.Value)
	f.Add(commit.Key, []byte(nil)) // tombstone
	gm := kmsg.NewGroupMetadataValue()
	gm.Version = 3
	gm.ProtocolType = "consumer"
	m := kmsg.NewGroupMetadataValueMember()
	m.MemberID, m.ClientID, m.ClientHost = "member-1", "client", "/127.0.0.1"
	m.Subscription, m.Assignment = []byte{0, 1}, []byte{0, 2}
	gm.Members = append(gm.Members, m)
	meta := groupMetadataRecord("g", &gm)
	f.Add(meta.Key, meta.Value)
	f.Add([]byte{0, 9, 0, 1, 'g'}, []byte{0, 0})
	f.Fuzz(func(t *testing.T, key, value []byte) {
		_, _ = decodeRecord(key, value)
	})
}
