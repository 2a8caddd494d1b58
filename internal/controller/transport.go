package controller

// The controller listener carries two protocols on one port: Raft (hashicorp/raft's
// NetworkTransport) and Kafka-protocol controller requests (BrokerRegistration,
// BrokerHeartbeat, AlterPartition, and the admin requests other nodes forward). One port
// rather than two because the Raft configuration then names, for every voter, the address a
// broker must send its controller requests to: the quorum leader's Raft address is the active
// controller's address, with no second table to keep in step.
//
// The two are told apart by the first byte a connection sends. A Raft connection (dialled by
// streamLayer.Dial) starts with raftMagic, 0xFF; a Kafka frame starts with the top byte of its
// big-endian int32 size, and a size whose top byte is 0xFF is negative, so no valid Kafka
// frame can start with it.
//
// With TLS (Config.ListenerTLS, when listener.security.protocol.map maps the controller
// listener to SSL) every connection is TLS from its first byte: the listener completes the
// handshake before it reads the magic byte, so Raft and controller requests are both
// encrypted, and a plaintext connection is dropped when its handshake fails. The dialling
// side (Raft's Dial, rpcClient) wraps its connections with Config.DialTLS likewise.
//
// With SASL (Config.ListenerSASL and DialSASL, for SASL_PLAINTEXT and SASL_SSL) every
// connection, Raft or Kafka, then runs an authentication preamble before anything else: Kafka's
// SaslHandshake and SaslAuthenticate, in Kafka frames, after the magic byte on a Raft
// connection. transport_sasl.go draws it.

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/wire"
)

// raftMagic is the first byte of a Raft connection on the controller listener.
const raftMagic = 0xFF

// maxRPCSize bounds a controller request or response frame.
const maxRPCSize = 100 << 20

// muxListener accepts connections on the controller listener and sorts them: Raft connections
// go to Accept (for the Raft transport), Kafka ones to serveKafka.
type muxListener struct {
	ln         net.Listener
	advertise  net.Addr
	log        *slog.Logger
	serveKafka func(net.Conn, *bufio.Reader)
	tls        *tls.Config        // nil: plaintext
	dialTLS    func() *tls.Config // nil: plaintext
	// authRaft runs the server side of the authentication preamble on a Raft connection
	// (after its magic byte); nil without SASL. Set before start.
	authRaft func(net.Conn, *bufio.Reader) bool
	// dialAuth runs the client side of the preamble on a dialled Raft connection (after its
	// magic byte); nil without SASL. Set before start.
	dialAuth func(nc net.Conn, br *bufio.Reader, addr string, deadline time.Time) error

	raftConns chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{} // Kafka connections being served; guarded by mu
}

var _ raft.StreamLayer = (*muxListener)(nil)

// handshakeTimeout bounds a new connection's TLS handshake and its first byte.
const handshakeTimeout = 10 * time.Second

func newMuxListener(bind string, advertise net.Addr, serverTLS *tls.Config, dialTLS func() *tls.Config, log *slog.Logger) (*muxListener, error) {
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, err
	}
	if advertise == nil {
		advertise = ln.Addr()
	}
	return &muxListener{
		ln: ln, advertise: advertise, log: log, tls: serverTLS, dialTLS: dialTLS,
		raftConns: make(chan net.Conn),
		done:      make(chan struct{}),
		conns:     map[net.Conn]struct{}{},
	}, nil
}

// start begins accepting; serve handles each Kafka-protocol connection, and authRaft (when
// not nil) authenticates each Raft connection before Raft gets it.
func (m *muxListener) start(serve func(net.Conn, *bufio.Reader), authRaft func(net.Conn, *bufio.Reader) bool) {
	m.serveKafka, m.authRaft = serve, authRaft
	m.wg.Add(1)
	go m.acceptLoop()
}

func (m *muxListener) acceptLoop() {
	defer m.wg.Done()
	for {
		nc, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		m.wg.Add(1)
		go m.sort(nc)
	}
}

// sort reads the first byte of a new connection and hands it to Raft or to the Kafka server.
func (m *muxListener) sort(nc net.Conn) {
	defer m.wg.Done()
	_ = nc.SetDeadline(time.Now().Add(handshakeTimeout))
	if m.tls != nil {
		tc := tls.Server(nc, m.tls)
		if err := tc.Handshake(); err != nil {
			m.log.Debug("controller listener: TLS handshake failed", "remote", nc.RemoteAddr(), "err", err)
			nc.Close()
			return
		}
		nc = tc
	}
	br := bufio.NewReader(nc)
	first, err := br.Peek(1)
	_ = nc.SetDeadline(time.Time{})
	if err != nil {
		nc.Close()
		return
	}
	if first[0] == raftMagic {
		_, _ = br.Discard(1)
		if m.authRaft != nil && !m.authRaft(nc, br) {
			nc.Close()
			return
		}
		select {
		case m.raftConns <- &bufferedConn{Conn: nc, r: br}:
		case <-m.done:
			nc.Close()
		}
		return
	}
	m.mu.Lock()
	select {
	case <-m.done:
		m.mu.Unlock()
		nc.Close()
		return
	default:
	}
	m.conns[nc] = struct{}{}
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.conns, nc)
		m.mu.Unlock()
		nc.Close()
	}()
	m.serveKafka(nc, br)
}

// Accept returns the next Raft connection.
func (m *muxListener) Accept() (net.Conn, error) {
	select {
	case c := <-m.raftConns:
		return c, nil
	case <-m.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting and closes the Kafka-protocol connections.
func (m *muxListener) Close() error {
	var err error
	m.closeOnce.Do(func() {
		close(m.done)
		err = m.ln.Close()
		m.mu.Lock()
		for c := range m.conns {
			c.Close()
		}
		m.mu.Unlock()
		m.wg.Wait()
	})
	return err
}

// Addr is the advertised address (what the Raft configuration records).
func (m *muxListener) Addr() net.Addr { return m.advertise }

// Dial opens a Raft connection to another node's controller listener.
func (m *muxListener) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", string(address), timeout)
	if err != nil {
		return nil, err
	}
	if c, err = clientTLS(c, string(address), m.dialTLS, time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	if _, err := c.Write([]byte{raftMagic}); err != nil {
		c.Close()
		return nil, err
	}
	if m.dialAuth == nil {
		return c, nil
	}
	br := bufio.NewReader(c)
	if err := m.dialAuth(c, br, string(address), time.Now().Add(timeout)); err != nil {
		c.Close()
		return nil, err
	}
	// The server sends nothing until Raft's first request, so br holds nothing more; it
	// stays in front of the connection all the same.
	return &bufferedConn{Conn: c, r: br}, nil
}

// clientTLS wraps a connection dialled to addr in TLS with the config dialTLS returns, and
// completes the handshake by deadline; with a nil dialTLS it returns nc as it is. The server's
// certificate is verified against addr's host when the config names no server. On error nc
// is closed.
func clientTLS(nc net.Conn, addr string, dialTLS func() *tls.Config, deadline time.Time) (net.Conn, error) {
	if dialTLS == nil {
		return nc, nil
	}
	cfg := dialTLS().Clone()
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		cfg.ServerName = host
	}
	tc := tls.Client(nc, cfg)
	_ = nc.SetDeadline(deadline)
	if err := tc.Handshake(); err != nil {
		nc.Close()
		return nil, fmt.Errorf("controller listener %s: TLS handshake: %w", addr, err)
	}
	_ = nc.SetDeadline(time.Time{})
	return tc, nil
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// serveRPC answers Kafka-protocol controller requests on one connection, one at a time, in
// order. A broken frame closes the connection; everything else is answered.
func (c *Controller) serveRPC(nc net.Conn, br *bufio.Reader) {
	connCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-c.done:
			cancel()
		case <-connCtx.Done():
		}
	}()
	ctx := connCtx
	var sess *auth.Session
	if c.cfg.ListenerSASL != nil {
		if sess = c.authenticatePeer(ctx, nc, br); sess == nil {
			return
		}
		ctx = auth.WithSession(ctx, sess)
	}
	var out []byte
	for {
		frame, err := wire.ReadFrame(br, maxRPCSize)
		if err != nil {
			return
		}
		h, body, err := wire.ParseHeader(frame)
		if err != nil {
			return
		}
		reply, err := c.rpc.Dispatch(ctx, h, body, nc.RemoteAddr())
		if err != nil || reply.Msg == nil {
			if err != nil {
				c.log.Debug("closing controller connection", "remote", nc.RemoteAddr(), "err", err)
			}
			return
		}
		out = wire.AppendResponse(out[:0], h, reply.Msg)
		if _, err := nc.Write(out); err != nil {
			return
		}
		if sess != nil && sess.CloseAfterReply() {
			return // a second SaslHandshake: there is no re-authentication here
		}
	}
}

// rpcClient sends Kafka-protocol controller requests to other nodes' controller listeners,
// one connection per address, one request at a time on each.
type rpcClient struct {
	clientID  string
	formatter *kmsg.RequestFormatter
	dialTLS   func() *tls.Config // nil: plaintext
	mech      sasl.Mechanism     // nil: no SASL

	mu     sync.Mutex
	conns  map[string]*rpcConn // guarded by mu
	corrID int32               // guarded by mu
}

type rpcConn struct {
	mu sync.Mutex // held for one request/response exchange
	nc net.Conn   // guarded by mu; nil once broken
	br *bufio.Reader
}

func newRPCClient(clientID string, dialTLS func() *tls.Config, mech sasl.Mechanism) *rpcClient {
	return &rpcClient{
		clientID:  clientID,
		dialTLS:   dialTLS,
		mech:      mech,
		formatter: kmsg.NewRequestFormatter(kmsg.FormatterClientID(clientID)),
		conns:     map[string]*rpcConn{},
	}
}

// call sends req (at its own version) to addr and returns the response.
func (cl *rpcClient) call(ctx context.Context, addr string, req kmsg.Request) (kmsg.Response, error) {
	cl.mu.Lock()
	rc, ok := cl.conns[addr]
	if !ok {
		rc = &rpcConn{}
		cl.conns[addr] = rc
	}
	cl.corrID++
	corr := cl.corrID
	cl.mu.Unlock()

	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.nc == nil {
		d := net.Dialer{Timeout: 3 * time.Second}
		nc, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		if nc, err = clientTLS(nc, addr, cl.dialTLS, time.Now().Add(d.Timeout)); err != nil {
			return nil, err
		}
		br := bufio.NewReader(nc)
		if cl.mech != nil {
			// ctx ending interrupts the preamble; exchangeLocked sets its own deadline after.
			stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Now()) })
			err := cl.authenticate(nc, br, addr, time.Now().Add(handshakeTimeout))
			stop()
			if err != nil {
				nc.Close()
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, err
			}
		}
		rc.nc, rc.br = nc, br
	}
	resp, err := rc.exchangeLocked(ctx, cl.formatter, req, corr)
	if err != nil {
		rc.nc.Close()
		rc.nc = nil
	}
	return resp, err
}

func (rc *rpcConn) exchangeLocked(ctx context.Context, f *kmsg.RequestFormatter, req kmsg.Request, corr int32) (kmsg.Response, error) {
	deadline := time.Now().Add(30 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	// The callback runs on its own goroutine and may still run after stop returns, when the
	// caller has already dropped rc.nc: it must use this connection, not the field.
	nc := rc.nc
	_ = nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Now()) })
	defer stop()
	resp, err := roundTrip(nc, rc.br, f, req, corr)
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return resp, err
}

// roundTrip writes req to nc with correlation id corr and reads its response from br, within
// whatever deadline nc has.
func roundTrip(nc net.Conn, br *bufio.Reader, f *kmsg.RequestFormatter, req kmsg.Request, corr int32) (kmsg.Response, error) {
	if _, err := nc.Write(f.AppendRequest(nil, req, corr)); err != nil {
		return nil, err
	}
	frame, err := wire.ReadFrame(br, maxRPCSize)
	if err != nil {
		return nil, err
	}
	r := kbin.Reader{Src: frame}
	if got := r.Int32(); got != corr {
		return nil, fmt.Errorf("controller rpc: correlation id %d, want %d", got, corr)
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if resp.IsFlexible() && req.Key() != kmsg.ApiVersions.Int16() {
		for n := r.Uvarint(); n > 0; n-- {
			r.Uvarint()
			r.Span(int(r.Uvarint()))
		}
	}
	if !r.Ok() {
		return nil, errors.New("controller rpc: truncated response header")
	}
	if err := resp.ReadFrom(r.Src); err != nil {
		return nil, fmt.Errorf("controller rpc: decoding %T: %w", resp, err)
	}
	return resp, nil
}

// close closes every connection.
func (cl *rpcClient) close() {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	for _, rc := range cl.conns {
		rc.mu.Lock()
		if rc.nc != nil {
			rc.nc.Close()
			rc.nc = nil
		}
		rc.mu.Unlock()
	}
}
