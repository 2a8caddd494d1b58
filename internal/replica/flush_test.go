package replica

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/storage"
)

// flushManager is a one-partition manager whose topic has flush.messages set.
func flushManager(t *testing.T, fs storage.FS, flushMessages int64) (*Manager, *Partition) {
	t.Helper()
	return testManagerTopic(t, fs, nil, func(c *config.Topic) { c.FlushMessages = flushMessages })
}

// TestFlushMessagesOneSurvivesCrash: with flush.messages=1 every acknowledged append, from
// concurrent producers, is on disk when Append returns, so a power loss keeps all of them.
func TestFlushMessagesOneSurvivesCrash(t *testing.T) {
	fs := storage.NewMemFS()
	m, p := flushManager(t, fs, 1)
	_ = m // not closed: a crash, not a clean shutdown
	const producers, batches = 4, 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := int64(0)
	for pid := range int64(producers) {
		wg.Go(func() {
			for seq := range int32(batches) {
				raw, h := batch(pid+1, 0, seq*2, 2, time.Now().UnixMilli())
				res, err := p.Append(raw, h)
				if err != nil {
					t.Errorf("producer %d append %d: %v", pid, seq, err)
					return
				}
				mu.Lock()
				acked = max(acked, res.LastOffset+1)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if acked != producers*batches*2 {
		t.Fatalf("acknowledged up to %d, want %d", acked, producers*batches*2)
	}
	fs.Crash()
	m2, p2 := flushManager(t, fs, 1)
	defer m2.Close()
	if got := p2.LogEndOffset(); got != acked {
		t.Fatalf("after a crash the log ends at %d; %d records were acknowledged", got, acked)
	}
}

// Under flush.messages=1 an append's records are neither exposed (high watermark) nor
// acknowledged before their fsync: a consumer must not read what a power loss can take back.
func TestFlushMessagesHoldsHighWatermarkUntilSynced(t *testing.T) {
	var holding atomic.Bool
	hold, held := make(chan struct{}), make(chan struct{}, 1)
	fs := storage.NewErrorFS(storage.NewMemFS(), func(op, path string) error {
		if op == storage.OpSync && strings.HasSuffix(path, storage.LogFileSuffix) && holding.Load() {
			held <- struct{}{}
			<-hold
		}
		return nil
	})
	m, p := flushManager(t, fs, 1)
	defer m.Close()
	raw, h := batch(-1, -1, -1, 2, time.Now().UnixMilli())
	if _, err := p.Append(raw, h); err != nil {
		t.Fatal(err)
	}
	if hw := p.HighWatermark(); hw != 2 {
		t.Fatalf("high watermark %d after the first append, want 2", hw)
	}
	holding.Store(true)
	done := make(chan error, 1)
	go func() {
		raw, h := batch(-1, -1, -1, 3, time.Now().UnixMilli())
		_, err := p.Append(raw, h)
		done <- err
	}()
	<-held // the second append is written and waits in its fsync
	if leo, hw := p.LogEndOffset(), p.HighWatermark(); leo != 5 || hw != 2 {
		t.Fatalf("during the fsync: log end %d, high watermark %d; want 5 and 2", leo, hw)
	}
	holding.Store(false)
	close(hold)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if hw := p.HighWatermark(); hw != 5 {
		t.Fatalf("high watermark %d after the fsync, want 5", hw)
	}
}
