package txn

import (
	"testing"
)

// FuzzDecodeTxnLogValue feeds arbitrary bytes to the decoder of __transaction_state values,
// which replay reads from disk: it must return an error, never panic or allocate without
// bound.
func FuzzDecodeTxnLogValue(f *testing.F) {
	m := &txnMetadata{producerID: 7, prevProducerID: -1, epoch: 3, timeoutMs: 60000, state: stateOngoing,
		partitions: map[string]map[int32]bool{"a": {0: true, 2: true}, "b": {1: true}}, startMs: 5, lastUpdateMs: 6}
	f.Add(txnRecord("t1", m).Value)
	v := m.value()
	v.Version = 1
	v.PreviousProducerID = 4
	f.Add(v.AppendTo(nil))
	f.Add([]byte{0, 0})
	f.Add([]byte{0, 9, 1})
	f.Fuzz(func(t *testing.T, value []byte) {
		_, _ = decodeTxnLogValue(value)
		_, _, _ = decodeTxnRecord([]byte{0, 0, 0, 1, 'x'}, value)
	})
}

func TestTxnRecordRoundTrip(t *testing.T) {
	m := &txnMetadata{id: "t1", producerID: 7, prevProducerID: -1, epoch: 3, lastEpoch: -1, timeoutMs: 60000, state: statePrepareCommit,
		partitions: map[string]map[int32]bool{"a": {0: true, 2: true}}, startMs: 5, lastUpdateMs: 6}
	rec := txnRecord("t1", m)
	id, got, err := decodeTxnRecord(rec.Key, rec.Value)
	if err != nil || id != "t1" {
		t.Fatalf("%q %v", id, err)
	}
	if got.producerID != 7 || got.epoch != 3 || got.timeoutMs != 60000 || got.state != statePrepareCommit ||
		!got.hasPartition("a", 2) || got.startMs != 5 || got.lastUpdateMs != 6 {
		t.Fatalf("round trip %+v", got)
	}
	if id, got, err := decodeTxnRecord(txnRecord("t1", nil).Key, nil); err != nil || id != "t1" || got != nil {
		t.Fatalf("tombstone %q %+v %v", id, got, err)
	}
	if _, _, err := decodeTxnRecord([]byte{0, 1, 0, 1, 'x'}, nil); err == nil {
		t.Fatal("unknown key version decoded")
	}
}
