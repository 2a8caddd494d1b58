// Package node assembles one Gregor process: the controller, the replica manager, the API
// handlers, the client listeners (every listener that is not a controller listener, each
// with its security protocol from listener.security.protocol.map) and the admin HTTP listener
// (metrics, consumer lag, web console).
//
// process.roles decides what runs: "broker,controller" (the default) is a controller quorum
// voter and a broker; "broker" follows the metadata log as a Raft non-voter and reaches the
// controllers through controller.quorum.voters (or controller.quorum.bootstrap.servers);
// "controller" is a voter that serves no clients. A broker registers with the active
// controller, heartbeats every broker.heartbeat.interval.ms, and on Close (SIGTERM) goes
// through a controlled shutdown so that its partitions get other leaders first. A single node
// is a cluster of one, running the same code path: the quorum's only voter and the only
// broker.
//
// Brokers talk to each other on inter.broker.listener.name, with that listener's own TLS and
// SASL settings (interbroker_security.go): follower fetchers (internal/replica), transaction
// markers to partition leaders (txn_markers.go) and KIP-890 produce verification at a remote
// transaction coordinator (txn_verify.go), the last two through one client per broker
// (interbroker.go).
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/admin"
	"github.com/gregorhq/gregor/internal/api"
	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/console"
	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/group"
	"github.com/gregorhq/gregor/internal/lag"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/metrics"
	"github.com/gregorhq/gregor/internal/replica"
	"github.com/gregorhq/gregor/internal/server"
	"github.com/gregorhq/gregor/internal/share"
	"github.com/gregorhq/gregor/internal/storage"
	"github.com/gregorhq/gregor/internal/txn"
	"github.com/gregorhq/gregor/internal/wire"
)

// Node is a running Gregor process.
type Node struct {
	cfg        config.Broker
	log        *slog.Logger
	controller *controller.Controller
	replicas   *replica.Manager
	groups     *group.Coordinator
	shares     *share.Manager
	producers  *txn.ProducerIDManager
	txns       *txn.Coordinator
	// interBroker, markers and verifier reach the other brokers for the transaction
	// coordinator (markers) and for Produce (KIP-890 verification).
	interBroker *interBroker
	markers     *clusterMarkers
	verifier    *clusterVerifier
	server      *server.Server     // the first client listener's
	servers     []*server.Server   // every client listener's, in listeners order
	limits      *server.ConnLimits // max.connections and max.connections.per.ip, across listeners
	metrics     *metrics.Metrics
	lag         *lag.Evaluator
	admin       *admin.Server    // nil when admin.listeners is empty
	console     *console.Console // nil when admin.listeners is empty
	stopWatch   func()
	watchDone   chan struct{}
	closeOnce   sync.Once
	closeErr    error
}

// Start brings a node up: it opens the client listener, starts (or recovers) the controller,
// registers the broker with its advertised endpoints, opens the logs the metadata names and
// starts serving. A listener port of 0 picks a free port, which is then what is advertised.
func Start(ctx context.Context, cfg config.Broker, logger *slog.Logger) (*Node, error) {
	if logger == nil {
		logger = slog.Default()
	}
	n := &Node{cfg: cfg, log: logger}
	if err := n.start(ctx); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

func (n *Node) start(ctx context.Context) error {
	cfg := n.cfg
	if !cfg.HasRole("broker") {
		return n.startController(ctx)
	}
	clients := n.clientListeners()
	if len(clients) == 0 {
		return errors.New("node: listeners has no client (non-controller) listener")
	}
	client := clients[0]
	// A controller's Raft and controller requests share its controller listener; a broker-only
	// node follows the metadata log as a Raft non-voter on a port of its own, on the host of
	// its inter-broker listener, which it sends the controller when it registers.
	var raftBind string
	if cfg.HasRole("controller") {
		ctrl, ok := n.controllerListener()
		if !ok {
			return errors.New("node: listeners has no listener named in controller.listener.names")
		}
		raftBind = net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port))
	} else {
		host := client.Host
		if l, ok := cfg.Advertised(cfg.InterBrokerListenerName); ok && l.Host != "" {
			host = l.Host
		}
		if host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified() {
			host = "127.0.0.1"
		}
		raftBind = net.JoinHostPort(host, "0")
	}
	logDir := cfg.LogDirs[0]

	n.limits = &server.ConnLimits{Max: int(cfg.MaxConnections), PerIP: int(cfg.MaxConnectionsPerIP)}
	reg := wire.NewRegistry()
	n.metrics = metrics.New()
	reg.SetObserver(n.metrics)
	for _, l := range clients {
		srv, err := n.listen(l, reg)
		if err != nil {
			return fmt.Errorf("node: listener %s: %w", l.Name, err)
		}
		n.servers = append(n.servers, srv)
	}
	n.server = n.servers[0]
	cc, err := n.controllerConfig(raftBind)
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.controller, err = controller.Start(ctx, cc)
	if err != nil {
		return fmt.Errorf("node: controller: %w", err)
	}

	heartbeat := time.Duration(cfg.BrokerHeartbeatIntervalMs) * time.Millisecond
	if err := n.controller.StartBroker(ctx, n.brokerRegistration(), heartbeat); err != nil {
		return fmt.Errorf("node: broker: %w", err)
	}

	ibOpts, err := n.interBrokerClientOpts()
	if err != nil {
		// A broker without credentials for its own inter-broker listener still serves clients;
		// only connections to other brokers (replication, transaction markers) fail, each with
		// this error, as a Kafka broker fails only when it opens such a channel.
		n.log.Warn("no inter-broker client settings; connections to other brokers will fail", "err", err)
		ibErr := fmt.Errorf("node: %w", err)
		ibOpts = []kgo.Opt{kgo.Dialer(func(context.Context, string, string) (net.Conn, error) { return nil, ibErr })}
	}
	rc := replica.Config{
		NodeID:        cfg.NodeID,
		LogDir:        logDir,
		FS:            storage.OSFS(),
		TopicDefaults: cfg.TopicDefaults(),
		Broker:        &n.cfg,
		Logger:        n.log.With("component", "replicas"),

		RetentionCheckInterval:     time.Duration(cfg.LogRetentionCheckIntervalMs) * time.Millisecond,
		CleanerEnable:              cfg.LogCleanerEnable,
		CleanerBackoff:             time.Duration(cfg.LogCleanerBackoffMs) * time.Millisecond,
		CleanerIoMaxBytesPerSecond: cfg.LogCleanerIoMaxBytesPerSecond,

		ProducerIDExpiration:              time.Duration(cfg.ProducerIDExpirationMs) * time.Millisecond,
		ProducerIDExpirationCheckInterval: time.Duration(cfg.ProducerIDExpirationCheckIntervalMs) * time.Millisecond,

		InterBrokerListener:   cfg.InterBrokerListenerName,
		InterBrokerClientOpts: ibOpts,
		AlterPartition:        n.controller.AlterPartition,
	}
	rc.SetReplicationConfigs(&n.cfg)
	n.replicas, err = replica.NewManager(rc)
	if err != nil {
		return fmt.Errorf("node: replica manager: %w", err)
	}
	if err := n.replicas.Apply(n.controller.Image()); err != nil {
		return fmt.Errorf("node: opening logs: %w", err)
	}
	n.lag = lag.New(lag.Config{
		WindowSize: int(cfg.LagWindowSize),
		Offsets:    partitionOffsets{n.replicas, n.controller},
	})
	n.groups = group.New(group.Config{
		NodeID:         cfg.NodeID,
		Broker:         cfg,
		Controller:     n.controller,
		Replicas:       n.replicas,
		Logger:         n.log.With("component", "groups"),
		OnOffsetCommit: n.lag.Observe,
		OnGroupDeleted: func(group string) {
			n.lag.Forget(group)
			// A deleted share group's share-partition state goes with it, as in Kafka.
			if n.shares != nil {
				if err := n.shares.DeleteGroup(group); err != nil {
					n.log.Warn("deleting share group state failed", "group", group, "err", err)
				}
			}
		},
		OnShareMemberRemoved: func(group, member string) {
			// n.shares is set below, before the node serves: members exist only after.
			if n.shares != nil {
				n.shares.MemberRemoved(group, member)
			}
		},
	})
	n.metrics.Registry.MustRegister(metrics.NewCollector(metrics.Sources{
		NodeID:            cfg.NodeID,
		Replicas:          n.replicas,
		Image:             n.controller.Image,
		MinInsyncReplicas: cfg.MinInsyncReplicas,
		Groups:            n.groups,
		Lag:               n.lag,
	}))
	n.groups.Apply(n.controller.Image())
	n.shares = share.New(share.Config{
		NodeID:     cfg.NodeID,
		Broker:     cfg,
		Controller: n.controller,
		Replicas:   n.replicas,
		Members:    n.groups,
		// __share_group_state led by another broker is written and read there; the pool
		// is made below, before the node serves anything.
		Request: func(ctx context.Context, id int32, req kmsg.Request) (kmsg.Response, error) {
			return n.interBroker.request(ctx, id, req)
		},
		// A share group's lag is its start offset's, evaluated as a consumer group's
		// committed offset is.
		OnStartOffset: n.lag.Observe,
		Logger:        n.log.With("component", "shares"),
	})
	n.producers = txn.NewProducerIDManager(cfg.NodeID, n.controller.AllocateProducerIds)
	n.interBroker = newInterBroker(cfg.NodeID, cfg.InterBrokerListenerName, ibOpts, n.controller.Image)
	n.markers = newClusterMarkers(cfg.NodeID, n.replicas, n.controller, n.interBroker)
	n.txns = txn.New(txn.Config{
		NodeID:         cfg.NodeID,
		Broker:         cfg,
		Controller:     n.controller,
		Replicas:       n.replicas,
		NextProducerID: n.producers.NextID,
		Markers:        n.markers,
		Logger:         n.log.With("component", "txns"),
	})
	n.txns.Apply(n.controller.Image())
	n.verifier = newClusterVerifier(cfg.NodeID, n.txns, n.controller, n.interBroker)
	n.watchMetadata()

	quotas := &api.Quotas{
		Image:        n.controller.Image,
		Samples:      int(cfg.QuotaWindowNum),
		SampleWindow: time.Duration(cfg.QuotaWindowSizeSeconds) * time.Second,
	}
	// New connections are charged to their IP's connection_creation_rate; set before Serve.
	n.limits.Rate = quotas
	(&api.Handlers{
		NodeID:      cfg.NodeID,
		Config:      cfg,
		Listener:    client.Name,
		Controller:  n.controller,
		Replicas:    n.replicas,
		Groups:      n.groups,
		Shares:      n.shares,
		ProducerIDs: n.producers,
		Txns:        n.txns,
		TxnVerifier: n.verifier,
		Logger:      n.log,
		Metrics:     n.metrics,
		Authorizer:  auth.AuthorizerFromProps(cfg.Raw, n.acls),
		Quotas:      quotas,
	}).Register(reg)
	if err := n.startAdmin(); err != nil {
		return fmt.Errorf("node: admin listener: %w", err)
	}
	for _, srv := range n.servers {
		srv.Serve()
	}
	args := []any{"node.id", cfg.NodeID, "addr", n.server.Addr().String(), "log.dir", logDir}
	if n.admin != nil {
		args = append(args, "admin.addr", n.admin.Addr().String(), "console", n.consoleURL())
	}
	n.log.Info("gregor started", args...)
	return nil
}

// listen opens the client listener l with its security protocol: TLS from its ssl.* configs,
// SASL from its sasl.* configs and the SCRAM credentials of the current metadata image.
func (n *Node) listen(l config.Listener, reg *wire.Registry) (*server.Server, error) {
	proto := n.cfg.ListenerSecurityProtocolMap[l.Name]
	props := auth.Props{Raw: n.cfg.Raw, Listener: l.Name}
	sc := server.Config{
		Addr:           net.JoinHostPort(l.Host, strconv.Itoa(l.Port)),
		Listener:       l.Name,
		Protocol:       proto,
		MaxRequestSize: n.cfg.SocketRequestMaxBytes,
		Registry:       reg,
		Limits:         n.limits,
		Logger:         n.log,
	}
	if proto == auth.ProtocolSSL || proto == auth.ProtocolSASLSSL {
		t, err := auth.LoadTLS(props)
		if err != nil {
			return nil, err
		}
		sc.TLS, sc.PrincipalMapper = t.ServerConfig(), t.Mapper
	}
	if proto == auth.ProtocolSASLPlaintext || proto == auth.ProtocolSASLSSL {
		sasl, err := auth.LoadSASL(props, n.scramCredential)
		if err != nil {
			return nil, err
		}
		sc.SASL = sasl
	}
	return server.Listen(sc)
}

// acls returns the ACLs of the current metadata image, for the authorizer.
func (n *Node) acls() *metadata.ACLSet { return n.controller.Image().ACLs }

// scramCredential looks a SCRAM credential up in the current metadata image.
func (n *Node) scramCredential(user string, m metadata.ScramMechanism) (metadata.ScramCredential, bool) {
	if n.controller == nil {
		return metadata.ScramCredential{}, false
	}
	c, ok := n.controller.Image().ScramCredentials[metadata.ScramKey{User: user, Mechanism: m}]
	return c, ok
}

// controllerConfig is the controller's configuration, listening on bind with the controller
// listener's security (controller_security.go).
func (n *Node) controllerConfig(bind string) (controller.Config, error) {
	cfg := n.cfg
	metaDir := cfg.MetadataLogDir
	if metaDir == "" {
		metaDir = cfg.LogDirs[0]
	}
	cc := controller.Config{
		NodeID:                   cfg.NodeID,
		Dir:                      filepath.Join(metaDir, replica.MetadataTopic+"-0"),
		BindAddr:                 bind,
		DefaultPartitions:        cfg.NumPartitions,
		DefaultReplicationFactor: cfg.DefaultReplicationFactor,
		ValidateTopicConfig:      config.ValidateTopicConfig,
		Logger:                   n.log,
		Voters:                   voters(cfg),
		NonVoter:                 !cfg.HasRole("controller"),
		BootstrapServers:         cfg.ControllerQuorumBootstrapServers,
		SessionTimeout:           time.Duration(cfg.BrokerSessionTimeoutMs) * time.Millisecond,
		UncleanLeaderElection:    cfg.UncleanLeaderElectionEnable,
		AutoLeaderRebalance:      cfg.AutoLeaderRebalanceEnable,
		ImbalanceCheckInterval:   time.Duration(cfg.LeaderImbalanceCheckIntervalSecs) * time.Second,
		ImbalancePercentage:      cfg.LeaderImbalancePerBrokerPercentage,
	}
	err := n.controllerSecurity(&cc)
	return cc, err
}

// startController starts a controller-only node (process.roles=controller): a quorum voter
// that serves Raft and the controller requests on its controller listener, and no clients.
func (n *Node) startController(ctx context.Context) error {
	ctrl, ok := n.controllerListener()
	if !ok {
		return errors.New("node: listeners has no listener named in controller.listener.names")
	}
	cc, err := n.controllerConfig(net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port)))
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.controller, err = controller.Start(ctx, cc)
	if err != nil {
		return fmt.Errorf("node: controller: %w", err)
	}
	n.log.Info("gregor started", "node.id", n.cfg.NodeID, "roles", "controller", "addr", n.controller.Addr().String())
	return nil
}

// watchMetadata applies every new metadata image to the replica manager, then to the group
// and transaction coordinators (which need the logs the replica manager opens).
func (n *Node) watchMetadata() {
	changed, unsubscribe := n.controller.Subscribe()
	quit := make(chan struct{})
	n.watchDone = make(chan struct{})
	n.stopWatch = func() {
		unsubscribe()
		close(quit)
	}
	go func() {
		defer close(n.watchDone)
		for {
			select {
			case <-changed:
				img := n.controller.Image()
				if err := n.replicas.Apply(img); err != nil {
					n.log.Error("applying metadata failed", "err", err)
				}
				n.groups.Apply(img)
				n.txns.Apply(img)
			case <-quit:
				return
			}
		}
	}()
}

// brokerRegistration is this broker's registration: its advertised endpoints, with a port of
// 0 replaced by the port its listener actually bound.
func (n *Node) brokerRegistration() metadata.Broker {
	bound := n.server.Addr().(*net.TCPAddr)
	clientName := n.cfg.Listeners[0].Name
	if ls := n.clientListeners(); len(ls) > 0 {
		clientName = ls[0].Name
	}
	b := metadata.Broker{ID: n.cfg.NodeID, Rack: n.cfg.BrokerRack}
	for _, l := range n.cfg.AdvertisedListeners {
		e := metadata.Endpoint{Name: l.Name, Host: l.Host, Port: int32(l.Port)}
		if a, ok := n.ListenerAddr(l.Name).(*net.TCPAddr); ok && e.Port == 0 {
			e.Port = int32(a.Port)
		}
		if e.Host == "" {
			e.Host = "localhost"
		}
		b.Endpoints = append(b.Endpoints, e)
	}
	if len(b.Endpoints) == 0 {
		b.Endpoints = []metadata.Endpoint{{Name: clientName, Host: "localhost", Port: int32(bound.Port)}}
	}
	return b
}

func (n *Node) clientListeners() []config.Listener {
	var ls []config.Listener
	for _, l := range n.cfg.Listeners {
		if !n.isControllerListener(l.Name) {
			ls = append(ls, l)
		}
	}
	return ls
}

func (n *Node) controllerListener() (config.Listener, bool) {
	for _, l := range n.cfg.Listeners {
		if n.isControllerListener(l.Name) {
			return l, true
		}
	}
	return config.Listener{}, false
}

func (n *Node) isControllerListener(name string) bool {
	for _, c := range n.cfg.ControllerListenerNames {
		if c == name {
			return true
		}
	}
	return false
}

// voters is controller.quorum.voters as the controller takes it.
func voters(cfg config.Broker) []controller.Voter {
	var vs []controller.Voter
	for _, v := range cfg.QuorumVoters() {
		vs = append(vs, controller.Voter{ID: v.ID, Addr: net.JoinHostPort(v.Host, strconv.Itoa(v.Port))})
	}
	return vs
}

// Controller is the node's controller (a quorum voter, or a broker-only node's view of the
// quorum).
func (n *Node) Controller() *controller.Controller { return n.controller }

// Replicas is the node's replica manager (nil on a controller-only node).
func (n *Node) Replicas() *replica.Manager { return n.replicas }

// Addr is the client listener's address; on a controller-only node (no client listener), the
// controller listener's.
func (n *Node) Addr() net.Addr {
	if n.server == nil {
		return n.controller.Addr()
	}
	return n.server.Addr()
}

// ListenerAddr is the bound address of the client listener named name (in any case), nil if
// there is none.
func (n *Node) ListenerAddr(name string) net.Addr {
	for _, s := range n.servers {
		if strings.EqualFold(s.Listener(), name) {
			return s.Addr()
		}
	}
	return nil
}

// Replaced is closed when this node's broker learns that a newer incarnation of it (a process
// started with the same node.id while this one was paused or cut off) registered: this
// process no longer acts for the broker (its heartbeats stopped; its AlterPartitions are
// refused) and should be closed and exit. Never closed on a controller-only node.
func (n *Node) Replaced() <-chan struct{} {
	if n.controller == nil || !n.cfg.HasRole("broker") {
		return nil
	}
	return n.controller.Replaced()
}

// Close shuts the node down in order: a controlled shutdown (leadership of this broker's
// partitions moves to other brokers first, as Kafka does on SIGTERM), stop serving (requests in flight finish and are
// answered), stop following metadata, stop the group and transaction coordinators (their timers,
// loaders and marker writers), flush
// and close the logs, stop the controller.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		var errs []error
		if n.controller != nil {
			// Bounded by the session timeout: a controller that cannot be reached for that long
			// fences this broker anyway.
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(n.cfg.BrokerSessionTimeoutMs)*time.Millisecond)
			if err := n.controller.ShutdownBroker(ctx); err != nil {
				n.log.Warn("controlled shutdown failed", "err", err)
			}
			cancel()
		}
		for _, s := range n.servers {
			errs = append(errs, s.Close())
		}
		if n.admin != nil {
			errs = append(errs, n.admin.Close())
		}
		if n.console != nil {
			n.console.Close()
		}
		if n.stopWatch != nil {
			n.stopWatch()
			<-n.watchDone
		}
		if n.groups != nil {
			n.groups.Close()
		}
		if n.shares != nil {
			n.shares.Close()
		}
		// Marker and verification senders first: a transaction's completion, which
		// txns.Close waits for, may be waiting on a marker to another broker.
		if n.markers != nil {
			n.markers.close()
		}
		if n.verifier != nil {
			n.verifier.close()
		}
		if n.txns != nil {
			n.txns.Close() // before the producer ids: an InitProducerId may be waiting on one
		}
		if n.producers != nil {
			n.producers.Close() // before the controller: a block may be on its way
		}
		if n.interBroker != nil {
			n.interBroker.close()
		}
		if n.replicas != nil {
			errs = append(errs, n.replicas.Close())
		}
		if n.controller != nil {
			errs = append(errs, n.controller.Close())
		}
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}
