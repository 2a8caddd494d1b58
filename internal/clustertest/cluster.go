package clustertest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/node"
)

// Cluster is a set of in-process nodes on 127.0.0.1 started by StartCluster: the first
// Voters nodes are controller quorum voters (and brokers), the rest broker-only nodes. Node i
// (0-based) has node.id i+1 and its own data directory; each keeps its controller port across
// restarts, while client ports are picked anew.
type Cluster struct {
	t     testing.TB
	nodes []*Node
}

// ClusterOption adjusts a cluster before it starts.
type ClusterOption func(*clusterConfig)

type clusterConfig struct {
	voters         int
	clientListener string // "PLAINTEXT" unless ClientListener
	controllerOnly bool
	bootstrapOnly  bool
	overrides      []string         // for every node
	perNode        map[int][]string // by node index
}

// Voters sets how many nodes are controller voters (default: 3, or n when n < 3).
func Voters(k int) ClusterOption { return func(c *clusterConfig) { c.voters = k } }

// ClientListener names the brokers' client listener (and advertised listener), which is then
// also their inter-broker listener, instead of PLAINTEXT: "SASL_SSL", say, whose security
// settings come with Overrides.
func ClientListener(name string) ClusterOption {
	return func(c *clusterConfig) { c.clientListener = name }
}

// ControllerOnly makes the voters controller-only nodes (process.roles=controller): they serve
// no clients, and the brokers are the other nodes.
func ControllerOnly() ClusterOption { return func(c *clusterConfig) { c.controllerOnly = true } }

// BootstrapServers makes broker-only nodes find the quorum through
// controller.quorum.bootstrap.servers instead of controller.quorum.voters.
func BootstrapServers() ClusterOption { return func(c *clusterConfig) { c.bootstrapOnly = true } }

// Overrides sets config key, value pairs on every node.
func Overrides(kv ...string) ClusterOption {
	return func(c *clusterConfig) { c.overrides = append(c.overrides, kv...) }
}

// NodeOverrides sets config key, value pairs on node i only (after Overrides).
func NodeOverrides(i int, kv ...string) ClusterOption {
	return func(c *clusterConfig) { c.perNode[i] = append(c.perNode[i], kv...) }
}

// StartCluster starts n nodes and waits until every broker is registered and unfenced and
// every node has the same metadata image. The defaults suit tests: heartbeats every 100ms, a
// broker session timeout of 1.5s. The cluster is stopped when the test ends.
func StartCluster(t testing.TB, n int, opts ...ClusterOption) *Cluster {
	t.Helper()
	cc := clusterConfig{voters: min(n, 3), clientListener: "PLAINTEXT", perNode: map[int][]string{}}
	for _, o := range opts {
		o(&cc)
	}
	ports := freePorts(t, cc.voters)
	var voters []string
	for i := range cc.voters {
		voters = append(voters, fmt.Sprintf("%d@127.0.0.1:%d", i+1, ports[i]))
	}
	c := &Cluster{t: t}
	for i := range n {
		dir := t.TempDir()
		props := map[string]string{
			"node.id":                      strconv.Itoa(i + 1),
			"controller.quorum.voters":     strings.Join(voters, ","),
			"advertised.listeners":         cc.clientListener + "://127.0.0.1:0",
			"log.dirs":                     dir,
			"admin.listeners":              "",
			"broker.heartbeat.interval.ms": "100",
			"broker.session.timeout.ms":    "1500",
		}
		switch {
		case i < cc.voters && cc.controllerOnly:
			props["process.roles"] = "controller"
			props["listeners"] = fmt.Sprintf("CONTROLLER://127.0.0.1:%d", ports[i])
			delete(props, "advertised.listeners")
		case i < cc.voters:
			props["process.roles"] = "broker,controller"
			props["listeners"] = fmt.Sprintf("%s://127.0.0.1:0,CONTROLLER://127.0.0.1:%d", cc.clientListener, ports[i])
		default:
			props["process.roles"] = "broker"
			props["listeners"] = cc.clientListener + "://127.0.0.1:0"
			if cc.bootstrapOnly {
				var addrs []string
				for _, p := range ports {
					addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", p))
				}
				props["controller.quorum.voters"] = ""
				props["controller.quorum.bootstrap.servers"] = strings.Join(addrs, ",")
			}
		}
		kv := append(append([]string{}, cc.overrides...), cc.perNode[i]...)
		for j := 0; j+1 < len(kv); j += 2 {
			props[kv[j]] = kv[j+1]
		}
		cfg, err := config.Load(props)
		if err != nil {
			t.Fatalf("clustertest: node %d config: %v", i+1, err)
		}
		c.nodes = append(c.nodes, &Node{Dir: dir, t: t, cfg: cfg})
	}
	t.Cleanup(c.Close)

	// The voters start together: each waits for a quorum. Brokers follow.
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range cc.voters {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = c.nodes[i].startErr() }()
	}
	wg.Wait()
	for i := cc.voters; i < n; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = c.nodes[i].startErr() }()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("clustertest: start node %d: %v", i+1, err)
		}
	}
	c.WaitConverged()
	return c
}

// freePorts reserves k free loopback ports for listeners that must keep their port across
// restarts (the controller quorum's). They come from below the kernel's ephemeral range: a
// port from inside it (what binding port 0 gives) can become the source port of some
// outgoing connection while its node is down, and the node's restart then fails with
// "address already in use". No port is handed out twice by one test binary.
func freePorts(t testing.TB, k int) []int {
	t.Helper()
	low := ephemeralLow()
	portsMu.Lock()
	defer portsMu.Unlock()
	var lns []net.Listener
	var ports []int
	for tries := 0; len(ports) < k; tries++ {
		if tries > 10000 {
			t.Fatalf("clustertest: no free port below %d", low)
		}
		p := minPort + rand.IntN(low-minPort)
		if portsHanded[p] {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue // in use
		}
		portsHanded[p] = true
		lns = append(lns, ln)
		ports = append(ports, p)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// minPort is the lowest port freePorts picks, clear of well-known services.
const minPort = 10000

var (
	portsMu     sync.Mutex
	portsHanded = map[int]bool{}
)

// ephemeralLow is the first port of the kernel's ephemeral range (32768 when unknown).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > minPort+1000 {
				return n
			}
		}
	}
	return 32768
}

// N is the number of nodes.
func (c *Cluster) N() int { return len(c.nodes) }

// Node returns node i (0-based; node.id i+1). Its embedded *node.Node is nil while stopped.
func (c *Cluster) Node(i int) *Node { return c.nodes[i] }

// IsBroker reports whether node i has the broker role.
func (c *Cluster) IsBroker(i int) bool { return c.nodes[i].cfg.HasRole("broker") }

// Running reports whether node i is running.
func (c *Cluster) Running(i int) bool { return c.nodes[i].Node != nil }

// Addrs returns the client addresses of the running brokers.
func (c *Cluster) Addrs() []string {
	var out []string
	for _, n := range c.nodes {
		if n.Node != nil && n.cfg.HasRole("broker") {
			out = append(out, n.Addr())
		}
	}
	return out
}

// Stop closes node i cleanly (a controlled shutdown).
func (c *Cluster) Stop(i int) {
	c.t.Helper()
	n := c.nodes[i]
	if n.Node == nil {
		return
	}
	if err := n.Node.Close(); err != nil {
		c.t.Logf("clustertest: close node %d: %v", i+1, err)
	}
	n.Node = nil
}

// Restart starts node i again on its data directory (stopping it first if it runs).
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	c.Stop(i)
	if err := c.nodes[i].startErr(); err != nil {
		c.t.Fatalf("clustertest: restart node %d: %v", i+1, err)
	}
}

// ActiveController returns the index of the running node that is the active controller, or
// -1 when none is now.
func (c *Cluster) ActiveController() int {
	for i, n := range c.nodes {
		if n.Node != nil && n.Controller().Active() {
			return i
		}
	}
	return -1
}

// WaitActiveController waits for a running node to be the active controller and returns its
// index.
func (c *Cluster) WaitActiveController() int {
	c.t.Helper()
	var i int
	WaitFor(c.t, 20*time.Second, "an active controller", func() bool {
		i = c.ActiveController()
		return i >= 0
	})
	return i
}

// WaitConverged waits until every running node has applied the same metadata offset and
// every running broker is registered and unfenced in it.
func (c *Cluster) WaitConverged() {
	c.t.Helper()
	WaitFor(c.t, 20*time.Second, "every node to agree on the metadata", func() bool {
		var offset uint64
		for _, n := range c.nodes {
			if n.Node == nil {
				continue
			}
			img := n.Controller().Image()
			if offset == 0 {
				offset = img.Offset
			}
			if img.Offset != offset {
				return false
			}
			for j, m := range c.nodes {
				if b, ok := img.Brokers[int32(j+1)]; m.Node != nil && m.cfg.HasRole("broker") && (!ok || b.Fenced) {
					return false
				}
			}
		}
		return offset > 0
	})
}

// Close stops every node, the last first: broker-only nodes, then voters, so that each
// controlled shutdown still finds a quorum.
func (c *Cluster) Close() {
	for i := len(c.nodes) - 1; i >= 0; i-- {
		c.Stop(i)
	}
}

// WaitFor polls cond with a short backoff until it holds, and fails the test with what when
// timeout passes first.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	backoff := 5 * time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("clustertest: timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, 100*time.Millisecond)
	}
}

// startErr starts the node, returning the error rather than failing the test (so it can run
// in another goroutine).
func (n *Node) startErr() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(testWriter{n.t}, &slog.HandlerOptions{Level: slog.LevelInfo})).
			With("node", n.cfg.NodeID)
	}
	nd, err := node.Start(ctx, n.cfg, logger)
	if err != nil {
		return err
	}
	n.Node = nd
	return nil
}
