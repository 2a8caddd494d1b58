package metadata

import (
	"bytes"
	"testing"
)

// A registration (a BrokerRecord without an epoch) takes its log offset as the broker epoch;
// a record that carries an epoch (fencing, a snapshot) keeps it.
func TestBrokerEpochIsRegistrationOffset(t *testing.T) {
	ep := []Endpoint{{Name: "PLAINTEXT", Host: "h", Port: 9092}}
	img, err := Empty().ApplyAt([]Record{BrokerRecord{ID: 1, Endpoints: ep, Fenced: true}}, 7)
	if err != nil {
		t.Fatal(err)
	}
	if img.Offset != 7 || img.Brokers[1].Epoch != 7 {
		t.Fatalf("after registering at 7: offset %d, epoch %d", img.Offset, img.Brokers[1].Epoch)
	}
	checkInvariants(t, img)

	img, err = img.ApplyAt([]Record{BrokerRecord{ID: 1, Endpoints: ep, Epoch: img.Brokers[1].Epoch}}, 9)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Brokers[1]; b.Epoch != 7 || b.Fenced {
		t.Fatalf("after unfencing at 9: %+v", b)
	}

	img, err = img.ApplyAt([]Record{BrokerRecord{ID: 1, Endpoints: ep, IncarnationID: UUID{1}, Fenced: true}}, 12)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Brokers[1]; b.Epoch != 12 || b.IncarnationID != (UUID{1}) {
		t.Fatalf("after registering again at 12: %+v", b)
	}

	if _, err := img.ApplyAt([]Record{BrokerRecord{ID: 1, Epoch: -1}}, 13); err == nil {
		t.Fatal("a negative broker epoch was applied")
	}

	// Apply (no offset given) registers as the next entry would be.
	next := mustApply(t, img, BrokerRecord{ID: 2, Endpoints: ep})
	if next.Brokers[2].Epoch != 13 || next.Offset != 12 {
		t.Fatalf("Apply: epoch %d, offset %d", next.Brokers[2].Epoch, next.Offset)
	}

	// A snapshot keeps every broker's epoch.
	var buf bytes.Buffer
	if err := next.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := ReadSnapshot(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if back.Brokers[1].Epoch != 12 || back.Brokers[2].Epoch != 13 {
		t.Fatalf("after a snapshot: %+v", back.Brokers)
	}
}

// Log entries and snapshots written before broker epochs existed still load: their broker
// records count as registrations at their own offset.
func TestBrokerRecordWithoutEpochLoads(t *testing.T) {
	entry := "\x01[{\"type\":\"broker\",\"v\":0,\"data\":{\"id\":3,\"endpoints\":[{\"Name\":\"PLAINTEXT\",\"Host\":\"h\",\"Port\":9092}],\"fenced\":true,\"incarnationId\":\"AAAAAAAAAAAAAAAAAAAAAA\"}}]"
	recs, err := DecodeBatch([]byte(entry))
	if err != nil {
		t.Fatal(err)
	}
	img, err := Empty().ApplyAt(recs, 5)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Brokers[3]; b.Epoch != 5 || !b.Fenced || b.Endpoints[0].Port != 9092 {
		t.Fatalf("old entry: %+v", b)
	}

	snap := `{"format":1,"offset":40,"records":[{"type":"broker","v":0,"data":{"id":3,"endpoints":[],"incarnationId":"AAAAAAAAAAAAAAAAAAAAAA"}}]}`
	img, err = ReadSnapshot(bytes.NewBufferString(snap))
	if err != nil {
		t.Fatal(err)
	}
	if img.Offset != 40 || img.Brokers[3].Epoch != 40 {
		t.Fatalf("old snapshot: offset %d, epoch %d", img.Offset, img.Brokers[3].Epoch)
	}
}
