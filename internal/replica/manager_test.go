package replica

import (
	"testing"
	"time"

	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/storage"
)

// TestApplyIgnoresOlderImages: images reach Apply from several goroutines without order; an
// image older than the last applied must not delete the logs of partitions created since.
func TestApplyIgnoresOlderImages(t *testing.T) {
	fs := storage.NewMemFS()
	m, p := testManager(t, fs, time.Now)
	defer m.Close()
	id := metadata.UUID{1}
	withT, err := metadata.Empty().Apply([]metadata.Record{
		metadata.TopicRecord{Name: "t", ID: id},
		metadata.PartitionRecord{TopicID: id, Partition: 0, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(withT.WithOffset(10)); err != nil {
		t.Fatal(err)
	}

	// An image from before topic "t" existed.
	if err := m.Apply(metadata.Empty().WithOffset(5)); err != nil {
		t.Fatal(err)
	}
	if got, err := m.Partition("t", 0); err != nil || got != p {
		t.Fatalf("an older image removed t-0: %v", err)
	}

	// A newer image without the topic does delete it.
	if err := m.Apply(metadata.Empty().WithOffset(11)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Partition("t", 0); err == nil {
		t.Fatal("a newer image without t kept t-0")
	}
}
