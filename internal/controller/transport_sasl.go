package controller

// SASL on the controller listener (SASL_PLAINTEXT, SASL_SSL): the authentication preamble.
//
// Every connection to a SASL controller listener authenticates before it carries anything
// else, with Kafka's own SASL exchange in Kafka frames, served by the same session code as the
// client listeners (internal/auth):
//
//	Kafka-protocol connection               Raft connection
//	(ApiVersions v0-3, optional)            0xFF (raftMagic)
//	SaslHandshake v1(mechanism)   ->        SaslHandshake v1(mechanism)   ->
//	              <-  enabled mechanisms                  <-  enabled mechanisms
//	SaslAuthenticate v0-2(token)  <->       SaslAuthenticate v0-2(token)  <->
//	  ... until the mechanism completes       ... until the mechanism completes
//	controller requests                     Raft's own stream
//
// So a Raft connection is its magic byte, then the same Kafka-framed exchange a Kafka client
// runs, then hashicorp/raft's bytes; the listener hands it to Raft only once it has
// authenticated. Until then the listener reads frames of at most saslMaxReceive bytes, serves
// only ApiVersions, SaslHandshake and SaslAuthenticate, and closes the connection on anything
// else; the whole preamble must end within handshakeTimeout. Raw v0 tokens (SaslHandshake v0)
// and re-authentication (KIP-368) are not served here: a second SaslHandshake closes the
// connection.
//
// Mechanisms: PLAIN, whose users come from the listener's JAAS config. SCRAM is refused at
// startup (the node package): its credentials live in the metadata log, which a controller
// must have read before it could check them, as Kafka documents.
//
// Authorization (Config.PeerAuthorization, on when an authorizer is configured): the principal
// that completes the exchange must be this node's own (Config.PeerPrincipal) or be allowed
// CLUSTER_ACTION on the cluster (super users; ACLs, once the metadata log holds them), as
// Kafka requires of its controller APIs. Another principal gets CLUSTER_AUTHORIZATION_FAILED in
// its last SaslAuthenticate response, the refusal is logged, and the connection closes.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/wire"
)

// saslMaxReceive bounds a frame before authentication completes (Kafka's
// sasl.server.max.receive.size default).
const saslMaxReceive = 512 * 1024

// maxSASLRounds bounds the SaslAuthenticate round trips a dialler makes; PLAIN needs one.
const maxSASLRounds = 8

// errPeerAuthentication wraps a controller listener's refusal of this node's credentials (or
// of its principal): unlike a lost connection, retrying does not mend it.
var errPeerAuthentication = errors.New("controller listener refused this node's authentication")

// preAuthAPIs are what the controller listener serves before a connection authenticates.
var preAuthAPIs = map[int16]bool{
	kmsg.ApiVersions.Int16():      true,
	kmsg.SASLHandshake.Int16():    true,
	kmsg.SASLAuthenticate.Int16(): true,
}

// registerSASL adds SaslHandshake and SaslAuthenticate to the controller APIs of a SASL
// controller listener.
func (c *Controller) registerSASL(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.SASLHandshake, MinVersion: 1, MaxVersion: 1, Handle: c.handleSASLHandshake})
	reg.Register(wire.API{Key: kmsg.SASLAuthenticate, MinVersion: 0, MaxVersion: 2, Handle: c.handleSASLAuthenticate})
}

func (c *Controller) handleSASLHandshake(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.SASLHandshakeRequest)
	resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
	sess := auth.SessionFrom(ctx)
	if sess == nil {
		return wire.Reply{}, errors.New("controller: SaslHandshake outside a SASL session")
	}
	resp.SupportedMechanisms = sess.Mechanisms()
	if err := sess.Handshake(req.Mechanism, req.Version); err != nil {
		resp.ErrorCode = err.Code
	}
	return wire.Reply{Msg: resp}, nil
}

func (c *Controller) handleSASLAuthenticate(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.SASLAuthenticateRequest)
	resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
	resp.SASLAuthBytes = []byte{}
	sess := auth.SessionFrom(ctx)
	if sess == nil {
		return wire.Reply{}, errors.New("controller: SaslAuthenticate outside a SASL session")
	}
	reply, err := sess.Authenticate(ctx, req.SASLAuthBytes)
	var ke *kerr.Error
	switch {
	case errors.As(err, &ke):
		resp.ErrorCode = ke.Code
	case err != nil:
		resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		msg := auth.FailureMessage(err)
		resp.ErrorMessage = &msg
		c.log.Info("controller listener: authentication failed", "remote", r.Remote)
	default:
		resp.SASLAuthBytes = reply
		if !sess.Authenticated() {
			break // more rounds follow
		}
		if p := sess.Principal(); !c.peerAllowed(p, r.Remote) {
			sess.Deny()
			resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
			msg := fmt.Sprintf("principal %s may not use the controller listener (it needs CLUSTER_ACTION on the cluster)", p)
			resp.ErrorMessage = &msg
			c.log.Warn("controller listener: refusing a principal without CLUSTER_ACTION", "principal", p, "remote", r.Remote)
		}
	}
	return wire.Reply{Msg: resp}, nil
}

// peerAllowed reports whether principal, connected from remote, may use the controller
// listener: always without an authorizer; with one, when it is this node's own principal or
// is allowed CLUSTER_ACTION on the cluster.
func (c *Controller) peerAllowed(principal string, remote net.Addr) bool {
	if c.peerAuthz == nil || principal == c.cfg.PeerPrincipal {
		return true
	}
	host := ""
	if remote != nil {
		host = remote.String()
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
	}
	return c.peerAuthz.Authorize(principal, host, auth.OpClusterAction, metadata.ACLResourceCluster, auth.ClusterResourceName)
}

// authenticatePeer runs the server side of the preamble on a new connection (after the magic
// byte of a Raft connection) and returns its authenticated session, or nil when the
// connection must close (the reason is logged).
func (c *Controller) authenticatePeer(ctx context.Context, nc net.Conn, br *bufio.Reader) *auth.Session {
	proto := auth.ProtocolSASLPlaintext
	if c.cfg.ListenerTLS != nil {
		proto = auth.ProtocolSASLSSL
	}
	sess := auth.NewSession(c.cfg.ListenerName, proto, c.cfg.ListenerSASL)
	ctx = auth.WithSession(ctx, sess)
	_ = nc.SetDeadline(time.Now().Add(handshakeTimeout))
	defer func() { _ = nc.SetDeadline(time.Time{}) }()
	// Shutdown (ctx ends) interrupts a peer that is slow to authenticate.
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Now()) })
	defer stop()
	var out []byte
	for !sess.Authenticated() {
		frame, err := wire.ReadFrame(br, saslMaxReceive)
		if err != nil {
			c.log.Debug("controller listener: connection closed before authenticating", "remote", nc.RemoteAddr(), "err", err)
			return nil
		}
		h, body, err := wire.ParseHeader(frame)
		if err != nil {
			return nil
		}
		if !preAuthAPIs[h.APIKey] {
			c.log.Info("controller listener: closing a connection that sent a request before authenticating", "remote", nc.RemoteAddr(), "api", h.APIKey)
			return nil
		}
		reply, err := c.rpc.Dispatch(ctx, h, body, nc.RemoteAddr())
		if err != nil || reply.Msg == nil {
			return nil
		}
		out = wire.AppendResponse(out[:0], h, reply.Msg)
		if _, err := nc.Write(out); err != nil {
			return nil
		}
		if sess.CloseAfterReply() {
			return nil
		}
	}
	return sess
}

// authenticateRaft runs the server side of the preamble on a Raft connection.
func (c *Controller) authenticateRaft(nc net.Conn, br *bufio.Reader) bool {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-c.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return c.authenticatePeer(ctx, nc, br) != nil
}

// authenticate runs the client side of the preamble on nc, a connection dialled to the
// controller listener at addr (after the magic byte of a Raft connection): SaslHandshake v1
// with cl.mech, then SaslAuthenticate v1 round trips until the mechanism completes, all by
// deadline.
func (cl *rpcClient) authenticate(nc net.Conn, br *bufio.Reader, addr string, deadline time.Time) error {
	_ = nc.SetDeadline(deadline)
	defer func() { _ = nc.SetDeadline(time.Time{}) }()
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version = 1
	hs.Mechanism = cl.mech.Name()
	r, err := roundTrip(nc, br, cl.formatter, hs, 1)
	if err != nil {
		return fmt.Errorf("controller listener %s: SaslHandshake: %w", addr, err)
	}
	if err := kerr.ErrorForCode(r.(*kmsg.SASLHandshakeResponse).ErrorCode); err != nil {
		return fmt.Errorf("%w: %s: SaslHandshake %s: %w (enabled: %v)", errPeerAuthentication, addr, hs.Mechanism, err, r.(*kmsg.SASLHandshakeResponse).SupportedMechanisms)
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	session, token, err := cl.mech.Authenticate(ctx, host)
	if err != nil {
		return fmt.Errorf("controller listener %s: %s: %w", addr, hs.Mechanism, err)
	}
	for round := range maxSASLRounds {
		req := kmsg.NewPtrSASLAuthenticateRequest()
		req.Version = 1
		req.SASLAuthBytes = token
		r, err := roundTrip(nc, br, cl.formatter, req, int32(2+round))
		if err != nil {
			return fmt.Errorf("controller listener %s: SaslAuthenticate: %w", addr, err)
		}
		resp := r.(*kmsg.SASLAuthenticateResponse)
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			msg := ""
			if resp.ErrorMessage != nil {
				msg = ": " + *resp.ErrorMessage
			}
			return fmt.Errorf("%w: %s as %s: %w%s", errPeerAuthentication, addr, hs.Mechanism, err, msg)
		}
		done, next, err := session.Challenge(resp.SASLAuthBytes)
		if err != nil {
			return fmt.Errorf("controller listener %s: %s: %w", addr, hs.Mechanism, err)
		}
		if done {
			return nil
		}
		token = next
	}
	return fmt.Errorf("controller listener %s: %s did not complete in %d rounds", addr, hs.Mechanism, maxSASLRounds)
}
