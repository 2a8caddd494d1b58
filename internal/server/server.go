// Package server accepts Kafka client connections and runs each one with a read goroutine and a
// write goroutine.
//
// The read goroutine reads a frame, parses its header, runs the handler and queues the reply;
// it handles one request at a time, so a connection's requests take effect in the order they
// were sent (a producer's pipelined batches to one partition stay in order) and their
// responses leave in that order too. The write goroutine writes queued replies, gathering
// small ones into one system call and sending log-file regions with sendfile.
//
// A reply whose request is done but must still wait (an acks=all Produce waiting for the
// in-sync replicas: wire.Reply.Deferred) is finished by the write goroutine in its turn, so
// the read goroutine goes on with the connection's next requests meanwhile. Kafka instead
// reads nothing more from a connection until its response is sent; a producer with 5
// requests in flight would then wait for five replication round trips one after another.
// Requests still take effect in the order sent, and responses leave in that order.
//
// Every goroutine is started through Server.goroutine so that Close can wait for all of them.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/wire"
)

// Config configures a Server.
type Config struct {
	// Addr is the address to listen on, "host:port"; port 0 picks a free one.
	Addr string
	// Listener is the listener's name (listeners), which handlers see in auth.Session.
	Listener string
	// Protocol is the listener's security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL);
	// empty is PLAINTEXT.
	Protocol string
	// TLS is the listener's TLS config, required for SSL and SASL_SSL.
	TLS *tls.Config
	// PrincipalMapper names the principal of a client certificate; nil is the DEFAULT rule.
	PrincipalMapper *auth.PrincipalMapper
	// SASL is the listener's SASL config, required for SASL_PLAINTEXT and SASL_SSL.
	SASL *auth.SASL
	// MaxRequestSize is socket.request.max.bytes: a larger frame closes the connection.
	MaxRequestSize int32
	// Registry holds the APIs served.
	Registry *wire.Registry
	// Limits bounds the connections (max.connections, max.connections.per.ip,
	// connection_creation_rate); it may be shared by several servers. nil is unbounded.
	Limits *ConnLimits
	Logger *slog.Logger
}

// Server is one listener and its connections.
type Server struct {
	cfg    Config
	ln     net.Listener
	log    *slog.Logger
	ctx    context.Context // cancelled by Close: in-flight handlers stop waiting
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	conns  map[*conn]struct{} // guarded by mu
	closed bool               // guarded by mu
}

// Listen opens the listener. Serve must be called to accept connections.
func Listen(cfg Config) (*Server, error) {
	if cfg.Protocol == "" {
		cfg.Protocol = auth.ProtocolPlaintext
	}
	switch cfg.Protocol {
	case auth.ProtocolPlaintext, auth.ProtocolSSL, auth.ProtocolSASLPlaintext, auth.ProtocolSASLSSL:
	default:
		return nil, fmt.Errorf("server: unknown security protocol %q", cfg.Protocol)
	}
	useTLS := cfg.Protocol == auth.ProtocolSSL || cfg.Protocol == auth.ProtocolSASLSSL
	useSASL := cfg.Protocol == auth.ProtocolSASLPlaintext || cfg.Protocol == auth.ProtocolSASLSSL
	if useTLS && cfg.TLS == nil {
		return nil, fmt.Errorf("server: listener %s (%s) has no TLS config", cfg.Listener, cfg.Protocol)
	}
	if useSASL && cfg.SASL == nil {
		return nil, fmt.Errorf("server: listener %s (%s) has no SASL config", cfg.Listener, cfg.Protocol)
	}
	if !useTLS {
		cfg.TLS = nil
	}
	if !useSASL {
		cfg.SASL = nil
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		cfg:    cfg,
		ln:     ln,
		log:    cfg.Logger.With("listener", ln.Addr().String()),
		ctx:    ctx,
		cancel: cancel,
		conns:  map[*conn]struct{}{},
	}, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts connections until Close; it returns at once, the accept loop runs in a tracked
// goroutine.
func (s *Server) Serve() {
	s.goroutine(func() {
		for {
			nc, err := s.ln.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					s.log.Error("accept failed", "err", err)
				}
				return
			}
			s.startConn(nc)
		}
	})
}

// goroutine starts fn in a goroutine that Close waits for.
func (s *Server) goroutine(fn func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
}

func (s *Server) startConn(nc net.Conn) {
	// At max.connections this waits, and the accept loop with it, until a connection closes.
	adm := s.cfg.Limits.acquire(s.ctx, nc.RemoteAddr())
	if !adm.ok {
		if adm.closeAfter <= 0 {
			s.log.Info("closing connection: too many connections", "remote", nc.RemoteAddr().String())
			nc.Close()
			return
		}
		// Over the IP's connection rate: held unserved, then closed.
		s.log.Debug("delaying the close of a throttled connection", "remote", nc.RemoteAddr().String(), "delay", adm.closeAfter)
		s.goroutine(func() {
			t := time.NewTimer(adm.closeAfter)
			defer t.Stop()
			select {
			case <-t.C:
			case <-s.ctx.Done():
			}
			nc.Close()
		})
		return
	}
	if s.cfg.TLS != nil {
		nc = tls.Server(nc, s.cfg.TLS)
	}
	c := newConn(s, nc)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		nc.Close()
		s.cfg.Limits.release(nc.RemoteAddr())
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	s.goroutine(c.readLoop)
	s.goroutine(c.writeLoop)
}

func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.cfg.Limits.release(c.nc.RemoteAddr())
}

// Close stops accepting, stops reading new requests, lets the requests in flight finish
// (handlers see their context cancelled, so waiting fetches answer at once), flushes their
// responses and closes every connection. It returns when all goroutines have exited.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	err := s.ln.Close()
	s.cancel()
	for _, c := range conns {
		c.stopReading()
	}
	s.wg.Wait()
	return err
}

// Listener is the listener's name.
func (s *Server) Listener() string { return s.cfg.Listener }
