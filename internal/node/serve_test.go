package node_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// TestServeRefusesBadConfig checks that gregor serve does not start on an unknown key or an
// invalid value, and names the key.
func TestServeRefusesBadConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a gregor process")
	}
	bin := clustertest.Binary(t)
	for _, tc := range []struct{ override, key string }{
		{"no.such.key=1", "no.such.key"},
		{"log.segment.bytes=lots", "log.segment.bytes"},
		{"num.partitions=0", "num.partitions"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, bin, "serve",
			"--override", "log.dirs="+t.TempDir(),
			"--override", "listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0",
			"--override", tc.override).CombinedOutput()
		cancel()
		if err == nil {
			t.Fatalf("%s: gregor serve started", tc.override)
		}
		if !strings.Contains(string(out), tc.key) {
			t.Fatalf("%s: error does not name %s:\n%s", tc.override, tc.key, out)
		}
	}
}
