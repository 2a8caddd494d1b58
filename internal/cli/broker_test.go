package cli

import (
	"testing"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// startBroker starts a single-node Gregor for the end-to-end tests and returns its client
// address (host:port). The node is stopped when t ends.
func startBroker(t *testing.T) (addr string) {
	t.Helper()
	return clustertest.StartNode(t).Addr()
}
