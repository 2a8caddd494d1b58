package api

// Client quotas, enforced Kafka's way (ClientQuotaManager, ClientRequestQuotaManager,
// ConnectionQuotas): producer_byte_rate and consumer_byte_rate on the bytes of Produce and
// Fetch, request_percentage on the time handlers spend on a client's requests, and
// connection_creation_rate on the new connections from one IP address.
//
//   - each (user, client id) has a rate per quota type, measured over quota.window.num
//     samples of quota.window.size.seconds each (Kafka's Rate over a SampledStat: the sum of
//     the samples divided by the time they cover, counted as at least quota.window.num-1 whole
//     samples, so a new client is not throttled for its first burst);
//   - a request's bytes are recorded first; if the rate is then above the quota the
//     throttle time is (rate - quota) / quota × window, capped at the whole quota window
//     (quota.window.num × quota.window.size.seconds);
//   - the response carries it in throttle_time_ms and the connection is muted that long
//     (wire.Reply.Throttle, KIP-219).
//
// request_percentage is a share of one request handler's time, in percent (200 = two
// handlers' worth), per window: each request records its handler time as
// nanoseconds × 100 / 1e9 (so the rate is directly a percentage), waits excluded
// (wire.RequestTime: long polls, replication, rebalances are not handler work, as Kafka's
// purgatory is not). Its throttle is capped at one sample window, as Kafka's. Every response
// but those of the APIs Kafka exempts carries the larger of its byte and request throttles
// (requestQuota, request_quota.go).
//
// connection_creation_rate is per IP (metadata.Image.IPQuota): a connection over the rate is
// not counted, and the server closes it after the throttle time, capped at one sample window
// (RecordConnection, ConnectionQuotas.recordIpConnectionMaybeThrottle).
//
// The quota that applies is the most specific one in the metadata (metadata.Image.QuotaFor).
//
// A client's rates are forgotten after an hour without a recorded value (Quotas.InactiveExpiry;
// Kafka's quota sensors expire likewise), so that client ids that come and go (one per
// connection, say) do not grow the broker's memory without bound. Expired rates are swept out
// by the recording calls themselves, at most every quotaSweepInterval.

import (
	"strings"
	"sync"
	"time"

	"github.com/gregorhq/gregor/internal/metadata"
)

// Quota types, by their config keys.
const (
	quotaProduce = "producer_byte_rate"
	quotaFetch   = "consumer_byte_rate"
	quotaRequest = "request_percentage"
)

// Quotas measures client byte rates and computes throttle times.
type Quotas struct {
	// Image returns the current metadata image, which holds the quotas.
	Image func() *metadata.Image
	// Samples and SampleWindow are quota.window.num and quota.window.size.seconds.
	Samples      int
	SampleWindow time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// InactiveExpiry is how long a client's (or an IP's) rate is kept after its last recorded
	// value; DefaultQuotaInactiveExpiry when 0. It is never shorter than the quota window
	// (Samples × SampleWindow), so that expiry forgets nothing a rate still counts.
	InactiveExpiry time.Duration

	mu sync.Mutex
	// Guarded by mu.
	rates     map[quotaKey]*sampledRate
	lastSweep time.Time // when expireLocked last looked at every rate
}

// DefaultQuotaInactiveExpiry is how long an idle client's rates are kept: Kafka's quota
// sensors' inactive expiration, one hour.
const DefaultQuotaInactiveExpiry = time.Hour

// quotaSweepInterval is how often, at most, the rates are scanned for idle ones (Kafka's
// sensor expiry task runs every 30 seconds).
const quotaSweepInterval = 30 * time.Second

type quotaKey struct {
	kind, user, clientID string
}

// sampledRate is Kafka's Rate over a SampledStat: a ring of samples, each covering up to one
// sample window from its start.
type sampledRate struct {
	samples []rateSample
	cur     int
	last    time.Time // the last record: the rate expires InactiveExpiry after it
}

type rateSample struct {
	start time.Time // zero: unused
	value float64
}

// Record adds bytes sent by user (the principal's name) with clientID to the rate of kind and
// returns how long the client is to be throttled (0 when it has no quota or is under it).
func (q *Quotas) Record(kind, principal, clientID string, bytes int64) time.Duration {
	if q == nil || bytes <= 0 {
		return 0
	}
	user := strings.TrimPrefix(principal, "User:")
	limit, ok := q.Image().QuotaFor(user, clientID, kind)
	if !ok || limit <= 0 {
		return 0
	}
	return q.record(quotaKey{kind, user, clientID}, limit, float64(bytes), q.Samples, true)
}

// MaxBytesInWindow is the most bytes of kind a client can be sent at once without certainly
// being throttled: its quota over quota.window.num-1 sample windows (Kafka's
// getMaxValueInQuotaWindow); false when it has no quota.
func (q *Quotas) MaxBytesInWindow(kind, principal, clientID string) (int64, bool) {
	if q == nil {
		return 0, false
	}
	limit, ok := q.Image().QuotaFor(strings.TrimPrefix(principal, "User:"), clientID, kind)
	if !ok || limit <= 0 {
		return 0, false
	}
	return int64(limit * float64(max(q.Samples-1, 1)) * q.SampleWindow.Seconds()), true
}

// Unrecord takes back bytes Record counted, for a response that will not carry them (a
// throttled Fetch is answered empty; Kafka's unrecordQuotaSensor).
func (q *Quotas) Unrecord(kind, principal, clientID string, bytes int64) {
	if q == nil || bytes <= 0 {
		return
	}
	user := strings.TrimPrefix(principal, "User:")
	if limit, ok := q.Image().QuotaFor(user, clientID, kind); ok && limit > 0 {
		q.record(quotaKey{kind, user, clientID}, limit, -float64(bytes), q.Samples, false)
	}
}

// RecordRequestTime adds d of request handler time of user with clientID to its
// request_percentage rate and returns the throttle time, at most one sample window.
func (q *Quotas) RecordRequestTime(principal, clientID string, d time.Duration) time.Duration {
	if q == nil || d <= 0 {
		return 0
	}
	user := strings.TrimPrefix(principal, "User:")
	limit, ok := q.Image().QuotaFor(user, clientID, quotaRequest)
	if !ok || limit <= 0 {
		return 0
	}
	percent := float64(d.Nanoseconds()) * 100 / float64(time.Second)
	return q.record(quotaKey{quotaRequest, user, clientID}, limit, percent, 1, true)
}

// RecordConnection counts a new connection from ip against its connection_creation_rate and
// returns 0 when it may be served; otherwise the connection is not counted and the return is
// how long to hold it before closing it (at most one sample window). It implements
// server.ConnectionRate.
func (q *Quotas) RecordConnection(ip string) time.Duration {
	if q == nil {
		return 0
	}
	limit, ok := q.Image().IPQuota(ip, metadata.QuotaConnectionCreationRate)
	if !ok || limit <= 0 {
		return 0
	}
	k := quotaKey{kind: metadata.QuotaConnectionCreationRate, clientID: ip}
	throttle := q.record(k, limit, 1, 1, true)
	if throttle > 0 {
		q.record(k, limit, -1, 1, false)
	}
	return throttle
}

// record adds v to the rate of k and, when check is set, returns the throttle time if the rate
// is then above limit: (rate - limit) / limit × the time measured over, capped at capSamples
// sample windows.
func (q *Quotas) record(k quotaKey, limit, v float64, capSamples int, check bool) time.Duration {
	now := time.Now()
	if q.Now != nil {
		now = q.Now()
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.rates == nil {
		q.rates = map[quotaKey]*sampledRate{}
	}
	q.expireLocked(now)
	r := q.rates[k]
	if r == nil {
		r = &sampledRate{samples: make([]rateSample, max(q.Samples, 1))}
		q.rates[k] = r
	}
	r.recordLocked(now, v, q.SampleWindow)
	r.last = now
	if !check {
		return 0
	}
	rate, window := r.measureLocked(now, q.SampleWindow)
	if rate <= limit {
		return 0
	}
	throttle := time.Duration((rate - limit) / limit * float64(window))
	return min(throttle, time.Duration(max(capSamples, 1))*q.SampleWindow)
}

// expireLocked drops the rates nothing was recorded to for InactiveExpiry, when
// quotaSweepInterval has passed since it last looked.
func (q *Quotas) expireLocked(now time.Time) {
	ttl := q.InactiveExpiry
	if ttl <= 0 {
		ttl = DefaultQuotaInactiveExpiry
	}
	ttl = max(ttl, time.Duration(max(q.Samples, 1))*q.SampleWindow)
	if now.Sub(q.lastSweep) < min(ttl, quotaSweepInterval) {
		return
	}
	q.lastSweep = now
	for k, r := range q.rates {
		if now.Sub(r.last) >= ttl {
			delete(q.rates, k)
		}
	}
}

// recordLocked adds v to the current sample, starting a new one when the current is a window
// old.
func (r *sampledRate) recordLocked(now time.Time, v float64, window time.Duration) {
	s := &r.samples[r.cur]
	if s.start.IsZero() {
		s.start = now
	} else if now.Sub(s.start) >= window {
		r.cur = (r.cur + 1) % len(r.samples)
		s = &r.samples[r.cur]
		*s = rateSample{start: now}
	}
	s.value += v
}

// measureLocked returns the rate per second and the time span it was measured over.
func (r *sampledRate) measureLocked(now time.Time, window time.Duration) (float64, time.Duration) {
	n := len(r.samples)
	expire := now.Add(-time.Duration(n) * window)
	var sum float64
	var oldest time.Time
	for i := range r.samples {
		s := &r.samples[i]
		if s.start.IsZero() {
			continue
		}
		if s.start.Before(expire) {
			*s = rateSample{}
			continue
		}
		sum += s.value
		if oldest.IsZero() || s.start.Before(oldest) {
			oldest = s.start
		}
	}
	if oldest.IsZero() {
		oldest = now
	}
	elapsed := now.Sub(oldest)
	if full, least := int(elapsed/window), n-1; full < least {
		elapsed += time.Duration(least-full) * window
	}
	if elapsed <= 0 {
		elapsed = window
	}
	return sum / elapsed.Seconds(), elapsed
}
