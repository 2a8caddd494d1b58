// Package dev implements "gregor dev": local development helpers. "gregor dev cluster" runs a
// multi-node cluster in one process on this machine, each node with its own data directory
// under one folder, until Ctrl-C.
package dev

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/node"
)

// NewCommand returns the "dev" command and its verbs.
func NewCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Local development helpers",
	}
	cmd.AddCommand(newClusterCommand())
	return cmd
}

func newClusterCommand() *cobra.Command {
	var (
		nodes    int
		basePort int
		dir      string
		verbose  bool
	)
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Run a local multi-node cluster until Ctrl-C",
		Long: `Run a local cluster of --nodes nodes in this process. The first three (or all, when
fewer) are controller quorum voters and brokers, the others broker-only nodes. Node i
(1-based) serves clients on 127.0.0.1:<base-port + i - 1> and, for voters, its controller
listener on <base-port + 1000 + i - 1>; its data lives in <dir>/node-<i>, so a second run
continues the same cluster. --base-port 0 picks free ports (then a second run on the same
--dir cannot find the voters again: use a new --dir).

The bootstrap servers are printed once every node serves.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if nodes < 1 {
				return errors.New("--nodes must be at least 1")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			var logOut io.Writer = io.Discard
			if verbose {
				logOut = cmd.ErrOrStderr()
			}
			logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
			cfgs, err := clusterConfigs(nodes, basePort, dir)
			if err != nil {
				return err
			}
			running, err := startAll(ctx, cfgs, logger)
			defer func() {
				for i := len(running) - 1; i >= 0; i-- {
					if running[i] != nil {
						running[i].Close()
					}
				}
			}()
			if err != nil {
				return err
			}
			if err := waitUnfenced(ctx, running, nodes); err != nil {
				return err
			}
			var addrs []string
			for _, n := range running {
				addrs = append(addrs, n.Addr().String())
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "gregor dev cluster: %d nodes, data in %s\n", nodes, dir)
			fmt.Fprintf(w, "bootstrap.servers=%s\n", strings.Join(addrs, ","))
			fmt.Fprintln(w, "Press Ctrl-C to stop.")
			<-ctx.Done()
			fmt.Fprintln(w, "stopping")
			return nil
		},
	}
	cmd.Flags().IntVar(&nodes, "nodes", 3, "number of nodes")
	cmd.Flags().IntVar(&basePort, "base-port", 9092, "client port of node 1 (node i gets base-port+i-1); 0 picks free ports")
	cmd.Flags().StringVar(&dir, "dir", "./gregor-dev", "folder holding each node's data directory")
	cmd.Flags().BoolVar(&verbose, "verbose", false, "log every node's output to stderr")
	return cmd
}

// clusterConfigs builds each node's configuration.
func clusterConfigs(n, basePort int, dir string) ([]config.Broker, error) {
	voters := min(n, 3)
	ctrlPorts := make([]int, voters)
	clientPorts := make([]int, n)
	for i := range n {
		if basePort != 0 {
			clientPorts[i] = basePort + i
		}
	}
	for i := range voters {
		if basePort != 0 {
			ctrlPorts[i] = basePort + 1000 + i
			continue
		}
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ctrlPorts[i] = p
	}
	var quorum []string
	for i := range voters {
		quorum = append(quorum, fmt.Sprintf("%d@127.0.0.1:%d", i+1, ctrlPorts[i]))
	}
	var cfgs []config.Broker
	for i := range n {
		props := map[string]string{
			"node.id":                  strconv.Itoa(i + 1),
			"controller.quorum.voters": strings.Join(quorum, ","),
			"advertised.listeners":     fmt.Sprintf("PLAINTEXT://127.0.0.1:%d", clientPorts[i]),
			"log.dirs":                 filepath.Join(dir, fmt.Sprintf("node-%d", i+1)),
			"admin.listeners":          "",
		}
		if i < voters {
			props["process.roles"] = "broker,controller"
			props["listeners"] = fmt.Sprintf("PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d", clientPorts[i], ctrlPorts[i])
		} else {
			props["process.roles"] = "broker"
			props["listeners"] = fmt.Sprintf("PLAINTEXT://127.0.0.1:%d", clientPorts[i])
		}
		cfg, err := config.Load(props)
		if err != nil {
			return nil, fmt.Errorf("node %d: %w", i+1, err)
		}
		cfgs = append(cfgs, cfg)
	}
	return cfgs, nil
}

// startAll starts the voters together (each waits for a quorum), then the other nodes. It
// returns the nodes it started, nil where one failed.
func startAll(ctx context.Context, cfgs []config.Broker, logger *slog.Logger) ([]*node.Node, error) {
	nodes := make([]*node.Node, len(cfgs))
	errs := make([]error, len(cfgs))
	voters := min(len(cfgs), 3)
	run := func(from, to int) {
		var wg sync.WaitGroup
		for i := from; i < to; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				nodes[i], errs[i] = node.Start(ctx, cfgs[i], logger.With("node", i+1))
			}()
		}
		wg.Wait()
	}
	run(0, voters)
	if err := errors.Join(errs...); err != nil {
		return nodes, err
	}
	run(voters, len(cfgs))
	return nodes, errors.Join(errs...)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// readyTimeout bounds how long the cluster may take to have every broker registered and
// unfenced.
const readyTimeout = time.Minute

// waitUnfenced returns once every node's metadata shows all n brokers registered and
// unfenced, so that the bootstrap servers are printed only when a client would see the whole
// cluster.
func waitUnfenced(ctx context.Context, running []*node.Node, n int) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ready := true
		for _, nd := range running {
			unfenced := 0
			for _, b := range nd.Controller().Image().Brokers {
				if !b.Fenced {
					unfenced++
				}
			}
			ready = ready && unfenced == n
		}
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dev cluster: not every broker was unfenced within %v", readyTimeout)
		case <-tick.C:
		}
	}
}
