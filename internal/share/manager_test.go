package share

import (
	"sync"
	"testing"
)

// Members fetching the same share-partition at once right after a restart all get the state
// replayed from __share_group_state, never a fresh share-partition that replaced it.
func TestEntryForConcurrentFirstUseKeepsStoredState(t *testing.T) {
	for i := range 2000 {
		m := New(Config{})
		k := partKey{group: "g", partition: int32(i)}
		stored := NewSharePartition(42, m.limits)
		m.readState = func() (map[partKey]*SharePartition, error) {
			return map[partKey]*SharePartition{k: stored}, nil
		}
		var wg sync.WaitGroup
		got := make([]*entry, 4)
		for j := range got {
			wg.Go(func() {
				e, err := m.entryForKey(k, "t", 0, func() int64 { return 100 })
				if err != nil {
					t.Error(err)
				}
				got[j] = e
			})
		}
		wg.Wait()
		for j, e := range got {
			if e == nil || e.sp != stored {
				t.Fatalf("iteration %d, fetch %d: the replayed state was replaced by a fresh share-partition", i, j)
			}
		}
	}
}
