package api

import (
	"fmt"
	"testing"
	"time"

	"github.com/gregorhq/gregor/internal/metadata"
)

// quotaImage is an image where client id "c" may produce rate bytes a second.
func quotaImage(t *testing.T, rate float64) *metadata.Image {
	t.Helper()
	img, err := metadata.Empty().Apply([]metadata.Record{metadata.ClientQuotaRecord{
		Entity: metadata.QuotaEntity{ClientID: "c"}, Key: quotaProduce, Value: rate,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestQuotaThrottle(t *testing.T) {
	const rate = 1000.0
	img := quotaImage(t, rate)
	now := time.Unix(1000, 0)
	q := &Quotas{Image: func() *metadata.Image { return img }, Samples: 11, SampleWindow: time.Second, Now: func() time.Time { return now }}

	// Unlimited clients are never throttled.
	if d := q.Record(quotaProduce, "User:ANONYMOUS", "other", 1e9); d != 0 {
		t.Fatalf("client without quota throttled %v", d)
	}
	// A new client's first burst is measured over the whole window (10 samples): 10 s at
	// the quota pass unthrottled.
	if d := q.Record(quotaProduce, "User:ANONYMOUS", "c", 10000); d != 0 {
		t.Fatalf("burst within the window throttled %v", d)
	}
	// 500 bytes more: rate 10500/10 s = 1050/s, 5% over: 5% of the 10 s window.
	if d := q.Record(quotaProduce, "User:ANONYMOUS", "c", 500); d != 500*time.Millisecond {
		t.Fatalf("throttle %v, want 500ms", d)
	}
	// A throttle never exceeds the quota window.
	if d := q.Record(quotaProduce, "User:ANONYMOUS", "c", 1e6); d != 11*time.Second {
		t.Fatalf("throttle %v, want the 11s cap", d)
	}
	// Samples older than the window expire.
	now = now.Add(12 * time.Second)
	if d := q.Record(quotaProduce, "User:ANONYMOUS", "c", 100); d != 0 {
		t.Fatalf("throttled %v after the window passed", d)
	}
}

// quotaImageWith is an image holding one quota.
func quotaImageWith(t *testing.T, e metadata.QuotaEntity, key string, v float64) *metadata.Image {
	t.Helper()
	img, err := metadata.Empty().Apply([]metadata.Record{metadata.ClientQuotaRecord{Entity: e, Key: key, Value: v}})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestRequestTimeQuota: handler time is recorded as a percentage of one handler (1 s of work
// in a second is 100%), and the throttle is capped at one sample window, as Kafka's
// ClientRequestQuotaManager.
func TestRequestTimeQuota(t *testing.T) {
	img := quotaImageWith(t, metadata.QuotaEntity{User: "alice"}, quotaRequest, 50)
	now := time.Unix(1000, 0)
	q := &Quotas{Image: func() *metadata.Image { return img }, Samples: 2, SampleWindow: time.Second, Now: func() time.Time { return now }}

	if d := q.RecordRequestTime("User:bob", "", time.Second); d != 0 {
		t.Fatalf("a user without a quota throttled %v", d)
	}
	// 400 ms of handler time over the 1 s minimum measure: 40% of a handler, under 50%.
	if d := q.RecordRequestTime("User:alice", "app", 400*time.Millisecond); d != 0 {
		t.Fatalf("40%% throttled %v", d)
	}
	// 200 ms more: 60%, 20% over a 50% quota: a fifth of the 1 s measured.
	if d := q.RecordRequestTime("User:alice", "app", 200*time.Millisecond); d != 200*time.Millisecond {
		t.Fatalf("60%% of a 50%% quota: throttle %v, want 200ms", d)
	}
	// Far over: capped at one sample window, not the whole quota window.
	if d := q.RecordRequestTime("User:alice", "app", 10*time.Second); d != time.Second {
		t.Fatalf("throttle %v, want the 1s cap", d)
	}
}

// TestConnectionRateQuota: connections from an IP over its connection_creation_rate are
// refused with a throttle time and not counted, so the next one after the rate has dropped
// is admitted; the default IP quota covers addresses without their own.
func TestConnectionRateQuota(t *testing.T) {
	img := quotaImageWith(t, metadata.QuotaEntity{IP: "10.0.0.1"}, metadata.QuotaConnectionCreationRate, 2)
	now := time.Unix(1000, 0)
	q := &Quotas{Image: func() *metadata.Image { return img }, Samples: 2, SampleWindow: time.Second, Now: func() time.Time { return now }}

	for i := range 2 {
		if d := q.RecordConnection("10.0.0.1"); d != 0 {
			t.Fatalf("connection %d within the rate throttled %v", i, d)
		}
	}
	// A third in the same second: 3/s over 2/s, half the 1 s measured.
	if d := q.RecordConnection("10.0.0.1"); d != 500*time.Millisecond {
		t.Fatalf("third connection: throttle %v, want 500ms", d)
	}
	if d := q.RecordConnection("10.0.0.2"); d != 0 {
		t.Fatalf("another address throttled %v", d)
	}
	// The refused one was not counted: 1.5 s later (a new sample, the first still in the
	// window) 3 connections over 1.5 s is 2/s, at the quota (counted, it would be 4 over it).
	now = now.Add(1500 * time.Millisecond)
	if d := q.RecordConnection("10.0.0.1"); d != 0 {
		t.Fatalf("connection after the refused one throttled %v", d)
	}

	img = quotaImageWith(t, metadata.QuotaEntity{IPDefault: true}, metadata.QuotaConnectionCreationRate, 1)
	q = &Quotas{Image: func() *metadata.Image { return img }, Samples: 2, SampleWindow: time.Second, Now: func() time.Time { return now }}
	q.RecordConnection("10.0.0.3")
	if d := q.RecordConnection("10.0.0.3"); d <= 0 {
		t.Fatal("the default IP quota did not apply")
	}
}

// TestMaxBytesInWindow: a consumer is sent at most its quota over quota.window.num-1 windows.
func TestMaxBytesInWindow(t *testing.T) {
	img := quotaImageWith(t, metadata.QuotaEntity{ClientID: "c"}, quotaFetch, 1000)
	q := &Quotas{Image: func() *metadata.Image { return img }, Samples: 11, SampleWindow: time.Second}
	if n, ok := q.MaxBytesInWindow(quotaFetch, "User:ANONYMOUS", "c"); !ok || n != 10000 {
		t.Fatalf("max bytes %d %v, want 10000", n, ok)
	}
	if _, ok := q.MaxBytesInWindow(quotaFetch, "User:ANONYMOUS", "other"); ok {
		t.Fatal("a client without a quota has a byte cap")
	}
}

// TestQuotaRatesExpireWhenIdle: a client's rate is forgotten an hour after its last record
// (Kafka's inactive sensor expiry), so client ids that come and go do not pile up; a rate
// still in use is kept, and a client that comes back starts afresh.
func TestQuotaRatesExpireWhenIdle(t *testing.T) {
	img := quotaImageWith(t, metadata.QuotaEntity{ClientDefault: true}, quotaProduce, 1000)
	now := time.Unix(1000, 0)
	q := &Quotas{Image: func() *metadata.Image { return img }, Samples: 11, SampleWindow: time.Second, Now: func() time.Time { return now }}
	tracked := func() int {
		q.mu.Lock()
		defer q.mu.Unlock()
		return len(q.rates)
	}
	for i := range 100 {
		q.Record(quotaProduce, "User:ANONYMOUS", fmt.Sprintf("conn-%d", i), 10)
	}
	q.Record(quotaProduce, "User:ANONYMOUS", "busy", 20000) // over its quota: throttled
	if n := tracked(); n != 101 {
		t.Fatalf("%d rates tracked, want 101", n)
	}
	// "busy" keeps recording; the others go idle.
	for step := range 6 {
		now = now.Add(10 * time.Minute)
		if step < 5 {
			q.Record(quotaProduce, "User:ANONYMOUS", "busy", 1)
		}
	}
	// An hour after their last record the idle ones are gone at the next record; "busy"
	// (last recorded 10 minutes ago) stays.
	q.Record(quotaProduce, "User:ANONYMOUS", "new", 1)
	q.mu.Lock()
	_, busy := q.rates[quotaKey{quotaProduce, "ANONYMOUS", "busy"}]
	q.mu.Unlock()
	if n := tracked(); n != 2 || !busy {
		t.Fatalf("%d rates tracked (busy kept: %v), want busy and new", n, busy)
	}
	// A returning client is measured afresh: its first burst is within the window again.
	if d := q.Record(quotaProduce, "User:ANONYMOUS", "conn-1", 10000); d != 0 {
		t.Fatalf("returning client throttled %v", d)
	}

	// IP connection rates expire the same way.
	ipImg := quotaImageWith(t, metadata.QuotaEntity{IPDefault: true}, metadata.QuotaConnectionCreationRate, 10)
	img = ipImg
	q.RecordConnection("10.0.0.1")
	now = now.Add(time.Hour)
	q.RecordConnection("10.0.0.2")
	q.mu.Lock()
	_, old := q.rates[quotaKey{kind: metadata.QuotaConnectionCreationRate, clientID: "10.0.0.1"}]
	q.mu.Unlock()
	if old {
		t.Fatal("an idle IP's connection rate was kept past the expiry")
	}
}

// TestQuotaExpiryNeverShorterThanWindow: an expiry configured shorter than the quota window
// does not forget samples the rate still counts.
func TestQuotaExpiryNeverShorterThanWindow(t *testing.T) {
	img := quotaImageWith(t, metadata.QuotaEntity{ClientDefault: true}, quotaProduce, 1000)
	t0 := time.Unix(1000, 0)
	now := t0
	q := &Quotas{Image: func() *metadata.Image { return img }, Samples: 11, SampleWindow: time.Second,
		InactiveExpiry: time.Second, Now: func() time.Time { return now }}
	q.Record(quotaProduce, "User:ANONYMOUS", "c", 10000)
	now = t0.Add(5 * time.Second)
	q.Record(quotaProduce, "User:ANONYMOUS", "c", 1)
	// Another client's record sweeps 6 s after c's last: within the 11 s window, c is kept.
	now = t0.Add(11 * time.Second)
	q.Record(quotaProduce, "User:ANONYMOUS", "d", 1)
	// 10001 + 2000 bytes over 11 s is over the quota: throttled, not forgotten.
	if d := q.Record(quotaProduce, "User:ANONYMOUS", "c", 2000); d == 0 {
		t.Fatal("the rate was forgotten within its window")
	}
}
