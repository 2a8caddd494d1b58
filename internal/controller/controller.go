// Package controller runs the controller quorum (Raft, through hashicorp/raft) and makes the
// controller's decisions: topic creation and deletion, partition placement (rack-aware),
// configs, producer id blocks, broker registration and fencing, leader election and ISR
// changes (AlterPartition, ElectLeaders, controlled shutdown, auto leader rebalance) and
// partition reassignment (reassign.go).
//
// Every decision follows one pattern (Kafka's ControllerResult): a handler reads the current
// metadata.Image, computes records plus a reply, commits the records through Raft, and answers
// once the FSM has applied them. State changes only by applying committed records, on the
// leader and on every follower alike; nothing here keeps metadata of its own. (The one
// exception is broker liveness, which Kafka too keeps in the active controller's memory.)
//
// Roles: the nodes in Config.Voters are Raft voters, bootstrapped with that same voter set;
// other nodes are broker-only and follow the log as Raft non-voters, added by the active
// controller when they register. Every public method that commits records works on any node:
// where this node is not the active controller it forwards the request (forward.go) over the
// controller listener, which carries both Raft and the Kafka-protocol controller APIs
// (transport.go, rpc.go).
//
// Decisions are serialized by one lock (decideCh), held from reading the image until the
// records are applied, so that every decision sees the effects of the previous one: two creates
// of one topic cannot both succeed.
//
// Lock order: decideCh, then brokersMu, then subMu; hbMu is taken alone. The FSM goroutine
// takes only subMu, briefly, and never waits on anything else, so nothing can block it.
//
// On disk, under Config.Dir:
//
//	raft.db      bbolt: the Raft log and Raft's stable store (term, vote)
//	snapshots/   Raft snapshots: the whole Image, as records (metadata.Image.WriteSnapshot)
package controller

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/sasl"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/wire"
)

// Config configures a controller.
type Config struct {
	NodeID int32
	// Dir is the metadata directory, e.g. <log.dir>/__cluster_metadata-0.
	Dir string
	// BindAddr is the controller listener, e.g. "127.0.0.1:9093" or ":9093". Port 0 picks a free
	// port (then the host must be given, or AdvertisedAddr must be).
	BindAddr string
	// AdvertisedAddr is the address other voters dial. Default: the bound address, with
	// 127.0.0.1 when BindAddr has no host (or an unspecified one).
	AdvertisedAddr string
	// DefaultPartitions is num.partitions (used when a create asks for -1). Default 1.
	DefaultPartitions int32
	// DefaultReplicationFactor is default.replication.factor. Default 1.
	DefaultReplicationFactor int16
	// ValidateTopicConfig checks one topic config; a non-nil error fails that topic's create
	// with INVALID_CONFIG and the error's text. May be nil.
	ValidateTopicConfig func(name string, value *string) error
	// ValidateBrokerConfig checks one dynamic broker config (a nil value: a delete); an error
	// wrapping config.ErrNotDynamic fails the change with INVALID_REQUEST, any other with
	// INVALID_CONFIG. Default: config.ValidateDynamicBrokerConfig. AlterConfigs on topics uses
	// ValidateTopicConfig, or config.ValidateTopicConfig when that is nil.
	ValidateBrokerConfig func(name string, value *string) error
	// Logger receives the controller's and Raft's logs. Default: discard.
	Logger *slog.Logger
	// ListenerTLS, when set, makes the controller listener (a broker-only node's Raft
	// listener too) accept TLS connections only; DialTLS, when set, returns the config for
	// connections to the other nodes' controller listeners (Raft and controller requests).
	// Set both or neither: every node of a cluster dials and serves the same protocol.
	ListenerTLS *tls.Config
	DialTLS     func() *tls.Config
	// ListenerSASL, when set, makes every connection to the controller listener run the
	// authentication preamble (transport_sasl.go) before Raft or controller requests; DialSASL
	// is the mechanism, with this node's credentials, every connection this node dials to
	// another controller listener authenticates with. Set both or neither. ListenerName names
	// the listener in the sessions (and logs).
	ListenerSASL *auth.SASL
	DialSASL     sasl.Mechanism
	ListenerName string
	// PeerAuthorization, when set (an authorizer is configured), limits the controller
	// listener to the principals allowed CLUSTER_ACTION on the cluster: super users, those an
	// ACL allows, and PeerPrincipal, the principal this node authenticates as. Others are
	// refused after they authenticate. It applies only with ListenerSASL: without SASL the
	// listener learns no principal worth checking.
	PeerAuthorization *auth.AuthorizerConfig
	PeerPrincipal     string

	// Voters is the controller quorum (controller.quorum.voters). Empty: this node alone, as a
	// voter. A node that is not in Voters (and Voters is not empty) is a broker-only node: it
	// follows the metadata log as a Raft non-voter once the active controller adds it, which it
	// does when the broker registers.
	Voters []Voter
	// NonVoter makes this node a broker-only node whatever Voters says (a broker that finds the
	// quorum through BootstrapServers alone has no voter list).
	NonVoter bool
	// BootstrapServers are controller listener addresses to try when looking for the active
	// controller before Raft knows it (controller.quorum.bootstrap.servers). The voters'
	// addresses are tried too.
	BootstrapServers []string
	// SessionTimeout is broker.session.timeout.ms: a broker that sends no heartbeat for this
	// long is fenced. Default 9s.
	SessionTimeout time.Duration
	// UncleanLeaderElection is the broker default of unclean.leader.election.enable (a topic
	// override wins).
	UncleanLeaderElection bool
	// AutoLeaderRebalance is auto.leader.rebalance.enable; ImbalanceCheckInterval and
	// ImbalancePercentage are leader.imbalance.check.interval.seconds and
	// leader.imbalance.per.broker.percentage. Defaults: 300s, 10 (when AutoLeaderRebalance).
	AutoLeaderRebalance    bool
	ImbalanceCheckInterval time.Duration
	ImbalancePercentage    int32
	// Now is the clock of the fencing timers. Default time.Now.
	Now func() time.Time

	// raftConfig, when set (by tests), adjusts the Raft configuration.
	raftConfig func(*raft.Config)
}

func (cfg *Config) validate() error {
	switch {
	case cfg.NodeID < 0:
		return fmt.Errorf("controller: invalid node id %d", cfg.NodeID)
	case cfg.Dir == "":
		return errors.New("controller: no metadata directory")
	case cfg.BindAddr == "":
		return errors.New("controller: no listener address")
	case (cfg.ListenerTLS == nil) != (cfg.DialTLS == nil):
		return errors.New("controller: ListenerTLS and DialTLS must be set together")
	case (cfg.ListenerSASL == nil) != (cfg.DialSASL == nil):
		return errors.New("controller: ListenerSASL and DialSASL must be set together")
	}
	if cfg.DefaultPartitions <= 0 {
		cfg.DefaultPartitions = 1
	}
	if cfg.DefaultReplicationFactor <= 0 {
		cfg.DefaultReplicationFactor = 1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = 9 * time.Second
	}
	if cfg.ImbalanceCheckInterval <= 0 {
		cfg.ImbalanceCheckInterval = 300 * time.Second
	}
	if cfg.ImbalancePercentage <= 0 {
		cfg.ImbalancePercentage = 10
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return nil
}

// Voter is one member of the controller quorum: its node id and controller listener address.
type Voter struct {
	ID   int32
	Addr string
}

// isVoter reports whether this node is a voter of the quorum.
func (cfg *Config) isVoter() bool {
	if cfg.NonVoter {
		return false
	}
	if len(cfg.Voters) == 0 {
		return true
	}
	for _, v := range cfg.Voters {
		if v.ID == cfg.NodeID {
			return true
		}
	}
	return false
}

// advertiseAddr is the address the transport advertises: nil means the listener's own address.
func (cfg *Config) advertiseAddr() (net.Addr, error) {
	if cfg.AdvertisedAddr != "" {
		return net.ResolveTCPAddr("tcp", cfg.AdvertisedAddr)
	}
	host, port, err := net.SplitHostPort(cfg.BindAddr)
	if err != nil {
		return nil, fmt.Errorf("controller: listener address %q: %w", cfg.BindAddr, err)
	}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		return nil, nil
	}
	if port == "0" {
		return nil, fmt.Errorf("controller: listener address %q has neither host nor port; set an advertised address", cfg.BindAddr)
	}
	return net.ResolveTCPAddr("tcp", net.JoinHostPort("127.0.0.1", port))
}

// Controller is one member of the controller quorum.
type Controller struct {
	cfg    Config
	log    *slog.Logger
	raft   *raft.Raft
	trans  *raft.NetworkTransport
	mux    *muxListener
	rpc    *wire.Registry // the controller APIs served on the controller listener
	client *rpcClient     // forwards to the active controller
	store  *raftboltdb.BoltStore
	fsm    *fsm
	placer replicaPlacer
	voter  bool
	// peerAuthz decides who may use the controller listener; nil: everyone who authenticates.
	peerAuthz *auth.Authorizer

	// brokersMu guards the active controller's view of broker liveness. It is taken after
	// decideCh when both are needed.
	brokersMu sync.Mutex
	// lastHeartbeat is when each broker last heartbeated (or when this node became active,
	// for brokers that have not heartbeated to it yet). Guarded by brokersMu.
	lastHeartbeat map[int32]time.Time
	// shuttingDown are the brokers in controlled shutdown. Guarded by brokersMu.
	shuttingDown map[int32]bool

	// decideCh is the decision lock: a channel of capacity 1, held (by sending) from reading
	// the image for a decision until its records are applied or have failed. A channel rather
	// than a mutex so that a caller can stop waiting for it when its context ends.
	decideCh chan struct{}
	// activeTerm is the Raft term in which this node became the active controller: leader, FSM
	// caught up (Barrier), its LeaderChangeRecord applied. 0 when it is not active.
	activeTerm atomic.Uint64

	// hbMu guards the background heartbeats of this node's broker (see StartBroker).
	hbMu   sync.Mutex
	hbStop context.CancelFunc // guarded by hbMu; nil when not heartbeating
	hbDone chan struct{}      // guarded by hbMu
	// brokerEpoch is this node's broker's epoch as its last registration returned (0: not
	// registered); its heartbeats and AlterPartitions carry it.
	brokerEpoch atomic.Int64
	// replaced is closed when this node's broker learns that a newer incarnation registered
	// under its id (see heartbeatLoop); replacedOnce guards the close.
	replaced     chan struct{}
	replacedOnce sync.Once

	subMu sync.Mutex
	subs  map[chan struct{}]struct{} // guarded by subMu

	closeOnce sync.Once
	closeErr  error
	done      chan struct{} // closed by Close
	wg        sync.WaitGroup
	// restoreTimeouts: this single voter started with singleVoterTimeout; its first
	// becomeActive (which runs under the decision slot) sets Raft's default timeouts back.
	restoreTimeouts bool
}

// singleVoterTimeout is the Raft heartbeat, election and lease timeout of a quorum of one.
const singleVoterTimeout = 100 * time.Millisecond

func serverID(id int32) raft.ServerID { return raft.ServerID(strconv.Itoa(int(id))) }

// Start opens (or creates) the metadata directory, starts Raft, and returns once this node is
// the active controller, or (with more voters) once it follows a leader and knows the cluster
// id; a broker-only node returns at once (it learns the metadata once it registers). It fails
// when ctx ends first.
//
// If the directory holds no Raft state, a voter bootstraps the quorum from Config.Voters (or,
// when it is empty, a quorum whose only voter is this node); a broker-only node bootstraps
// nothing and waits for the active controller to add it when it registers.
// The first active controller of a new cluster commits a cluster record with a new random
// cluster id.
func Start(ctx context.Context, cfg Config) (_ *Controller, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	advertise, err := cfg.advertiseAddr()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("controller: %w", err)
	}
	c := &Controller{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "controller", "node", cfg.NodeID),
		placer:   newPlacer(),
		voter:    cfg.isVoter(),
		client:   newRPCClient(fmt.Sprintf("gregor-node-%d", cfg.NodeID), cfg.DialTLS, cfg.DialSASL),
		decideCh: make(chan struct{}, 1),

		lastHeartbeat: map[int32]time.Time{},
		shuttingDown:  map[int32]bool{},
		subs:          map[chan struct{}]struct{}{},
		done:          make(chan struct{}),
		replaced:      make(chan struct{}),
	}
	var closers []func() error
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				_ = closers[i]()
			}
		}
	}()
	hlog := newHCLogger(cfg.Logger)

	c.store, err = raftboltdb.New(raftboltdb.Options{Path: filepath.Join(cfg.Dir, "raft.db")})
	if err != nil {
		return nil, fmt.Errorf("controller: opening raft log: %w", err)
	}
	closers = append(closers, c.store.Close)
	logs, err := raft.NewLogCache(512, c.store)
	if err != nil {
		return nil, err
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, 2, hlog)
	if err != nil {
		return nil, fmt.Errorf("controller: opening snapshot store: %w", err)
	}
	// The FSM exists before the listener accepts: the peer authorizer reads its image's ACLs.
	c.fsm = newFSM(c.log, c.notify)
	if cfg.PeerAuthorization != nil {
		c.peerAuthz = auth.NewAuthorizer(*cfg.PeerAuthorization, func() *metadata.ACLSet { return c.Image().ACLs })
	}
	c.mux, err = newMuxListener(cfg.BindAddr, advertise, cfg.ListenerTLS, cfg.DialTLS, c.log)
	if err != nil {
		return nil, fmt.Errorf("controller: listening on %s: %w", cfg.BindAddr, err)
	}
	c.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: c.mux, MaxPool: 3, Timeout: 10 * time.Second, Logger: hlog,
	})
	closers = append(closers, c.trans.Close)
	c.rpc = c.rpcRegistry()
	var authRaft func(net.Conn, *bufio.Reader) bool
	if cfg.ListenerSASL != nil {
		authRaft = c.authenticateRaft
		c.mux.dialAuth = c.client.authenticate
	}
	c.mux.start(c.serveRPC, authRaft)

	rc := raft.DefaultConfig()
	rc.LocalID = serverID(cfg.NodeID)
	rc.Logger = hlog
	if c.voter && (len(cfg.Voters) == 0 || len(cfg.Voters) == 1 && cfg.Voters[0].ID == cfg.NodeID) {
		// A quorum of one has nobody to hear from: the follower timeout before it elects
		// itself only delays every restart of a single node (by 1-2 s with Raft's defaults).
		// Once elected it goes back to the defaults (becomeActive), since the leader
		// heartbeats its non-voters every tenth of the timeout.
		rc.HeartbeatTimeout, rc.ElectionTimeout, rc.LeaderLeaseTimeout = singleVoterTimeout, singleVoterTimeout, singleVoterTimeout
		c.restoreTimeouts = true
	}
	if cfg.raftConfig != nil {
		cfg.raftConfig(rc)
	}

	existing, err := raft.HasExistingState(logs, c.store, snaps)
	if err != nil {
		return nil, fmt.Errorf("controller: reading raft state: %w", err)
	}
	if !existing && c.voter {
		// Every voter bootstraps the same configuration, so whichever starts first, they
		// agree; a broker-only node bootstraps nothing and waits to be added.
		servers := []raft.Server{{Suffrage: raft.Voter, ID: rc.LocalID, Address: c.trans.LocalAddr()}}
		if len(cfg.Voters) > 0 {
			servers = servers[:0]
			for _, v := range cfg.Voters {
				servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: serverID(v.ID), Address: raft.ServerAddress(v.Addr)})
			}
		}
		c.log.Info("bootstrapping a new controller quorum", "voters", len(servers), "addr", c.trans.LocalAddr())
		if err := raft.BootstrapCluster(rc, logs, c.store, snaps, c.trans, raft.Configuration{Servers: servers}); err != nil {
			return nil, fmt.Errorf("controller: bootstrapping: %w", err)
		}
	}
	c.raft, err = raft.NewRaft(rc, c.fsm, logs, c.store, snaps, c.trans)
	if err != nil {
		return nil, fmt.Errorf("controller: starting raft: %w", err)
	}
	closers = []func() error{c.Close} // Close now takes everything down
	c.wg.Add(2)
	go c.leaderLoop()
	go c.livenessLoop()

	ch, cancel := c.Subscribe()
	defer cancel()
	for !c.ready() {
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("controller: waiting for the quorum: %w", context.Cause(ctx))
		}
	}
	c.log.Info("controller started", "leader", c.LeaderID(), "cluster", c.Image().ClusterID, "offset", c.Image().Offset)
	return c, nil
}

// ready reports whether Start may return. A broker-only node is ready at once: it learns the
// metadata after it registers.
func (c *Controller) ready() bool {
	if !c.voter || c.isActive() {
		return true
	}
	leader := c.LeaderID()
	return leader != -1 && leader != c.cfg.NodeID && c.Image().ClusterID != ""
}

// isActive reports whether this node is the leader and has finished becoming the active
// controller in the current term.
func (c *Controller) isActive() bool {
	t := c.activeTerm.Load()
	return t != 0 && c.raft.State() == raft.Leader && c.raft.CurrentTerm() == t
}

// Addr is the controller listener's address (as advertised to the quorum).
func (c *Controller) Addr() net.Addr { return c.mux.Addr() }

// Active reports whether this node is the active controller now.
func (c *Controller) Active() bool { return c.isActive() }

// leaderLoop follows leadership changes. On becoming leader it makes this node the active
// controller; on losing it, it stops deciding.
func (c *Controller) leaderLoop() {
	defer c.wg.Done()
	for {
		select {
		case <-c.done:
			return
		case leader := <-c.raft.LeaderCh():
			if !leader {
				c.activeTerm.Store(0)
				c.log.Info("lost controller leadership")
				c.notify()
				continue
			}
			c.becomeActive()
		}
	}
}

// becomeActive runs as a new leader: wait for the FSM to apply everything earlier leaders
// committed, then commit a LeaderChangeRecord (and the cluster id, on a new cluster) before
// making any decision.
func (c *Controller) becomeActive() {
	term := c.raft.CurrentTerm()
	select {
	case c.decideCh <- struct{}{}:
	case <-c.done:
		return
	}
	defer func() { <-c.decideCh }()
	if err := c.raft.Barrier(0).Error(); err != nil {
		c.log.Warn("barrier failed on becoming leader", "err", err)
		return
	}
	c.updateOwnAddress()
	if c.restoreTimeouts {
		c.restoreTimeouts = false
		def, cur := raft.DefaultConfig(), c.raft.ReloadableConfig()
		cur.HeartbeatTimeout, cur.ElectionTimeout = def.HeartbeatTimeout, def.ElectionTimeout
		if err := c.raft.ReloadConfig(cur); err != nil {
			c.log.Warn("restoring the Raft timeouts failed", "err", err)
		}
	}
	var recs []metadata.Record
	if c.Image().ClusterID == "" {
		id := metadata.RandomUUID().String()
		c.log.Info("new cluster", "cluster.id", id)
		recs = append(recs, metadata.ClusterRecord{ClusterID: id})
	}
	recs = append(recs, metadata.LeaderChangeRecord{LeaderID: c.cfg.NodeID})
	if err := c.commitLocked(recs); err != nil {
		c.log.Warn("could not become the active controller", "err", err)
		return
	}
	c.resetLiveness(c.Image())
	c.activeTerm.Store(term)
	c.log.Info("active controller", "term", term, "offset", c.Image().Offset)
	c.notify()
}

// updateOwnAddress records this voter's current address in the Raft configuration if it moved
// (a restart on another port), so that other voters can reach it.
func (c *Controller) updateOwnAddress() {
	f := c.raft.GetConfiguration()
	if f.Error() != nil {
		return
	}
	for _, s := range f.Configuration().Servers {
		if s.ID == serverID(c.cfg.NodeID) && s.Address != c.trans.LocalAddr() {
			if err := c.raft.AddVoter(s.ID, c.trans.LocalAddr(), 0, 0).Error(); err != nil {
				c.log.Warn("could not update own address in the raft configuration", "err", err)
			}
		}
	}
}

// commitLocked commits recs as one Raft entry and waits until the FSM has applied it.
// The caller holds decideCh.
func (c *Controller) commitLocked(recs []metadata.Record) error {
	data, err := metadata.EncodeBatch(recs)
	if err != nil {
		return err
	}
	f := c.raft.Apply(data, 0)
	if err := f.Error(); err != nil {
		switch {
		case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost),
			errors.Is(err, raft.ErrLeadershipTransferInProgress), errors.Is(err, raft.ErrRaftShutdown):
			return &codedError{kerr.NotController, err.Error()}
		}
		return err
	}
	if err, ok := f.Response().(error); ok && err != nil {
		return err
	}
	return nil
}

// decide runs fn against the current image as the active controller and commits the records it
// returns; it returns once they are applied (so Image() shows them), or with the error that
// stopped them. fn runs at most once, before decide returns, with the decision lock held.
//
// If ctx ends while the records are being committed, decide returns at once, but the lock is
// held until the commit resolves, and the records may still be applied.
func (c *Controller) decide(ctx context.Context, fn func(img *metadata.Image) []metadata.Record) error {
	select {
	case c.decideCh <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return &codedError{kerr.NotController, "controller is shut down"}
	}
	if !c.isActive() {
		<-c.decideCh
		return &codedError{kerr.NotController, ""}
	}
	recs := fn(c.Image())
	if len(recs) == 0 {
		<-c.decideCh
		return nil
	}
	done := make(chan error, 1)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		err := c.commitLocked(recs)
		<-c.decideCh
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Image returns the current metadata image. It is immutable; keep it as long as you like.
func (c *Controller) Image() *metadata.Image { return c.fsm.image.Load() }

// Subscribe returns a channel that receives a value after the image changes, and a function
// that ends the subscription.
//
// The channel has capacity 1 and is sent to without blocking: notifications coalesce, and the
// subscriber reads Image() to learn the latest state (it may skip intermediate images, and may
// wake with nothing new). So a slow subscriber never blocks the FSM. Compare Image().Offset to
// see how far the image has moved.
func (c *Controller) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	c.subMu.Lock()
	c.subs[ch] = struct{}{}
	c.subMu.Unlock()
	return ch, func() {
		c.subMu.Lock()
		delete(c.subs, ch)
		c.subMu.Unlock()
	}
}

// notify wakes every subscriber without blocking.
func (c *Controller) notify() {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	for ch := range c.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// LeaderID returns the node id of the quorum's leader as Raft knows it now, -1 if none.
func (c *Controller) LeaderID() int32 {
	_, id := c.raft.LeaderWithID()
	if id == "" {
		return -1
	}
	n, err := strconv.ParseInt(string(id), 10, 32)
	if err != nil {
		return -1
	}
	return int32(n)
}

// handOverLeadership asks Raft to move quorum leadership to another voter before this one
// stops, so that a new active controller takes over without waiting for an election timeout.
func (c *Controller) handOverLeadership() {
	if !c.voter || len(c.cfg.Voters) < 2 || c.raft.State() != raft.Leader {
		return
	}
	if err := c.raft.LeadershipTransfer().Error(); err != nil {
		c.log.Info("could not hand over controller leadership", "err", err)
	}
}

// Close shuts Raft down and closes the transport and the stores. It is safe to call more than
// once.
func (c *Controller) Close() error {
	c.closeOnce.Do(func() {
		c.StopHeartbeats()
		c.handOverLeadership()
		close(c.done)
		errs := []error{c.raft.Shutdown().Error()}
		c.wg.Wait()
		c.client.close()
		errs = append(errs, c.trans.Close(), c.mux.Close(), c.store.Close())
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}
