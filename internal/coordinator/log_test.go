package coordinator

import (
	"errors"
	"testing"

	"github.com/gregorhq/gregor/internal/records"
)

// segment is a log of three batches (offsets 0-1, 2, 3-5) read at most max bytes at a time,
// as a partition's Read cuts a read at its size limit.
func segment(max int) (read func(int64) ([]byte, error), sizes []int) {
	var log []byte
	var starts []int64
	for _, b := range []struct {
		base int64
		n    int
	}{{0, 2}, {2, 1}, {3, 3}} {
		recs := make([]records.Record, b.n)
		for i := range recs {
			recs[i] = records.Record{Key: []byte("k"), Value: []byte("value")}
		}
		batch := records.BuildSimple(b.base, 0, recs...)
		starts = append(starts, b.base)
		sizes = append(sizes, len(batch))
		log = append(log, batch...)
	}
	return func(off int64) ([]byte, error) {
		pos := 0
		for i, s := range starts {
			if s >= off {
				break
			}
			pos += sizes[i]
		}
		end := min(pos+max, len(log))
		return log[pos:end], nil
	}, sizes
}

// ReadBatches hands over every batch once, in order, reading again a batch a read cut short.
func TestReadBatches(t *testing.T) {
	_, sizes := segment(1 << 20)
	for _, max := range []int{1 << 20, sizes[0] + sizes[1] + 10, sizes[2]} {
		read, _ := segment(max)
		var bases []int64
		next, err := ReadBatches(0, read, func(h records.Header, batch []byte) error {
			if int64(len(batch)) != h.Size() {
				t.Errorf("batch at %d: %d bytes, header says %d", h.BaseOffset, len(batch), h.Size())
			}
			bases = append(bases, h.BaseOffset)
			return nil
		})
		if err != nil || next != 6 || len(bases) != 3 || bases[0] != 0 || bases[1] != 2 || bases[2] != 3 {
			t.Fatalf("read size %d: batches %v, next %d, err %v; want [0 2 3], 6", max, bases, next, err)
		}
	}
}

// A read too small for the next whole batch is an error, not a loop; so is fn's error.
func TestReadBatchesErrors(t *testing.T) {
	read, sizes := segment(5)
	if _, err := ReadBatches(0, read, func(records.Header, []byte) error { return nil }); err == nil {
		t.Fatal("no error for a read that never holds a whole batch")
	}
	read, _ = segment(sizes[0] + sizes[1] + sizes[2])
	stop := errors.New("stop")
	next, err := ReadBatches(0, read, func(h records.Header, _ []byte) error {
		if h.BaseOffset == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || next != 3 {
		t.Fatalf("next %d, err %v; want 3, stop", next, err)
	}
}
