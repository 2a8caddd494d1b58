package api

// SaslHandshake, versions 0-1.
//
//	v0: the client then sends raw, size-prefixed SASL tokens without request headers (the server
//	    reads them as such: see internal/server)
//	v1: the client then sends SaslAuthenticate requests
//
// A mechanism the listener does not enable gets UNSUPPORTED_SASL_MECHANISM with the enabled
// list; a handshake where none is expected (a listener without SASL, or a second one) gets
// ILLEGAL_SASL_STATE. On a SASL listener both close the connection after the response.
//
// KIP-368: when the session has a lifetime (connections.max.reauth.ms), a v1 handshake on an
// authenticated connection starts a re-authentication with the same mechanism.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerSaslHandshake(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.SASLHandshake, MinVersion: 0, MaxVersion: 1, Handle: h.saslHandshake})
}

func (h *Handlers) saslHandshake(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.SASLHandshakeRequest)
	resp := kmsg.NewPtrSASLHandshakeResponse()
	sess := auth.SessionFrom(ctx)
	if sess == nil {
		sess = auth.NewSession("", auth.ProtocolPlaintext, nil)
	}
	resp.SupportedMechanisms = sess.Mechanisms()
	if resp.SupportedMechanisms == nil {
		resp.SupportedMechanisms = []string{}
	}
	if err := sess.Handshake(req.Mechanism, req.Version); err != nil {
		resp.ErrorCode = err.Code
	}
	return wire.Reply{Msg: resp}, nil
}
