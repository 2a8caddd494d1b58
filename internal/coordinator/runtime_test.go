package coordinator

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/metadata"
)

// testShard is a coordinator's shard as the tests see it: its state is the value the load
// installed.
type testShard struct {
	Shard
	value string // guarded by the Shard's lock
}

// timers is a manual AfterFunc: the functions wait until fire runs them.
type timers struct {
	mu      sync.Mutex
	pending []func()
}

func (t *timers) afterFunc(_ time.Duration, f func()) func() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending = append(t.pending, f)
	return func() bool { return false }
}

// waitPending waits until n functions are pending.
func (t *timers) waitPending(tb testing.TB, n int) {
	tb.Helper()
	waitFor(tb, "a retry is scheduled", func() bool {
		t.mu.Lock()
		defer t.mu.Unlock()
		return len(t.pending) == n
	})
}

// fire runs the pending functions, as their timers would, and reports how many there were.
func (t *timers) fire() int {
	t.mu.Lock()
	fs := t.pending
	t.pending = nil
	t.mu.Unlock()
	for _, f := range fs {
		f()
	}
	return len(fs)
}

// harness is a Runtime whose loads are steered by the test: a load blocks until the test
// sends its outcome on the partition's channel (nil: install "loaded").
type harness struct {
	rt      *Runtime[*testShard]
	timers  *timers
	outcome map[int32]chan error

	mu sync.Mutex
	// Fields guarded by mu.
	created  map[int32]int // shards created per partition
	loads    map[int32]int // loads started per partition
	unloads  map[int32]int // unloads per partition
	installs int           // loads that installed their state
}

func newHarness(t *testing.T, noTopicErr *kerr.Error, images func(*metadata.Image)) *harness {
	h := &harness{timers: &timers{}, outcome: map[int32]chan error{},
		created: map[int32]int{}, loads: map[int32]int{}, unloads: map[int32]int{}}
	for p := range int32(4) {
		h.outcome[p] = make(chan error)
	}
	h.rt = New(Config[*testShard]{
		Topic: "__test", NodeID: 1, NoTopicErr: noTopicErr,
		PartitionFor: func(key string, n int32) int32 { return int32(key[0]-'0') % n },
		NewShard: func(p int32) *testShard {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.created[p]++
			return &testShard{}
		},
		Load: func(s *testShard) error {
			h.mu.Lock()
			h.loads[s.Partition()]++
			h.mu.Unlock()
			if err := <-h.outcome[s.Partition()]; err != nil {
				return err
			}
			s.Activate(func() {
				s.value = "loaded"
				h.mu.Lock()
				h.installs++
				h.mu.Unlock()
			})
			return nil
		},
		Unload: func(s *testShard) {
			if s.StateLocked() != Unloaded {
				t.Errorf("Unload of a shard in state %d", s.StateLocked())
			}
			if s.Context().Err() == nil {
				t.Error("Unload before the shard's context ended")
			}
			s.value = ""
			h.mu.Lock()
			h.unloads[s.Partition()]++
			h.mu.Unlock()
		},
		OnImage:   images,
		AfterFunc: h.timers.afterFunc,
	})
	t.Cleanup(func() {
		// Let blocked loads finish so Close can return.
		for _, ch := range h.outcome {
			close(ch)
		}
		h.rt.Close()
	})
	return h
}

func (h *harness) count(m map[int32]int, p int32) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return m[p]
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// shardErr is ShardFor's answer for key, releasing the shard's lock on success.
func shardErr(h *harness, key string) error {
	s, err := h.rt.ShardFor(key)
	if err == nil {
		s.Unlock()
	}
	return err
}

func wantErr(t *testing.T, got error, want *kerr.Error) {
	t.Helper()
	if want == nil {
		if got != nil {
			t.Fatalf("got %v, want no error", got)
		}
		return
	}
	if !errors.Is(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// A led partition answers COORDINATOR_LOAD_IN_PROGRESS until its load activates it, then
// serves the installed state; a partition led elsewhere answers NOT_COORDINATOR, and so does
// every key while the topic does not exist (the transaction coordinator's answer).
func TestShardLifecycle(t *testing.T) {
	h := newHarness(t, nil, nil)
	wantErr(t, shardErr(h, "0"), kerr.NotCoordinator)
	h.rt.SetLeadership(2, []int32{0})
	wantErr(t, shardErr(h, "0"), kerr.CoordinatorLoadInProgress)
	wantErr(t, shardErr(h, "1"), kerr.NotCoordinator)
	if h.rt.Loaded(0) {
		t.Fatal("Loaded while loading")
	}
	h.outcome[0] <- nil
	waitFor(t, "partition 0 is loaded", func() bool { return h.rt.Loaded(0) })
	s, err := h.rt.ShardFor("2") // 2 % 2 = partition 0
	if err != nil {
		t.Fatal(err)
	}
	if s.value != "loaded" || s.Partition() != 0 {
		t.Fatalf("shard %d has %q", s.Partition(), s.value)
	}
	s.Unlock()
	if got := len(h.rt.Shards()); got != 1 {
		t.Fatalf("%d shards, want 1", got)
	}

	// Leadership moves away: the shard unloads once, and the key's answer is NOT_COORDINATOR.
	h.rt.SetLeadership(2, nil)
	wantErr(t, shardErr(h, "0"), kerr.NotCoordinator)
	if n := h.count(h.unloads, 0); n != 1 {
		t.Fatalf("%d unloads, want 1", n)
	}
	// A shard still held by a request sees itself unloaded.
	s.Lock()
	if s.StateLocked() != Unloaded || s.value != "" {
		t.Fatalf("old shard: state %d, value %q", s.StateLocked(), s.value)
	}
	s.Unlock()

	// Leadership comes back: a new shard loads from scratch.
	h.rt.SetLeadership(2, []int32{0})
	wantErr(t, shardErr(h, "0"), kerr.CoordinatorLoadInProgress)
	h.outcome[0] <- nil
	waitFor(t, "partition 0 is loaded again", func() bool { return h.rt.Loaded(0) })
	if n := h.count(h.created, 0); n != 2 {
		t.Fatalf("%d shards created for partition 0, want 2", n)
	}
}

// The group coordinator answers COORDINATOR_NOT_AVAILABLE while its topic does not exist;
// every coordinator answers it once closed.
func TestNoTopicAndClosed(t *testing.T) {
	h := newHarness(t, kerr.CoordinatorNotAvailable, nil)
	wantErr(t, shardErr(h, "0"), kerr.CoordinatorNotAvailable)
	h.rt.SetLeadership(1, []int32{0})
	h.outcome[0] <- nil
	waitFor(t, "partition 0 is loaded", func() bool { return h.rt.Loaded(0) })
	wantErr(t, shardErr(h, "0"), nil)
	h.rt.SetLeadership(0, nil) // the topic is gone
	wantErr(t, shardErr(h, "0"), kerr.CoordinatorNotAvailable)

	h.rt.SetLeadership(1, []int32{0})
	h.outcome[0] <- nil
	waitFor(t, "partition 0 is loaded", func() bool { return h.rt.Loaded(0) })
	h.rt.Close()
	wantErr(t, shardErr(h, "0"), kerr.CoordinatorNotAvailable)
	if n := h.count(h.unloads, 0); n != 2 {
		t.Fatalf("%d unloads, want 2 (leadership lost, then Close)", n)
	}
	h.rt.SetLeadership(1, []int32{0}) // ignored once closed
	if n := h.count(h.created, 0); n != 2 {
		t.Fatalf("a shard was created after Close")
	}
}

// A load that fails leaves the shard loading (clients retry) and is tried again after the
// backoff, until it succeeds.
func TestFailedLoadIsRetried(t *testing.T) {
	h := newHarness(t, nil, nil)
	h.rt.SetLeadership(1, []int32{0})
	h.outcome[0] <- errors.New("disk on fire")
	h.timers.waitPending(t, 1)
	wantErr(t, shardErr(h, "0"), kerr.CoordinatorLoadInProgress)
	go h.timers.fire() // the retry's load blocks until its outcome
	h.outcome[0] <- errors.New("still on fire")
	h.timers.waitPending(t, 1)
	wantErr(t, shardErr(h, "0"), kerr.CoordinatorLoadInProgress)
	go h.timers.fire()
	h.outcome[0] <- nil
	waitFor(t, "partition 0 is loaded", func() bool { return h.rt.Loaded(0) })
	if n := h.count(h.loads, 0); n != 3 {
		t.Fatalf("%d loads, want 3", n)
	}
}

// Leadership lost while the load replays: the load's state is never installed, the shard
// answers NOT_COORDINATOR, and a retry scheduled before the loss does not load again.
func TestLeadershipLostMidLoad(t *testing.T) {
	h := newHarness(t, nil, nil)
	h.rt.SetLeadership(1, []int32{0})
	waitFor(t, "the load starts", func() bool { return h.count(h.loads, 0) == 1 })
	old, _ := h.rt.Shard(0)
	h.rt.SetLeadership(1, nil)
	h.outcome[0] <- nil // the replay finishes after the shard unloaded
	h.rt.Close()        // waits for the loader
	h.mu.Lock()
	installs := h.installs
	h.mu.Unlock()
	if installs != 0 || old.value != "" {
		t.Fatalf("an unloaded shard installed its state (%d installs, value %q)", installs, old.value)
	}
	wantErr(t, shardErr(h, "0"), kerr.CoordinatorNotAvailable)
}

// A load that failed, then lost leadership before its retry: the retry does nothing.
func TestRetryAfterUnloadDoesNotLoad(t *testing.T) {
	h := newHarness(t, nil, nil)
	h.rt.SetLeadership(1, []int32{0})
	h.outcome[0] <- errors.New("disk on fire")
	h.timers.waitPending(t, 1)
	h.rt.SetLeadership(1, nil)
	h.timers.fire()
	if n := h.count(h.loads, 0); n != 1 {
		t.Fatalf("%d loads, want 1: the retry of an unloaded shard loaded it", n)
	}
}

// Apply follows the partitions this node leads, ignores an image older than the last one
// applied, and hands every image it follows to OnImage.
func TestApplyIgnoresStaleImages(t *testing.T) {
	var seen []uint64
	h := newHarness(t, nil, func(img *metadata.Image) { seen = append(seen, img.Offset) })
	image := func(offset uint64, leaders ...int32) *metadata.Image {
		t := &metadata.Topic{Name: "__test"}
		for p, l := range leaders {
			t.Partitions = append(t.Partitions, metadata.Partition{ID: int32(p), Leader: l})
		}
		return &metadata.Image{Offset: offset, Topics: map[string]*metadata.Topic{"__test": t}}
	}
	h.rt.Apply(image(10, 1, 2))
	h.rt.Apply(image(5, 2, 1)) // stale: would move leadership
	if _, ok := h.rt.Shard(0); !ok {
		t.Fatal("a stale image unloaded partition 0")
	}
	if _, ok := h.rt.Shard(1); ok {
		t.Fatal("a stale image loaded partition 1")
	}
	h.rt.Apply(image(11, 2, 1))
	if _, ok := h.rt.Shard(0); ok {
		t.Fatal("partition 0 still led")
	}
	if _, ok := h.rt.Shard(1); !ok {
		t.Fatal("partition 1 not led")
	}
	h.rt.Apply(&metadata.Image{Offset: 12}) // the topic is gone
	if len(h.rt.Shards()) != 0 {
		t.Fatal("shards left without the topic")
	}
	if len(seen) != 3 || seen[0] != 10 || seen[1] != 11 || seen[2] != 12 {
		t.Fatalf("OnImage saw %v, want [10 11 12]", seen)
	}
}

// Close waits for the goroutines of Go and AfterFunc, and refuses new ones.
func TestCloseWaitsForGoroutines(t *testing.T) {
	h := newHarness(t, nil, nil)
	release := make(chan struct{})
	var ran sync.WaitGroup
	ran.Add(1)
	done := false
	if !h.rt.Go(func() {
		ran.Done()
		<-release
		done = true
	}) {
		t.Fatal("Go refused before Close")
	}
	timerRan := false
	h.rt.AfterFunc(time.Second, func() { timerRan = true })
	ran.Wait()
	closed := make(chan struct{})
	go func() {
		h.rt.Close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close returned while a goroutine ran")
	default:
	}
	close(release)
	<-closed
	if !done {
		t.Fatal("Close returned before the goroutine finished")
	}
	if h.rt.Go(func() { t.Error("ran after Close") }) {
		t.Fatal("Go accepted after Close")
	}
	h.timers.fire()
	if timerRan {
		t.Fatal("a timer ran after Close")
	}
}

// Requests, leadership changes and loads run concurrently (run with -race): a request sees
// either a loading shard, an error, or a shard with its state installed, never a half-loaded
// one.
func TestConcurrentLeadershipChanges(t *testing.T) {
	h := newHarness(t, nil, nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// Every load succeeds at once.
	for _, ch := range h.outcome {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case ch <- nil:
				case <-stop:
					return
				}
			}
		}()
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, key := range []string{"0", "1", "2", "3"} {
					s, err := h.rt.ShardFor(key)
					if err == nil {
						if s.value != "loaded" {
							t.Errorf("active shard %d without its state", s.Partition())
						}
						s.Unlock()
					}
				}
			}
		}()
	}
	for i := range 200 {
		var led []int32
		for p := range int32(4) {
			if (i>>p)&1 == 1 {
				led = append(led, p)
			}
		}
		h.rt.SetLeadership(4, led)
	}
	close(stop)
	wg.Wait()
}
