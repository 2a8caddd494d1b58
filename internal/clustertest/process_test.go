package clustertest_test

import (
	"testing"
	"time"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// Stop on a paused process resumes it: a stopped process keeps SIGTERM pending, and Stop would
// otherwise wait for its exit forever.
func TestStopPausedProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a gregor process")
	}
	p := clustertest.StartProcess(t, "")
	p.Pause()
	done := make(chan error, 1)
	go func() { done <- p.Stop() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stop: %v", err)
		}
	case <-time.After(60 * time.Second): // a hang, not a slow exit: fail rather than block the suite
		t.Fatal("Stop of a paused process did not return")
	}
}

// A process the test left paused is resumed before the cleanups registered earlier run (the
// clients and producers of the test), whatever the outcome: they find it answering.
func TestPausedProcessResumedBeforeEarlierCleanups(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a gregor process")
	}
	answered := false
	t.Run("leaves it paused", func(t *testing.T) {
		p := clustertest.StartProcess(t, "")
		t.Cleanup(func() { answered = metadataFrom(t, p.Addr()) != nil })
		p.Pause()
	})
	if !answered {
		t.Fatal("the cleanup registered before Pause found the process paused")
	}
}
