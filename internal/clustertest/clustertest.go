// Package clustertest starts real Gregor nodes for tests: in-process on loopback with random
// ports, or as separate `gregor serve` processes that a test can kill -9.
package clustertest

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/node"
)

// Node is an in-process node started by StartNode.
type Node struct {
	*node.Node
	// Dir is the node's data directory.
	Dir string
	t   testing.TB
	cfg config.Broker
}

// StartNode starts a single-node cluster in t.TempDir() on 127.0.0.1 with free ports; the
// overrides are Kafka config key=value pairs applied on top. The node is closed when the test
// ends.
//
// Overriding listeners (say "PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0,CONTROLLER://127.0.0.1:0")
// without advertised.listeners advertises every client listener at its bound port; ListenerAddr
// gives each one's address.
func StartNode(t testing.TB, overrides ...string) *Node {
	t.Helper()
	dir := t.TempDir()
	props := map[string]string{
		"listeners":            "PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0",
		"advertised.listeners": "PLAINTEXT://127.0.0.1:0",
		"log.dirs":             dir,
		"admin.listeners":      "http://127.0.0.1:0",
	}
	for i := 0; i+1 < len(overrides); i += 2 {
		props[overrides[i]] = overrides[i+1]
		if overrides[i] == "listeners" && !slices.Contains(overrides, "advertised.listeners") {
			delete(props, "advertised.listeners") // derived from listeners
		}
	}
	cfg, err := config.Load(props)
	if err != nil {
		t.Fatalf("clustertest: config: %v", err)
	}
	n := &Node{Dir: dir, t: t, cfg: cfg}
	n.start()
	t.Cleanup(func() { n.Close() })
	return n
}

func (n *Node) start() {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(testWriter{n.t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	nd, err := node.Start(ctx, n.cfg, logger)
	if err != nil {
		n.t.Fatalf("clustertest: start node: %v", err)
	}
	n.Node = nd
}

// Addr is the node's client address, host:port.
func (n *Node) Addr() string { return n.Node.Addr().String() }

// AdminURL is the node's admin HTTP endpoint, http://host:port ("" when admin.listeners is
// overridden to empty).
func (n *Node) AdminURL() string {
	a := n.Node.AdminAddr()
	if a == nil {
		return ""
	}
	return "http://" + a.String()
}

// ListenerAddr is the bound host:port of the client listener named name; the test fails if
// there is none.
func (n *Node) ListenerAddr(name string) string {
	n.t.Helper()
	a := n.Node.ListenerAddr(name)
	if a == nil {
		n.t.Fatalf("clustertest: no client listener %s", name)
	}
	return a.String()
}

// Restart closes the node cleanly and starts it again on the same data directory (on new
// ports).
func (n *Node) Restart() {
	n.t.Helper()
	if err := n.Node.Close(); err != nil {
		n.t.Fatalf("clustertest: close: %v", err)
	}
	n.start()
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
