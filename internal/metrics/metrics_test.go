package metrics

import "testing"

func TestTopicBytesIn(t *testing.T) {
	m := New()
	if got := m.TopicBytesIn(); len(got) != 0 {
		t.Fatalf("before any produce: %v", got)
	}
	m.RecordsIn("a", 100, 2)
	m.RecordsIn("a", 50, 1)
	m.RecordsIn("b", 7, 1)
	m.BytesOut("a", 1000) // not bytes in
	got := m.TopicBytesIn()
	if len(got) != 2 || got["a"] != 150 || got["b"] != 7 {
		t.Fatalf("bytes in: %v", got)
	}
}
