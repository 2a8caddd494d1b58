package txn

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/records"
)

// memLog is an in-memory PartitionLog: every append is committed at once.
type memLog struct {
	mu   sync.Mutex
	recs []records.Record
	fail bool
}

func (l *memLog) Append(recs []records.Record) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail {
		return 0, errors.New("log failed")
	}
	l.recs = append(l.recs, recs...)
	return int64(len(l.recs)), nil
}

func (l *memLog) WaitCommitted(context.Context, int64) error { return nil }
func (l *memLog) LeaderEpoch() int32                         { return 7 }

func (l *memLog) Replay(fn func(key, value []byte)) error {
	l.mu.Lock()
	recs := append([]records.Record(nil), l.recs...)
	l.mu.Unlock()
	for _, r := range recs {
		fn(r.Key, r.Value)
	}
	return nil
}

// markerCall is one WriteTxnMarkers call the fake saw.
type markerCall struct {
	producerID       int64
	epoch            int16
	commit           bool
	coordinatorEpoch int32
	partitions       map[string][]int32
}

// fakeMarkers records marker writes; failures, when set, fails that many calls with
// NOT_LEADER_OR_FOLLOWER for every partition.
type fakeMarkers struct {
	mu       sync.Mutex
	calls    []markerCall
	failures int
}

func (f *fakeMarkers) WriteTxnMarkers(_ context.Context, pid int64, epoch int16, commit bool, ce int32, parts map[string][]int32) map[string]map[int32]error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, markerCall{pid, epoch, commit, ce, parts})
	if f.failures > 0 {
		f.failures--
		out := map[string]map[int32]error{}
		for t, ps := range parts {
			out[t] = map[int32]error{}
			for _, p := range ps {
				out[t][p] = kerr.NotLeaderForPartition
			}
		}
		return out
	}
	return nil
}

func (f *fakeMarkers) snapshot() []markerCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]markerCall(nil), f.calls...)
}

// harness is a coordinator of one __transaction_state partition on a memLog.
type harness struct {
	t       *testing.T
	log     *memLog
	markers *fakeMarkers
	mu      sync.Mutex
	now     time.Time
	nextID  int64
	c       *Coordinator
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, log: &memLog{}, markers: &fakeMarkers{}, now: time.UnixMilli(1_000_000), nextID: 1000}
	h.start()
	return h
}

func (h *harness) start() {
	b := config.Default()
	b.TransactionStateLogNumPartitions = 1
	h.c = New(Config{
		NodeID:  1,
		Broker:  b,
		OpenLog: func(int32) (PartitionLog, error) { return h.log, nil },
		NextProducerID: func(context.Context) (int64, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.nextID++
			return h.nextID, nil
		},
		Markers:            h.markers,
		Now:                h.clock,
		MarkerRetryBackoff: time.Millisecond,
		NoBackgroundChecks: true,
	})
	h.c.setLeadership(1, []int32{0})
	h.waitFor("loaded", func() bool {
		_, err := h.c.DescribeTransaction("nobody")
		return !errors.Is(err, kerr.CoordinatorLoadInProgress)
	})
	h.t.Cleanup(h.c.Close)
}

// restart closes the coordinator and starts a new one on the same log: state comes back by
// replay.
func (h *harness) restart() {
	h.c.Close()
	h.start()
}

func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now = h.now.Add(d)
}

func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (h *harness) state(id string) string {
	d, err := h.c.DescribeTransaction(id)
	if err != nil {
		return err.Error()
	}
	return d.State
}

func (h *harness) waitState(id, want string) {
	h.t.Helper()
	h.waitFor(id+" in "+want, func() bool { return h.state(id) == want })
}

func (h *harness) init(id string) (int64, int16) {
	h.t.Helper()
	pid, epoch, err := h.c.InitProducerID(context.Background(), id, 60000, -1, -1)
	if err != nil {
		h.t.Fatalf("InitProducerId %s: %v", id, err)
	}
	return pid, epoch
}

func wantErr(t *testing.T, err error, want *kerr.Error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got %v, want %v", err, want)
	}
}

func TestCommitWritesMarkersThenCompletes(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	pid, epoch := h.init("t1")
	if epoch != 0 {
		t.Fatalf("first epoch %d", epoch)
	}
	if err := h.c.AddPartitions(ctx, "t1", pid, epoch, map[string][]int32{"a": {0, 1}, "b": {2}}); err != nil {
		t.Fatal(err)
	}
	if got := h.state("t1"); got != "Ongoing" {
		t.Fatalf("state %s", got)
	}
	h.markers.mu.Lock()
	h.markers.failures = 2 // retried until they succeed
	h.markers.mu.Unlock()
	if err := h.c.EndTxn(ctx, "t1", pid, epoch, true); err != nil {
		t.Fatal(err)
	}
	h.waitState("t1", "CompleteCommit")
	calls := h.markers.snapshot()
	if len(calls) != 3 {
		t.Fatalf("%d marker calls, want 3 (two failed)", len(calls))
	}
	last := calls[2]
	if last.producerID != pid || last.epoch != epoch || !last.commit || last.coordinatorEpoch != 7 ||
		len(last.partitions["a"]) != 2 || len(last.partitions["b"]) != 1 {
		t.Fatalf("markers %+v", last)
	}
	// A retried EndTxn that completed succeeds; the other outcome is INVALID_TXN_STATE.
	if err := h.c.EndTxn(ctx, "t1", pid, epoch, true); err != nil {
		t.Fatalf("retried commit: %v", err)
	}
	wantErr(t, h.c.EndTxn(ctx, "t1", pid, epoch, false), kerr.InvalidTxnState)
	d, _ := h.c.DescribeTransaction("t1")
	if len(d.Partitions) != 0 {
		t.Fatalf("completed transaction keeps partitions %v", d.Partitions)
	}
}

func TestAbortAndErrors(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	pid, epoch := h.init("t1")
	wantErr(t, h.c.EndTxn(ctx, "t1", pid, epoch, true), kerr.InvalidTxnState) // Empty
	wantErr(t, h.c.AddPartitions(ctx, "t1", pid+1, epoch, map[string][]int32{"a": {0}}), kerr.InvalidProducerIDMapping)
	wantErr(t, h.c.AddPartitions(ctx, "nobody", pid, epoch, map[string][]int32{"a": {0}}), kerr.InvalidProducerIDMapping)
	wantErr(t, h.c.AddPartitions(ctx, "t1", pid, epoch+1, map[string][]int32{"a": {0}}), kerr.ProducerFenced)
	if err := h.c.AddPartitions(ctx, "t1", pid, epoch, map[string][]int32{"a": {0}}); err != nil {
		t.Fatal(err)
	}
	res, err := h.c.VerifyPartitions("t1", pid, epoch, map[string][]int32{"a": {0, 1}})
	if err != nil || res["a"][0] != nil || !errors.Is(res["a"][1], kerr.InvalidTxnState) {
		t.Fatalf("verify %v %v", res, err)
	}
	if err := h.c.EndTxn(ctx, "t1", pid, epoch, false); err != nil {
		t.Fatal(err)
	}
	h.waitState("t1", "CompleteAbort")
	if calls := h.markers.snapshot(); len(calls) != 1 || calls[0].commit {
		t.Fatalf("markers %+v", calls)
	}
	_, _, err = h.c.InitProducerID(ctx, "t1", h.c.cfg.Broker.TransactionMaxTimeoutMs+1, -1, -1)
	wantErr(t, err, kerr.InvalidTransactionTimeout)
}

func TestInitProducerIDFencesOngoingTransaction(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	pid, epoch := h.init("t1")
	if err := h.c.AddPartitions(ctx, "t1", pid, epoch, map[string][]int32{"a": {0}}); err != nil {
		t.Fatal(err)
	}
	// Hold the abort's markers back so CONCURRENT_TRANSACTIONS can be seen.
	h.markers.mu.Lock()
	h.markers.failures = 1 << 30
	h.markers.mu.Unlock()
	_, _, err := h.c.InitProducerID(ctx, "t1", 60000, -1, -1)
	wantErr(t, err, kerr.ConcurrentTransactions)
	_, _, err = h.c.InitProducerID(ctx, "t1", 60000, -1, -1)
	wantErr(t, err, kerr.ConcurrentTransactions)
	h.markers.mu.Lock()
	h.markers.failures = 0
	h.markers.mu.Unlock()
	h.waitState("t1", "CompleteAbort")
	calls := h.markers.snapshot()
	if last := calls[len(calls)-1]; last.commit || last.epoch != epoch+1 {
		t.Fatalf("abort markers %+v: want the bumped epoch %d", last, epoch+1)
	}
	pid2, epoch2 := h.init("t1")
	if pid2 != pid || epoch2 != epoch+2 {
		t.Fatalf("after fencing got %d/%d, want %d/%d", pid2, epoch2, pid, epoch+2)
	}
	// The fenced producer's requests fail.
	wantErr(t, h.c.AddPartitions(ctx, "t1", pid, epoch, map[string][]int32{"a": {0}}), kerr.ProducerFenced)
	wantErr(t, h.c.EndTxn(ctx, "t1", pid, epoch, true), kerr.ProducerFenced)
}

func TestInitProducerIDEpochExhaustionAndKIP360(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	pid, epoch := h.init("t1")
	// KIP-360: the current id and epoch bump; a retry with the previous epoch gets the same.
	pid2, epoch2, err := h.c.InitProducerID(ctx, "t1", 60000, pid, epoch)
	if err != nil || pid2 != pid || epoch2 != epoch+1 {
		t.Fatalf("got %d/%d %v", pid2, epoch2, err)
	}
	if p, e, err := h.c.InitProducerID(ctx, "t1", 60000, pid, epoch); err != nil || p != pid || e != epoch2 {
		t.Fatalf("retry got %d/%d %v", p, e, err)
	}
	_, _, err = h.c.InitProducerID(ctx, "t1", 60000, 99999, 0)
	wantErr(t, err, kerr.ProducerFenced)
	// Exhaust the epoch: a new producer id with epoch 0.
	s, _ := h.c.shardFor("t1")
	m := s.txns["t1"].clone()
	m.epoch = 32766
	s.writeLocked("t1", m)
	s.Unlock()
	pid3, epoch3 := h.init("t1")
	if pid3 == pid || epoch3 != 0 {
		t.Fatalf("after exhaustion got %d/%d", pid3, epoch3)
	}
}

func TestTimedOutTransactionIsAbortedAndFenced(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	pid, epoch, err := h.c.InitProducerID(ctx, "t1", 2000, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.c.AddPartitions(ctx, "t1", pid, epoch, map[string][]int32{"a": {0}}); err != nil {
		t.Fatal(err)
	}
	h.advance(1999 * time.Millisecond)
	if n := h.c.AbortTimedOut(); n != 0 {
		t.Fatalf("aborted %d before the timeout", n)
	}
	h.advance(time.Millisecond)
	if n := h.c.AbortTimedOut(); n != 1 {
		t.Fatalf("aborted %d at the timeout", n)
	}
	h.waitState("t1", "CompleteAbort")
	wantErr(t, h.c.EndTxn(ctx, "t1", pid, epoch, true), kerr.ProducerFenced)
	d, _ := h.c.DescribeTransaction("t1")
	if d.ProducerEpoch != epoch+1 {
		t.Fatalf("epoch %d after the timeout, want %d", d.ProducerEpoch, epoch+1)
	}
}

func TestExpireTransactionalIDs(t *testing.T) {
	h := newHarness(t)
	h.init("t1")
	h.advance(time.Duration(h.c.cfg.Broker.TransactionalIDExpirationMs-1) * time.Millisecond)
	if n := h.c.ExpireTransactionalIDs(); n != 0 {
		t.Fatalf("expired %d early", n)
	}
	h.advance(time.Millisecond)
	if n := h.c.ExpireTransactionalIDs(); n != 1 {
		t.Fatalf("expired %d", n)
	}
	_, err := h.c.DescribeTransaction("t1")
	wantErr(t, err, kerr.TransactionalIDNotFound)
	h.restart()
	_, err = h.c.DescribeTransaction("t1")
	wantErr(t, err, kerr.TransactionalIDNotFound)
}

func TestRestartReplaysStateAndResumesMarkers(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	pid, epoch := h.init("done")
	h.c.AddPartitions(ctx, "done", pid, epoch, map[string][]int32{"a": {0}})
	h.c.EndTxn(ctx, "done", pid, epoch, true)
	h.waitState("done", "CompleteCommit")
	pid2, epoch2 := h.init("open")
	h.c.AddPartitions(ctx, "open", pid2, epoch2, map[string][]int32{"b": {1}})
	pid3, epoch3 := h.init("preparing")
	h.c.AddPartitions(ctx, "preparing", pid3, epoch3, map[string][]int32{"c": {2}})
	h.markers.mu.Lock()
	h.markers.failures = 1 << 30 // the coordinator stops before its markers are written
	h.markers.mu.Unlock()
	h.c.EndTxn(ctx, "preparing", pid3, epoch3, false)

	h.restart()
	h.markers.mu.Lock()
	h.markers.failures = 0
	h.markers.mu.Unlock()
	if got := h.state("done"); got != "CompleteCommit" {
		t.Fatalf("done: %s", got)
	}
	if got := h.state("open"); got != "Ongoing" {
		t.Fatalf("open: %s", got)
	}
	h.waitState("preparing", "CompleteAbort") // resumed on load
	d, _ := h.c.DescribeTransaction("open")
	if d.ProducerID != pid2 || d.ProducerEpoch != epoch2 || len(d.Partitions["b"]) != 1 || d.TimeoutMs != 60000 {
		t.Fatalf("open after restart: %+v", d)
	}
	list, unknown, err := h.c.ListTransactions([]string{"Ongoing", "Bogus"}, nil, -1)
	if err != nil || len(list) != 1 || list[0].TransactionalID != "open" || len(unknown) != 1 {
		t.Fatalf("list %+v %v %v", list, unknown, err)
	}
	list, _, _ = h.c.ListTransactions(nil, []int64{pid}, -1)
	if len(list) != 1 || list[0].TransactionalID != "done" {
		t.Fatalf("list by producer id %+v", list)
	}
	h.advance(time.Minute)
	list, _, _ = h.c.ListTransactions([]string{"Ongoing"}, nil, 30000)
	if len(list) != 1 || list[0].TransactionalID != "open" {
		t.Fatalf("list by duration %+v", list)
	}
	list, _, _ = h.c.ListTransactions(nil, nil, 120000)
	if len(list) != 0 {
		t.Fatalf("list by a duration longer than any %+v", list)
	}
}

func TestNotCoordinator(t *testing.T) {
	h := newHarness(t)
	h.c.setLeadership(1, nil)
	_, _, err := h.c.InitProducerID(context.Background(), "t1", 1000, -1, -1)
	wantErr(t, err, kerr.NotCoordinator)
}
