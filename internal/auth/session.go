package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Security protocols, by Kafka's names.
const (
	ProtocolPlaintext     = "PLAINTEXT"
	ProtocolSSL           = "SSL"
	ProtocolSASLPlaintext = "SASL_PLAINTEXT"
	ProtocolSASLSSL       = "SASL_SSL"
)

// Anonymous is the principal of a connection nobody authenticated (Kafka's
// KafkaPrincipal.ANONYMOUS).
const Anonymous = "User:ANONYMOUS"

// FailedMessage is the message a failed authentication gets, whatever the reason, so that a
// client learns nothing about which users exist.
const FailedMessage = "Authentication failed: Invalid username or password"

// ErrAuthenticationFailed is returned by Session.Authenticate when the credentials are wrong
// or the client's messages are malformed.
var ErrAuthenticationFailed = errors.New(FailedMessage)

// saslState is where a session's SASL exchange stands.
type saslState int

const (
	stateAwaitHandshake    saslState = iota // nothing yet
	stateAwaitAuthenticate                  // handshake v1 done: SaslAuthenticate requests follow
	stateRawTokens                          // handshake v0 done: raw tokens follow
	stateAuthenticated                      // done; or no SASL on this listener
	stateFailed                             // failed; the connection closes
)

// Session is one connection's security state. The server creates it when it accepts the
// connection and puts it in every handler's context.
//
// mu is a leaf lock: while it is held only the mechanism's step runs, which takes no lock and
// does no I/O (the SCRAM lookup reads an immutable metadata image). The failure delay is
// waited out with mu released.
type Session struct {
	// Listener is the name of the listener the connection came in on ("SASL_SSL").
	Listener string
	// Protocol is that listener's security protocol.
	Protocol string
	sasl     *SASL // nil on a listener without SASL

	mu        sync.Mutex
	state     saslState // guarded by mu
	principal string    // guarded by mu
	mechanism string    // guarded by mu
	exchange  exchange  // guarded by mu; set by the handshake
	// reauth is set while a KIP-368 re-authentication is under way: the connection was
	// authenticated, and the new exchange must end with the same principal. Guarded by mu.
	reauth bool
	// expiresAt is when the authenticated session ends (KIP-368); zero when it does not.
	// Guarded by mu. Invariant: zero unless the connection authenticated with SASL.
	expiresAt time.Time
	// lifetimeMs is the session lifetime the last successful exchange reported to the client
	// (SaslAuthenticate v1+ session_lifetime_ms). Guarded by mu.
	lifetimeMs int64
	// closeAfterReply asks the server to close the connection once the reply being built is
	// written (a failed authentication, a refused mechanism). Guarded by mu.
	closeAfterReply bool
}

// NewSession returns the state of a new connection on listener, whose security protocol is
// protocol. sasl is the listener's SASL configuration, nil unless protocol is SASL_*.
func NewSession(listener, protocol string, sasl *SASL) *Session {
	s := &Session{Listener: listener, Protocol: protocol, sasl: sasl, principal: Anonymous}
	if sasl == nil {
		s.state = stateAuthenticated
	}
	return s
}

// Principal is the connection's principal: "User:<name>" after SASL, "User:<subject DN>"
// for a TLS client certificate, Anonymous otherwise.
func (s *Session) Principal() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.principal
}

// SetTLSPrincipal records the principal of the client certificate of an SSL listener. On
// SASL_SSL the SASL identity wins, as in Kafka.
func (s *Session) SetTLSPrincipal(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sasl == nil {
		s.principal = p
	}
}

// Authenticated reports whether the connection may send any request: true on listeners
// without SASL, and after a successful SASL exchange.
func (s *Session) Authenticated() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == stateAuthenticated
}

// RawTokens reports whether the next frame is a raw SASL token (after a v0 handshake) rather
// than a request.
func (s *Session) RawTokens() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == stateRawTokens
}

// CloseAfterReply reports whether the connection must close after its current reply.
func (s *Session) CloseAfterReply() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeAfterReply
}

// Mechanisms lists the SASL mechanisms the listener enables (nil without SASL).
func (s *Session) Mechanisms() []string {
	if s.sasl == nil {
		return nil
	}
	return s.sasl.Mechanisms
}

// Handshake chooses the mechanism, as SaslHandshake does; version 0 makes the client send raw
// tokens next. It returns ILLEGAL_SASL_STATE when a handshake is not expected (no SASL on the
// listener, or one already done) and UNSUPPORTED_SASL_MECHANISM for a mechanism the listener
// does not enable; both close the connection after the reply, as in Kafka.
//
// On a connection whose session has a lifetime (connections.max.reauth.ms), a v1 handshake
// after authentication starts a re-authentication (KIP-368) with the same mechanism; another
// mechanism is ILLEGAL_SASL_STATE, and closes the connection.
func (s *Session) Handshake(mechanism string, version int16) *kerr.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sasl != nil && s.state == stateAuthenticated && !s.expiresAt.IsZero() && version >= 1 {
		ex, ok := s.sasl.newExchange(mechanism)
		if !ok || mechanism != s.mechanism {
			s.closeAfterReply = true
			s.state = stateFailed
			return kerr.IllegalSaslState
		}
		s.exchange, s.reauth, s.state = ex, true, stateAwaitAuthenticate
		return nil
	}
	if s.sasl == nil || s.state != stateAwaitHandshake {
		s.closeAfterReply = s.sasl != nil
		return kerr.IllegalSaslState
	}
	ex, ok := s.sasl.newExchange(mechanism)
	if !ok {
		s.closeAfterReply = true
		s.state = stateFailed
		return kerr.UnsupportedSaslMechanism
	}
	s.mechanism, s.exchange = mechanism, ex
	if version == 0 {
		s.state = stateRawTokens
	} else {
		s.state = stateAwaitAuthenticate
	}
	return nil
}

// Authenticate feeds one client token to the mechanism chosen by the handshake and returns the
// server's token. ILLEGAL_SASL_STATE (a *kerr.Error) means no exchange is under way; an error
// that is ErrAuthenticationFailed (FailureMessage tells what the client may be told) means the
// exchange failed: it is returned after the configured delay (or when ctx ends), and the
// connection closes after the reply. A re-authentication that ends with another principal
// fails, as in Kafka.
func (s *Session) Authenticate(ctx context.Context, token []byte) ([]byte, error) {
	s.mu.Lock()
	if s.state != stateAwaitAuthenticate && s.state != stateRawTokens {
		s.closeAfterReply = s.sasl != nil // out of order on a SASL listener, as in Kafka
		s.mu.Unlock()
		return nil, kerr.IllegalSaslState
	}
	reply, user, done, err := s.exchange.step(token)
	if err == nil && done && s.reauth && "User:"+user != s.principal {
		err = &authFailure{msg: fmt.Sprintf("Cannot change principals during re-authentication from %s: %s", s.principal, "User:"+user)}
	}
	if err != nil {
		s.state = stateFailed
		s.closeAfterReply = true
		delay := s.sasl.FailureDelay
		s.mu.Unlock()
		if delay > 0 {
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
			}
		}
		var f *authFailure
		if errors.As(err, &f) {
			return nil, f
		}
		return nil, ErrAuthenticationFailed
	}
	if done {
		s.state = stateAuthenticated
		s.principal = "User:" + user
		s.startLifetimeLocked()
		s.exchange, s.reauth = nil, false
	}
	s.mu.Unlock()
	return reply, nil
}

// Deny ends a just-completed authentication whose principal may not use the listener (the
// controller listener refuses principals that are not allowed CLUSTER_ACTION): the session is
// no longer authenticated, and the connection closes after the current reply.
func (s *Session) Deny() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state = stateFailed
	s.closeAfterReply = true
}

// credentialLifetimer is an exchange whose credential expires (an OAUTHBEARER token).
type credentialLifetimer interface {
	credentialExpiry() time.Time
}

// startLifetimeLocked starts the lifetime of a session just authenticated: the listener's
// connections.max.reauth.ms for the mechanism, cut to what remains of the credential's own
// lifetime. A zero connections.max.reauth.ms leaves the session without an end.
func (s *Session) startLifetimeLocked() {
	s.expiresAt, s.lifetimeMs = time.Time{}, 0
	lifetime := s.sasl.MaxReauth[s.mechanism]
	if lifetime <= 0 {
		return
	}
	now := s.sasl.now()
	if cl, ok := s.exchange.(credentialLifetimer); ok {
		if exp := cl.credentialExpiry(); !exp.IsZero() {
			lifetime = max(min(lifetime, exp.Sub(now)), 0)
		}
	}
	s.expiresAt, s.lifetimeMs = now.Add(lifetime), lifetime.Milliseconds()
}

// SessionLifetimeMs is the session_lifetime_ms of the last successful authentication: how long
// the client has before it must re-authenticate; 0 when it need not.
func (s *Session) SessionLifetimeMs() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lifetimeMs
}

// Expired reports whether the authenticated session has outlived its lifetime: the server
// then closes the connection on its next request, as Kafka does, unless that request is part of
// a re-authentication that began in time.
func (s *Session) Expired() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.reauth && !s.expiresAt.IsZero() && !s.sasl.now().Before(s.expiresAt)
}

type sessionKey struct{}

// WithSession returns ctx carrying s.
func WithSession(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

// SessionFrom returns the session in ctx, or nil when there is none (a handler called outside
// a connection, as in some tests).
func SessionFrom(ctx context.Context) *Session {
	s, _ := ctx.Value(sessionKey{}).(*Session)
	return s
}
