package console_test

import (
	"context"
	"io"
	"io/fs"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/clustertest"
	"github.com/gregorhq/gregor/internal/console"
)

// maxAssetBytes bounds the embedded page, stylesheet and script together: the console must
// stay a page that loads at once on a slow link, not grow into an application bundle.
const maxAssetBytes = 64 << 10

// TestPageWeight reports the embedded assets' sizes and checks their total.
func TestPageWeight(t *testing.T) {
	total := 0
	err := fs.WalkDir(console.Assets(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(console.Assets(), path)
		if err != nil {
			return err
		}
		t.Logf("%-12s %6d bytes", path, len(b))
		total += len(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("total        %6d bytes (uncompressed)", total)
	if total > maxAssetBytes {
		t.Fatalf("embedded assets weigh %d bytes, more than %d", total, maxAssetBytes)
	}
}

// TestHandlerTimesAt1000Partitions times every console endpoint against a node with a
// 1,000-partition topic and a group committed on all of it, and reports the median of a few
// requests and the answer's size. It asserts only the answers' status, never a duration.
func TestHandlerTimesAt1000Partitions(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 1,000 partitions")
	}
	const partitions = 1000
	n := clustertest.StartNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	adm := kadm.NewClient(newClient(t, n.Addr()))
	if _, err := adm.CreateTopic(ctx, partitions, 1, nil, "wide"); err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, n.Addr(), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	recs := make([]*kgo.Record, 0, partitions*2)
	commits := kadm.Offsets{}
	for p := range int32(partitions) {
		recs = append(recs, &kgo.Record{Topic: "wide", Partition: p, Value: []byte("one")}, &kgo.Record{Topic: "wide", Partition: p, Value: []byte("two")})
		commits.AddOffset("wide", p, 1, -1)
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := adm.CommitAllOffsets(ctx, "wide-readers", commits); err != nil {
		t.Fatal(err)
	}

	for _, path := range []string{
		"/",
		"/console/console.js",
		"/api/v1/cluster",
		"/api/v1/topics",
		"/api/v1/topics/wide",
		"/api/v1/topics/wide?offset=900&limit=100",
		"/api/v1/groups",
		"/api/v1/groups/wide-readers",
		"/api/v1/groups/wide-readers/lag/history",
		"/api/v1/groups/wide-readers/lag",
		"/api/v1/topics/wide/partitions/999/records",
	} {
		var times []time.Duration
		size := 0
		for range 5 {
			start := time.Now()
			resp, err := http.Get(n.AdminURL() + path)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d %v %s", path, resp.StatusCode, err, b)
			}
			times = append(times, time.Since(start))
			size = len(b)
		}
		slices.Sort(times)
		t.Logf("%-46s median %8v  max %8v  %7d bytes", path, times[len(times)/2].Round(time.Microsecond), times[len(times)-1].Round(time.Microsecond), size)
	}
}
