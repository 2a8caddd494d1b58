package txn

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/gregorhq/gregor/internal/controller"
)

// fakeController hands out consecutive blocks, and can fail.
type fakeController struct {
	mu    sync.Mutex
	next  int64
	calls int
	err   error
}

func (f *fakeController) allocate(_ context.Context, broker int32) (controller.ProducerIDBlock, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return controller.ProducerIDBlock{}, f.err
	}
	b := controller.ProducerIDBlock{BrokerID: broker, Start: f.next, Size: controller.ProducerIDBlockSize}
	f.next = b.End()
	return b, nil
}

func TestProducerIDsUniqueAcrossBlocks(t *testing.T) {
	f := &fakeController{next: 5000}
	m := NewProducerIDManager(1, f.allocate)
	defer m.Close()
	seen := map[int64]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				id, err := m.NextID(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[id] || id < 5000 {
					t.Errorf("id %d handed out twice or outside the blocks", id)
				}
				seen[id] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 4000 {
		t.Fatalf("%d ids", len(seen))
	}
}

func TestProducerIDsControllerError(t *testing.T) {
	boom := errors.New("not controller")
	f := &fakeController{err: boom}
	m := NewProducerIDManager(1, f.allocate)
	defer m.Close()
	if _, err := m.NextID(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	f.mu.Lock()
	f.err = nil
	f.mu.Unlock()
	if id, err := m.NextID(context.Background()); err != nil || id != 0 {
		t.Fatalf("after recovery: %d %v", id, err)
	}
}
