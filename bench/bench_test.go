// Package bench holds bench/run.sh, Gregor's benchmark suite against a real
// node, and a test that runs its quick version so the script keeps working.
package bench

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestQuickRun runs "BENCH_QUICK=1 bench/run.sh" and checks that it prints
// the table with every scenario. It asserts no figure: the machine decides those.
func TestQuickRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds gregor and starts a node")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("the script reads RSS from /proc")
	}
	cmd := exec.CommandContext(t.Context(), "./run.sh")
	cmd.Env = append(os.Environ(), "BENCH_QUICK=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run.sh: %v\n%s", err, out)
	}
	for _, want := range []string{
		"| scenario | figure | ratio | limit |",
		"limit: loopback TCP", "fdatasync per 16 KiB",
		"acks=1, linger 5 ms, none", "acks=all, linger 5 ms, lz4",
		"consume 1 KiB from page cache", "e2e max load, acks=all, linger 0, batch.size 16 KiB",
		"produce ack latency at 50% of max load", "e2e latency at 50% of max load",
		"1 partition, acks=1", "idle partitions", "restart with",
		"flush.messages=1, acks=1,", "flush.messages=1, acks=all,", "disk, fdatasync per 16 KiB",
		"3 nodes, RF=3, 6 partitions, acks=all", "one node, acks=all, lz4",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "FAILED") {
		t.Errorf("a scenario failed:\n%s", out)
	}
	if strings.Contains(string(out), "| n/a MB/s") {
		t.Errorf("a throughput figure is missing:\n%s", out)
	}
}
