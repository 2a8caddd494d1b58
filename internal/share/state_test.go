package share

import (
	"reflect"
	"testing"
)

func TestStateRecordRoundTrip(t *testing.T) {
	k := StateKey{Group: "g", TopicID: [16]byte{1, 2}, Partition: 7}
	v := StateValue{StartOffset: 3, EndOffset: 9, Batches: []StateBatch{{3, 4, Available, 2}, {6, 8, Acknowledged, 1}}}
	typ, gk, gv, err := DecodeState(EncodeStateKey(TypeUpdate, k), EncodeStateValue(v))
	if err != nil || typ != TypeUpdate || gk != k || !reflect.DeepEqual(*gv, v) {
		t.Fatalf("got %v %v %+v %v", typ, gk, gv, err)
	}
	if _, _, gv, err := DecodeState(EncodeStateKey(TypeSnapshot, k), nil); err != nil || gv != nil {
		t.Fatalf("tombstone: %v %v", gv, err)
	}
}

// FuzzDecodeShareState checks that the decoder of __share_group_state records never panics
// and that what it accepts re-encodes to the same bytes.
func FuzzDecodeShareState(f *testing.F) {
	k := StateKey{Group: "g", TopicID: [16]byte{9}, Partition: 1}
	f.Add(EncodeStateKey(TypeSnapshot, k), EncodeStateValue(StateValue{StartOffset: 1, EndOffset: 4, Batches: []StateBatch{{1, 3, Archived, 5}}}))
	f.Add(EncodeStateKey(TypeUpdate, k), []byte{0, 0})
	f.Fuzz(func(t *testing.T, key, val []byte) {
		typ, gk, gv, err := DecodeState(key, val)
		if err != nil {
			return
		}
		if got := EncodeStateKey(typ, gk); string(got) != string(key) {
			t.Fatalf("key re-encodes differently")
		}
		if gv != nil {
			if got := EncodeStateValue(*gv); string(got) != string(val) {
				t.Fatalf("value re-encodes differently")
			}
		}
	})
}
