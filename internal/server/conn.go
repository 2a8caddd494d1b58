package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/wire"
)

// saslMaxReceive bounds a frame before authentication completes (Kafka's
// sasl.server.max.receive.size default), so an unauthenticated client cannot make the broker
// buffer socket.request.max.bytes.
const saslMaxReceive = 512 * 1024

// tlsHandshakeTimeout bounds the TLS handshake, so a client that connects and says nothing
// does not hold a connection forever.
const tlsHandshakeTimeout = 30 * time.Second

// outQueue bounds the replies waiting for the writer; a client that does not read its
// responses stops the reader, and so stops being served, instead of growing memory.
const outQueue = 64

// conn is one client connection.
type conn struct {
	srv *Server
	nc  net.Conn
	log *slog.Logger
	// sess is the connection's security state; handlers find it in their context.
	sess *auth.Session
	// out carries replies from the read goroutine to the write goroutine, in request order.
	// Only the read goroutine sends and closes it.
	out chan outgoing
	// done is closed by the write goroutine when it stops, so the reader does not block on a
	// dead writer.
	done chan struct{}
}

// outgoing is one response frame: head holds the size, header and (for kmsg replies) the body;
// chunks follow it. A deferred reply (wire.Reply.Deferred) has neither yet: the writer makes
// its frame, for request header h, when its turn comes (finish).
type outgoing struct {
	head     []byte
	chunks   []wire.Chunk
	deferred func() kmsg.Response
	h        wire.Header
}

// finish makes a deferred reply's frame; it blocks until the reply's wait is over (a
// Produce's wait for the in-sync replicas, bounded by its timeout).
func (o *outgoing) finish() {
	if o.deferred != nil {
		o.head = wire.AppendResponse(nil, o.h, o.deferred())
		o.deferred = nil
	}
}

func newConn(s *Server, nc net.Conn) *conn {
	return &conn{
		srv:  s,
		nc:   nc,
		log:  s.log.With("remote", nc.RemoteAddr().String()),
		sess: auth.NewSession(s.cfg.Listener, s.cfg.Protocol, s.cfg.SASL),
		out:  make(chan outgoing, outQueue),
		done: make(chan struct{}),
	}
}

// stopReading interrupts a read blocked on the next frame; the request being handled, if any,
// finishes and is answered.
func (c *conn) stopReading() { c.nc.SetReadDeadline(time.Now()) }

// preAuthAPIs are what a SASL listener serves before authentication completes; anything else
// closes the connection, as in Kafka.
var preAuthAPIs = map[int16]bool{
	kmsg.ApiVersions.Int16():      true,
	kmsg.SASLHandshake.Int16():    true,
	kmsg.SASLAuthenticate.Int16(): true,
}

// tlsHandshake completes the TLS handshake of an SSL or SASL_SSL connection and records the
// principal of the client certificate, if any.
func (c *conn) tlsHandshake() error {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(c.srv.ctx, tlsHandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return err
	}
	if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 {
		p, err := c.srv.cfg.PrincipalMapper.Principal(certs[0])
		if err != nil {
			return err
		}
		c.sess.SetTLSPrincipal(p)
	}
	return nil
}

func (c *conn) readLoop() {
	defer close(c.out)
	if err := c.tlsHandshake(); err != nil {
		c.log.Info("closing connection: TLS handshake failed", "err", err)
		return
	}
	ctx := auth.WithSession(c.srv.ctx, c.sess)
	r := bufio.NewReaderSize(c.nc, 32<<10)
	for {
		authenticated := c.sess.Authenticated()
		maxSize := c.srv.cfg.MaxRequestSize
		if !authenticated {
			maxSize = min(maxSize, saslMaxReceive)
		}
		// A frame of an API that gives its bytes back is read into a pooled buffer; others
		// get a buffer of their own, since their requests may keep slices of it.
		read := wire.ReadFrame
		if key, ok := wire.PeekAPIKey(r, maxSize); ok && c.srv.cfg.Registry.BodyReleased(key) {
			read = wire.ReadPooledFrame
		}
		frame, err := read(r, maxSize)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.ErrUnexpectedEOF) && !isTimeout(err) {
				c.log.Info("closing connection", "err", err)
			}
			return
		}
		if !authenticated && c.sess.RawTokens() {
			// After a v0 SaslHandshake the frame is a bare SASL token, answered by a bare token.
			token, err := c.sess.Authenticate(ctx, frame)
			if err != nil {
				c.log.Info("closing connection: authentication failed", "listener", c.sess.Listener)
				return
			}
			head := make([]byte, 4, 4+len(token))
			putSize(head, len(token))
			if !c.send(outgoing{head: append(head, token...)}) {
				return
			}
			continue
		}
		h, body, err := wire.ParseHeader(frame)
		if err != nil {
			c.log.Info("closing connection", "err", err)
			return
		}
		if c.sess.Expired() {
			// KIP-368: the session outlived connections.max.reauth.ms (or its credential)
			// without re-authenticating; Kafka closes such a connection on its next request.
			c.log.Info("closing connection: authentication session expired", "listener", c.sess.Listener, "api", h.APIKey)
			return
		}
		if !authenticated && !preAuthAPIs[h.APIKey] {
			c.log.Info("closing connection: request before authentication", "api", h.APIKey)
			return
		}
		reply, err := c.srv.cfg.Registry.Dispatch(ctx, h, body, c.nc.RemoteAddr())
		if err != nil {
			c.log.Info("closing connection", "api", h.APIKey, "version", h.APIVersion, "err", err)
			return
		}
		var o outgoing
		switch {
		case reply.Msg != nil:
			o.head = wire.AppendResponse(nil, h, reply.Msg)
		case reply.Deferred != nil && reply.Throttle > 0:
			// A throttled client is muted from when its response is made (KIP-219: Kafka
			// mutes the connection once the response is sent), so its wait is not deferred.
			o.head = wire.AppendResponse(nil, h, reply.Deferred())
		case reply.Deferred != nil:
			o.deferred, o.h = reply.Deferred, h
		}
		if c.srv.cfg.Registry.BodyReleased(h.APIKey) {
			// The reply is encoded and holds nothing of the request: the next frame may
			// reuse the buffer. (Other APIs' frames are left to the collector.)
			wire.ReleaseFrame(frame)
		}
		switch {
		case reply.Msg != nil, reply.Deferred != nil:
		case reply.Chunks != nil:
			size := int64(0)
			for _, ch := range reply.Chunks {
				size += ch.Len()
			}
			head := wire.AppendResponseHeader(make([]byte, 4, 16), h)
			size += int64(len(head) - 4)
			head[0], head[1], head[2], head[3] = byte(size>>24), byte(size>>16), byte(size>>8), byte(size)
			o.head, o.chunks = head, reply.Chunks
		default:
			// acks=0 produce: no response, but a throttle still mutes the connection.
			if !c.mute(reply.Throttle) {
				return
			}
			continue
		}
		if !c.send(o) {
			return
		}
		if c.sess.CloseAfterReply() {
			return // the writer flushes the reply, then closes
		}
		if !c.mute(reply.Throttle) {
			return
		}
	}
}

// mute holds the read goroutine for d after a throttled reply, so the client's next request
// is not read before its throttle time has passed (KIP-219: the broker answers at once, with
// throttle_time_ms, then stops reading). It returns false when the server is closing.
func (c *conn) mute(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.srv.ctx.Done():
		return false
	case <-c.done:
		return false
	}
}

// send queues o for the writer; false means the writer is gone.
func (c *conn) send(o outgoing) bool {
	select {
	case c.out <- o:
		return true
	case <-c.done:
		return false
	}
}

func putSize(b []byte, n int) {
	b[0], b[1], b[2], b[3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
}

func (c *conn) writeLoop() {
	defer func() {
		close(c.done)
		c.nc.Close()
		// Let the reader see the closed socket and finish.
		for range c.out {
		}
		c.srv.removeConn(c)
	}()
	var bufs net.Buffers
	// held is a deferred reply taken from the queue while gathering: it is finished (which
	// may wait) only after the replies gathered before it are written.
	var held *outgoing
	for {
		var o outgoing
		if held != nil {
			o, held = *held, nil
		} else {
			var ok bool
			if o, ok = <-c.out; !ok {
				return
			}
		}
		o.finish()
		// Gather every reply already queued into one writev, up to the first file region or
		// deferred reply.
		bufs = append(bufs[:0], o.head)
		pending := o.chunks
	gather:
		for len(pending) == 0 {
			select {
			case next, ok := <-c.out:
				if !ok {
					break gather
				}
				if next.deferred != nil {
					held = &next
					break gather
				}
				bufs = append(bufs, next.head)
				pending = next.chunks
			default:
				break gather
			}
		}
		for len(pending) > 0 && pending[0].File == nil {
			bufs = append(bufs, pending[0].Bytes)
			pending = pending[1:]
		}
		if _, err := bufs.WriteTo(c.nc); err != nil {
			c.log.Debug("write failed", "err", err)
			return
		}
		if err := c.writeChunks(pending); err != nil {
			c.log.Debug("write failed", "err", err)
			return
		}
	}
}

// writeChunks writes chunks in order, file regions with sendfile where possible.
func (c *conn) writeChunks(chunks []wire.Chunk) error {
	for _, ch := range chunks {
		var err error
		if ch.File != nil {
			err = writeRegion(c.nc, ch.File, ch.Pos, ch.Size)
		} else {
			_, err = c.nc.Write(ch.Bytes)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
