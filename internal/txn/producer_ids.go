package txn

import (
	"context"
	"errors"
	"sync"

	"github.com/gregorhq/gregor/internal/controller"
)

// prefetchBelow is how many ids may remain in the current block before the next one is
// fetched in the background, so that InitProducerId rarely waits on the controller (Kafka
// prefetches at 90% of a block).
const prefetchBelow = controller.ProducerIDBlockSize / 10

// Allocator asks the controller for the next block of producer ids for a broker
// (controller.Controller.AllocateProducerIds).
type Allocator func(ctx context.Context, brokerID int32) (controller.ProducerIDBlock, error)

// ProducerIDManager hands out producer ids from the broker's current block (Kafka's
// RPCProducerIdManager). Ids are unique in the cluster because each block is committed in the
// metadata log before it is used; ids of a block not used up before a restart are skipped.
type ProducerIDManager struct {
	brokerID int32
	allocate Allocator

	// fetchMu serializes fetches of a block, so that one exhausted block causes one fetch.
	fetchMu sync.Mutex

	mu sync.Mutex
	// Fields guarded by mu.
	//
	// Invariant: next <= end; ids in [next, end) are this broker's and unused.
	next, end int64
	// prefetched is the next block, fetched before the current one ran out; nil when none.
	prefetched *controller.ProducerIDBlock
	// prefetching is true while a background fetch runs.
	prefetching bool
	closed      bool
	wg          sync.WaitGroup
}

// NewProducerIDManager returns a manager that has no block yet: the first NextID fetches one.
func NewProducerIDManager(brokerID int32, allocate Allocator) *ProducerIDManager {
	return &ProducerIDManager{brokerID: brokerID, allocate: allocate}
}

// errClosed is returned by NextID after Close.
var errClosed = errors.New("txn: producer id manager closed")

// NextID returns a producer id no one has had before. It waits for the controller only when
// the current block is used up and no prefetched block is ready.
func (m *ProducerIDManager) NextID(ctx context.Context) (int64, error) {
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return -1, errClosed
		}
		if m.next == m.end && m.prefetched != nil {
			m.next, m.end = m.prefetched.Start, m.prefetched.End()
			m.prefetched = nil
		}
		if m.next < m.end {
			id := m.next
			m.next++
			m.maybePrefetchLocked()
			m.mu.Unlock()
			return id, nil
		}
		m.mu.Unlock()
		if err := m.fetch(ctx); err != nil {
			return -1, err
		}
	}
}

// fetch gets a block synchronously unless another caller got one meanwhile.
func (m *ProducerIDManager) fetch(ctx context.Context) error {
	m.fetchMu.Lock()
	defer m.fetchMu.Unlock()
	m.mu.Lock()
	have := m.next < m.end || m.prefetched != nil
	m.mu.Unlock()
	if have {
		return nil
	}
	b, err := m.allocate(ctx, m.brokerID)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.prefetched = &b
	m.mu.Unlock()
	return nil
}

// maybePrefetchLocked starts a background fetch of the next block when the current one runs
// low. The caller holds mu.
func (m *ProducerIDManager) maybePrefetchLocked() {
	if m.end-m.next >= prefetchBelow || m.prefetched != nil || m.prefetching || m.closed {
		return
	}
	m.prefetching = true
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		err := m.fetch(context.Background())
		m.mu.Lock()
		m.prefetching = false
		m.mu.Unlock()
		_ = err // the next NextID that needs a block tries again, and reports its error
	}()
}

// Close waits for a background fetch to finish; later NextID calls fail.
func (m *ProducerIDManager) Close() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.wg.Wait()
}
