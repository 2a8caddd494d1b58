package api

import (
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
