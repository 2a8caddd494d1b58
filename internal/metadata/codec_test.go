package metadata

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func allRecords() []Record {
	return []Record{
		ClusterRecord{ClusterID: "abc"},
		LeaderChangeRecord{LeaderID: 3},
		BrokerRecord{ID: 1, Endpoints: []Endpoint{{Name: "PLAINTEXT", Host: "localhost", Port: 9092}}, Rack: "r", Fenced: true},
		TopicRecord{Name: "t", ID: idA},
		PartitionRecord{TopicID: idA, Partition: 0, Replicas: []int32{1, 2}, ISR: []int32{1}, Leader: 1, LeaderEpoch: 2, PartitionEpoch: 3},
		PartitionChangeRecord{TopicID: idA, Partition: 0, Leader: ptr[int32](-1), ISR: []int32{1, 2}},
		PartitionChangeRecord{TopicID: idA, Partition: 0},
		ConfigRecord{ResourceType: ConfigResourceTopic, ResourceName: "t", Name: "k", Value: ptr("")},
		ConfigRecord{ResourceType: ConfigResourceBroker, ResourceName: "", Name: "k"},
		RemoveTopicRecord{TopicID: idA},
		UserScramCredentialRecord{Name: "alice", Mechanism: ScramSHA256, Salt: []byte{1}, StoredKey: []byte{2}, ServerKey: []byte{3}, Iterations: 4096},
		RemoveUserScramCredentialRecord{Name: "alice", Mechanism: ScramSHA256},
	}
}

func TestBatchRoundTrip(t *testing.T) {
	recs := allRecords()
	b, err := EncodeBatch(recs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, recs) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", got, recs)
	}
	// nil (unchanged) and empty (changed to empty) are different for PartitionChangeRecord.ISR;
	// an empty ISR survives as empty, not as nil.
	b, _ = EncodeBatch([]Record{PartitionChangeRecord{ISR: []int32{}}})
	got, _ = DecodeBatch(b)
	if isr := got[0].(PartitionChangeRecord).ISR; isr == nil || len(isr) != 0 {
		t.Fatalf("empty ISR decoded as %#v", isr)
	}
}

func TestDecodeBatchErrors(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", "empty batch"},
		{"format", "\x02[]", "unknown batch format"},
		{"not json", "\x01{", "decoding batch"},
		{"unknown type", "\x01[{\"type\":\"nope\",\"v\":0,\"data\":{}}]", "unknown record type"},
		{"newer version", "\x01[{\"type\":\"topic\",\"v\":1,\"data\":{}}]", "version 1 is not supported"},
		{"no data", "\x01[{\"type\":\"topic\",\"v\":0}]", "no data"},
		{"bad data", "\x01[{\"type\":\"topic\",\"v\":0,\"data\":{\"topicId\":\"short\"}}]", "decoding topic record"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeBatch([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("DecodeBatch = %v, want error containing %q", err, tc.want)
			}
		})
	}
	// Unknown fields (written by a newer version that added an optional field) are ignored.
	recs, err := DecodeBatch([]byte("\x01[{\"type\":\"leader_change\",\"v\":0,\"data\":{\"leaderId\":4,\"future\":1}}]"))
	if err != nil || recs[0] != (LeaderChangeRecord{LeaderID: 4}) {
		t.Fatalf("%v %v", recs, err)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	img := baseImage(t)
	img = mustApply(t, img,
		ConfigRecord{ResourceType: ConfigResourceBroker, ResourceName: "", Name: "num.partitions", Value: ptr("3")},
		BrokerRecord{ID: 7, Fenced: true},
		PartitionChangeRecord{TopicID: idA, Partition: 1, Leader: ptr[int32](1)},
	)
	img.Offset = 99
	var buf bytes.Buffer
	if err := img.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSnapshot(&buf)
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, got)
	if !reflect.DeepEqual(got, img) {
		t.Fatalf("snapshot round trip:\n got %+v\nwant %+v", got, img)
	}
	if _, err := ReadSnapshot(strings.NewReader(`{"format":2}`)); err == nil {
		t.Fatal("unknown snapshot format accepted")
	}
}

func TestUUID(t *testing.T) {
	for range 100 {
		u := RandomUUID()
		if u == ZeroUUID || u == metadataTopicID || strings.HasPrefix(u.String(), "-") {
			t.Fatalf("bad random uuid %v", u)
		}
		v, err := ParseUUID(u.String())
		if err != nil || v != u {
			t.Fatalf("ParseUUID(%s) = %v, %v", u, v, err)
		}
	}
	if ZeroUUID.String() != "AAAAAAAAAAAAAAAAAAAAAA" {
		t.Fatal(ZeroUUID.String())
	}
	for _, bad := range []string{"", "AAAA", "AAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAAA+", "AAAAAAAAAAAAAAAAAAAAAB"} {
		if _, err := ParseUUID(bad); err == nil {
			t.Errorf("ParseUUID(%q) accepted", bad)
		}
	}
}

func FuzzDecodeBatch(f *testing.F) {
	b, _ := EncodeBatch(allRecords())
	f.Add(b)
	f.Add([]byte("\x01[]"))
	f.Add([]byte("\x01[{\"type\":\"partition\",\"v\":0,\"data\":{\"replicas\":[1,1]}}]"))
	base := baseImage(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := DecodeBatch(b)
		if err != nil {
			return
		}
		// Whatever decodes can be applied without panicking, and re-encodes.
		_, _ = base.Apply(recs)
		if _, err := EncodeBatch(recs); err != nil {
			t.Fatal(err)
		}
	})
}
