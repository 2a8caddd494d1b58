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
	share := shareGroupMetadataRecord("sg", 7)
	f.Add(share.Key, share.Value)
	f.Add(share.Key, []byte(nil))
	f.Fuzz(func(t *testing.T, key, value []byte) {
		_, _ = decodeRecord(key, value)
	})
}

// A ShareGroupMetadata record decodes to its group and epoch; its tombstone to epoch -1; a
// key or value cut short is an error.
func TestShareGroupMetadataRecord(t *testing.T) {
	r := shareGroupMetadataRecord("workers", 12)
	d, err := decodeRecord(r.Key, r.Value)
	if err != nil || d.shareGroup == nil || *d.shareGroup != "workers" || d.shareEpoch != 12 {
		t.Fatalf("decoded %+v, %v", d, err)
	}
	r = shareGroupMetadataRecord("workers", -1)
	if r.Value != nil {
		t.Fatalf("tombstone value %v", r.Value)
	}
	if d, err = decodeRecord(r.Key, nil); err != nil || d.shareEpoch != -1 {
		t.Fatalf("tombstone decoded %+v, %v", d, err)
	}
	if _, err := decodeRecord(r.Key[:len(r.Key)-1], nil); err == nil {
		t.Fatal("a key cut short decoded")
	}
	if _, err := decodeRecord(r.Key, []byte{0, 0, 1}); err == nil {
		t.Fatal("a value cut short decoded")
	}
}
