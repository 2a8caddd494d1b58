package lag

import (
	"testing"
	"time"
)

// fakeOffsets is one partition, t-0, whose log-end offset the test moves.
type fakeOffsets struct {
	leo int64
	ts  int64 // the base timestamp of every batch
}

func (f *fakeOffsets) LogEndOffset(topic string, partition int32) (int64, bool) {
	return f.leo, topic == "t"
}

func (f *fakeOffsets) BatchTimestampAt(topic string, partition int32, offset int64) (int64, bool) {
	return f.ts, offset < f.leo
}

// scenario commits (offset, log-end offset) pairs one minute apart and evaluates one minute
// after the last, with the log-end offset then at leoNow.
func scenario(t *testing.T, steps [][2]int64, leoNow int64, evalAfter time.Duration) *GroupStatus {
	t.Helper()
	now := time.Unix(1_700_000_000, 0)
	off := &fakeOffsets{ts: now.UnixMilli()}
	e := New(Config{WindowSize: len(steps), Offsets: off, Now: func() time.Time { return now }})
	for _, s := range steps {
		off.leo = s[1]
		e.Observe("g", "t", 0, s[0], now)
		now = now.Add(time.Minute)
	}
	off.leo = leoNow
	now = now.Add(evalAfter - time.Minute)
	gs, ok := e.Evaluate("g")
	if !ok {
		t.Fatal("group not found")
	}
	return gs
}

func TestEvaluatorStatuses(t *testing.T) {
	for _, tc := range []struct {
		name      string
		steps     [][2]int64
		leoNow    int64
		after     time.Duration
		partition Status
		group     Status
	}{
		// The lag reaches zero within the window.
		{"OK", [][2]int64{{10, 20}, {20, 25}, {30, 30}, {40, 45}}, 50, time.Minute, OK, OK},
		// The consumer moves on but the lag never shrinks.
		{"WARNING", [][2]int64{{10, 20}, {20, 30}, {30, 45}, {40, 60}}, 70, time.Minute, Warning, Warning},
		// Same offset committed again and again with lag.
		{"STALL", [][2]int64{{10, 20}, {10, 20}, {10, 25}, {10, 30}}, 30, time.Minute, Stall, Error},
		// The last commit is older than the window's span (3 minutes).
		{"STOP", [][2]int64{{10, 20}, {20, 30}, {30, 35}, {40, 50}}, 60, 4 * time.Minute, Stop, Error},
		// The committed offset went backwards.
		{"REWIND", [][2]int64{{10, 20}, {20, 30}, {5, 30}, {15, 40}}, 40, time.Minute, Rewind, Error},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gs := scenario(t, tc.steps, tc.leoNow, tc.after)
			p := gs.Partitions[0]
			if p.Status != tc.partition || gs.Status != tc.group {
				t.Fatalf("partition %v group %v, want %v %v", p.Status, gs.Status, tc.partition, tc.group)
			}
			last := tc.steps[len(tc.steps)-1][0]
			if want := uint64(tc.leoNow - last); p.CurrentLag != want || gs.TotalLag != want || gs.Maxlag != p {
				t.Fatalf("current lag %d total %d, want %d", p.CurrentLag, gs.TotalLag, want)
			}
			if p.Complete != 1 || gs.Complete != 1 {
				t.Fatalf("complete %v %v", p.Complete, gs.Complete)
			}
			if p.LagSeconds <= 0 {
				t.Fatalf("lag seconds %v with lag", p.LagSeconds)
			}
		})
	}
}

func TestEvaluatorWindowSlidesAndGroups(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	off := &fakeOffsets{leo: 100}
	e := New(Config{WindowSize: 3, Offsets: off, Now: func() time.Time { return now }})
	for i := range 5 {
		e.Observe("g", "t", 0, int64(i*10), now.Add(time.Duration(i)*time.Second))
	}
	e.Observe("g", "t", 1, 100, now)
	e.Observe("h", "t", 0, 1, now)
	gs, _ := e.Evaluate("g")
	if gs.TotalPartitions != 2 || gs.Partitions[0].Start.Offset != 20 || gs.Partitions[0].End.Offset != 40 {
		t.Fatalf("window: %+v start %+v end %+v", gs, gs.Partitions[0].Start, gs.Partitions[0].End)
	}
	if c := gs.Partitions[1].Complete; c != float32(1)/3 {
		t.Fatalf("one commit of three: complete %v", c)
	}
	if gs.Maxlag.Partition != 0 || gs.TotalLag != 60 {
		t.Fatalf("maxlag %d totallag %d", gs.Maxlag.Partition, gs.TotalLag)
	}
	if g := e.Groups(); len(g) != 2 || g[0] != "g" || g[1] != "h" {
		t.Fatalf("groups %v", g)
	}
	if _, ok := e.Evaluate("none"); ok {
		t.Fatal("unknown group found")
	}
}
