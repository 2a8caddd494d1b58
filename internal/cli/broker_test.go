package cli

import (
	"testing"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// startBroker starts a single-node Gregor for the end-to-end tests and returns its client
// address (host:port). The node is stopped when t ends.
func startBroker(t *testing.T) (addr string) {
	t.Helper()
	// No initial rebalance delay: group commands need not wait 3 s for a group to form.
	return clustertest.StartNode(t, "group.initial.rebalance.delay.ms", "0").Addr()
}
