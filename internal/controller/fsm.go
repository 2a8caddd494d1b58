package controller

import (
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"

	"github.com/hashicorp/raft"

	"github.com/gregorhq/gregor/internal/metadata"
)

// fsm is the Raft state machine: it applies committed batches of metadata records to the
// current Image and publishes the result. Raft calls Apply, Snapshot and Restore from one
// goroutine, in log order; readers load the published image at any time.
type fsm struct {
	log *slog.Logger
	// image is the published image. Invariant: only the FSM goroutine stores it, and what it
	// stores is never modified afterwards.
	image atomic.Pointer[metadata.Image]
	// published is called after every store of image, on the FSM goroutine. It must not block.
	published func()
}

var _ raft.FSM = (*fsm)(nil)

func newFSM(log *slog.Logger, published func()) *fsm {
	f := &fsm{log: log, published: published}
	f.image.Store(metadata.Empty())
	return f
}

func (f *fsm) publish(img *metadata.Image) {
	f.image.Store(img)
	f.published()
}

// Apply applies one committed log entry. It returns the error (to the proposer, through the
// ApplyFuture) when the entry does not decode or does not fit the image; then nothing of the
// batch is applied, on this node or on any other, because every node sees the same entry
// against the same image. Offset advances either way.
func (f *fsm) Apply(l *raft.Log) any {
	cur := f.image.Load()
	recs, err := metadata.DecodeBatch(l.Data)
	var next *metadata.Image
	if err == nil {
		next, err = cur.ApplyAt(recs, l.Index)
	}
	if err != nil {
		f.log.Error("rejected metadata log entry", "index", l.Index, "term", l.Term, "err", err)
		f.publish(cur.WithOffset(l.Index))
		return fmt.Errorf("metadata entry %d rejected: %w", l.Index, err)
	}
	f.publish(next)
	return nil
}

// Snapshot captures the current image; it is immutable, so Persist can write it while Apply
// goes on.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	return imageSnapshot{f.image.Load()}, nil
}

// Restore replaces the image with one read from a snapshot.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	img, err := metadata.ReadSnapshot(rc)
	if err != nil {
		return err
	}
	f.publish(img)
	return nil
}

type imageSnapshot struct{ img *metadata.Image }

func (s imageSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := s.img.WriteSnapshot(sink); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (imageSnapshot) Release() {}
