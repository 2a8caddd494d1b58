package replica

import (
	"sync"
	"sync/atomic"
)

// diskParallelism is how many partitions Apply opens, and Close closes, at once. Opening a
// log, changing a partition's role and closing a log each write and fsync a few small files;
// an fsync mostly waits for the file system's journal commit, which concurrent fsyncs share.
// Done one partition after another, a CreateTopics of thousands of partitions, or a restart
// over them, waits for thousands of commits in turn; done this many at a time, the waits
// overlap.
const diskParallelism = 32

// forEachParallel calls fn(i) for every i in [0, n) on up to workers goroutines and returns
// when all calls have. Each call must touch only what belongs to its own i.
func forEachParallel(n, workers int, fn func(i int)) {
	if n <= 0 {
		return
	}
	workers = min(workers, n)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}
