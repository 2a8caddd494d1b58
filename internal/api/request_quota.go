package api

// The request-time quota (request_percentage, quota.go) charged on every response, as Kafka's
// ClientRequestQuotaManager: after the handler, its time (wire.RequestTime: waits excluded)
// is recorded for the client, and a response over the quota carries the larger of this
// throttle and the handler's own (byte quotas) in throttle_time_ms, the connection muted that
// long. Fetch charges itself before it encodes (a throttled Fetch is answered empty).

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/wire"
)

// requestQuotaExempt are the APIs Kafka never throttles by request time: authentication,
// which its authenticator serves outside the request handlers, and the cluster actions
// brokers send each other (sendResponseExemptThrottle).
var requestQuotaExempt = map[int16]bool{
	kmsg.SASLHandshake.Int16():    true,
	kmsg.SASLAuthenticate.Int16(): true,
	kmsg.WriteTxnMarkers.Int16():  true,
}

// requestQuota is the registry's reply hook: it charges the request's handler time to the
// client's request_percentage quota and throttles the reply when it is over.
func (h *Handlers) requestQuota(ctx context.Context, r *wire.Request, reply *wire.Reply) {
	if requestQuotaExempt[r.Header.APIKey] || (reply.Msg == nil && reply.Chunks == nil && reply.Deferred == nil) {
		// No response (a Produce with acks=0): Kafka does not enforce the request quota.
		return
	}
	if s := auth.SessionFrom(ctx); s != nil && !s.Authenticated() {
		// Before SASL authentication (ApiVersions): Kafka's authenticator answers these,
		// outside the request handlers and their quota.
		return
	}
	throttle := h.chargeRequestTime(ctx, r)
	if throttle <= reply.Throttle {
		return
	}
	reply.Throttle = throttle
	// A deferred response gets the throttle when it is made (wire.Registry.Dispatch).
	if tr, ok := reply.Msg.(kmsg.SetThrottleResponse); ok {
		tr.SetThrottle(int32(throttle / time.Millisecond))
	}
}

// chargeRequestTime records the handler time of r so far against its client's
// request_percentage quota, once per request, and returns the throttle time.
func (h *Handlers) chargeRequestTime(ctx context.Context, r *wire.Request) time.Duration {
	rt := wire.RequestTimeFrom(ctx)
	if h.Quotas == nil || rt == nil || rt.Charged {
		return 0
	}
	rt.Charged = true
	principal, _ := requester(ctx, r)
	return h.Quotas.RecordRequestTime(principal, clientID(r), rt.Busy())
}

// exemptFromRequestQuota marks r as not to be charged (a follower's Fetch).
func exemptFromRequestQuota(ctx context.Context) {
	if rt := wire.RequestTimeFrom(ctx); rt != nil {
		rt.Charged = true
	}
}
