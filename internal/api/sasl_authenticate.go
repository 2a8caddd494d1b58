package api

// SaslAuthenticate, versions 0-2.
//
//	v0: one SASL token each way
//	v1: adds session_lifetime_ms (KIP-368): how long the session lasts before the client must
//	    re-authenticate (SaslHandshake + SaslAuthenticate on the same connection); 0 when
//	    connections.max.reauth.ms is 0
//	v2: flexible versions
//
// A failed exchange gets SASL_AUTHENTICATION_FAILED with a generic message (OAUTHBEARER's error
// JSON, or the refusal of a changed principal on re-authentication, where Kafka sends those), after
// connection.failed.authentication.delay.ms, and the connection closes after the response.

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerSaslAuthenticate(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.SASLAuthenticate, MinVersion: 0, MaxVersion: 2, Handle: h.saslAuthenticate})
}

func (h *Handlers) saslAuthenticate(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.SASLAuthenticateRequest)
	resp := kmsg.NewPtrSASLAuthenticateResponse()
	resp.SASLAuthBytes = []byte{}
	sess := auth.SessionFrom(ctx)
	if sess == nil || sess.RawTokens() {
		// Not a SASL connection, or one that chose raw tokens with a v0 handshake.
		resp.ErrorCode = kerr.IllegalSaslState.Code
		return wire.Reply{Msg: resp}, nil
	}
	reply, err := sess.Authenticate(ctx, req.SASLAuthBytes)
	var ke *kerr.Error
	switch {
	case err == nil:
		resp.SASLAuthBytes = reply
		if sess.Authenticated() { // the exchange is complete: the session starts now
			resp.SessionLifetimeMillis = sess.SessionLifetimeMs()
		}
	case errors.As(err, &ke):
		resp.ErrorCode = ke.Code
	default:
		resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		msg := auth.FailureMessage(err)
		resp.ErrorMessage = &msg
		h.Logger.Info("authentication failed", "listener", sess.Listener, "remote", r.Remote)
	}
	return wire.Reply{Msg: resp}, nil
}
