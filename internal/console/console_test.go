package console_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/clustertest"
	"github.com/gregorhq/gregor/internal/console"
)

func newClient(t testing.TB, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// getJSON GETs path from the node's admin listener, checks the status code and decodes the
// body into v (when v is not nil); it returns the body.
func getJSON(t testing.TB, n *clustertest.Node, path string, code int, v any) []byte {
	t.Helper()
	resp, err := http.Get(n.AdminURL() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != code {
		t.Fatalf("GET %s: %d %s, want %d", path, resp.StatusCode, body, code)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v in %s", path, err, body)
		}
	}
	return body
}

// fixture is a node with topic "orders" (3 partitions) holding records and a group
// "billing" that committed behind the end of partition 0.
type fixture struct {
	n   *clustertest.Node
	adm *kadm.Client
}

func startFixture(t testing.TB) fixture {
	t.Helper()
	n := clustertest.StartNode(t, "group.initial.rebalance.delay.ms", "0")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(newClient(t, n.Addr()))
	if _, err := adm.CreateTopic(ctx, 3, 1, map[string]*string{"retention.ms": kadm.StringPtr("3600000")}, "orders"); err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, n.Addr(), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var recs []*kgo.Record
	for i := range 30 {
		recs = append(recs, &kgo.Record{Topic: "orders", Partition: 0, Key: []byte("k" + string(rune('a'+i%26))),
			Value: []byte("order " + strings.Repeat("x", i)), Headers: []kgo.RecordHeader{{Key: "h", Value: []byte{0xff, 0x00}}}})
	}
	recs = append(recs, &kgo.Record{Topic: "orders", Partition: 1, Value: []byte{0x00, 0x01, 0xfe}})
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	os := kadm.Offsets{}
	os.AddOffset("orders", 0, 10, -1)
	os.AddOffset("orders", 1, 1, -1)
	if err := adm.CommitAllOffsets(ctx, "billing", os); err != nil {
		t.Fatal(err)
	}
	return fixture{n: n, adm: adm}
}

func TestClusterAndTopics(t *testing.T) {
	f := startFixture(t)
	var c console.Cluster
	getJSON(t, f.n, "/api/v1/cluster", 200, &c)
	if len(c.Brokers) != 1 || !c.Brokers[0].Controller || c.ControllerID != c.Brokers[0].ID || c.Topics < 1 ||
		c.Partitions < 3 || c.UnderReplicated != 0 || c.Offline != 0 || len(c.Problems) != 0 {
		t.Fatalf("cluster: %+v", c)
	}

	var tl console.TopicList
	getJSON(t, f.n, "/api/v1/topics?q=ord", 200, &tl)
	if tl.Total != 1 || len(tl.Topics) != 1 || tl.Topics[0].Name != "orders" || tl.Topics[0].Partitions != 3 ||
		tl.Topics[0].ReplicationFactor != 1 || tl.Topics[0].SizeBytes <= 0 {
		t.Fatalf("topics: %+v", tl)
	}
	getJSON(t, f.n, "/api/v1/topics?limit=1&offset=5", 200, &tl)
	if len(tl.Topics) != 0 || tl.Limit != 1 {
		t.Fatalf("a page past the end: %+v", tl)
	}

	var td console.TopicDetail
	getJSON(t, f.n, "/api/v1/topics/orders?offset=1&limit=1", 200, &td)
	if td.Configs["retention.ms"] != "3600000" || len(td.PartitionList) != 1 {
		t.Fatalf("topic: %+v", td)
	}
	if p := td.PartitionList[0]; p.Partition != 1 || !p.Hosted || p.HighWatermark != 1 || p.State != "ok" || len(p.ISR) != 1 {
		t.Fatalf("partition 1: %+v", p)
	}
	for _, path := range []string{"/api/v1/topics?limit=0", "/api/v1/topics?limit=100000", "/api/v1/topics?offset=-1", "/api/v1/topics/orders?offset=x"} {
		var e struct{ Error string }
		getJSON(t, f.n, path, 400, &e)
		if e.Error == "" {
			t.Fatalf("%s: no message", path)
		}
	}
	getJSON(t, f.n, "/api/v1/topics/nope", 404, nil)
}

func TestGroupAndLagHistory(t *testing.T) {
	f := startFixture(t)
	// A live member of a second group, so that members and assignment show.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := newClient(t, f.n.Addr(), kgo.ConsumerGroup("live"), kgo.ConsumeTopics("orders"), kgo.ClientID("reader-1"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	for got := 0; got < 31; {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		got += fs.NumRecords()
	}
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}

	var gl console.GroupList
	getJSON(t, f.n, "/api/v1/groups", 200, &gl)
	byName := map[string]console.GroupSummary{}
	for _, g := range gl.Groups {
		byName[g.Group] = g
	}
	if b := byName["billing"]; b.TotalLag != 20 || b.Status == "" {
		t.Fatalf("billing in the list: %+v", gl)
	}
	if l := byName["live"]; l.State != "Stable" || l.TotalLag != 0 {
		t.Fatalf("live in the list: %+v", gl)
	}

	var g console.GroupDetail
	getJSON(t, f.n, "/api/v1/groups/live", 200, &g)
	if len(g.Members) != 1 || g.Members[0].ClientID != "reader-1" || len(g.Members[0].Assignment) != 1 ||
		g.Members[0].Assignment[0].Topic != "orders" || len(g.Members[0].Assignment[0].Partitions) != 3 {
		t.Fatalf("live: %+v", g)
	}
	getJSON(t, f.n, "/api/v1/groups/billing?limit=1", 200, &g)
	if g.Lag == nil || g.Lag.TotalLag != 20 || g.LagPartitions != 2 || len(g.Lag.Partitions) != 1 ||
		g.Lag.Partitions[0].Partition != 0 || g.Lag.Partitions[0].Lag != 20 {
		t.Fatalf("billing: %+v", g)
	}

	var h console.LagHistory
	getJSON(t, f.n, "/api/v1/groups/billing/lag/history", 200, &h)
	if h.IntervalMs != console.DefaultLagSampleInterval.Milliseconds() || len(h.Points) == 0 || h.Points[len(h.Points)-1].V != 20 {
		t.Fatalf("history: %+v", h)
	}
	getJSON(t, f.n, "/api/v1/groups/nobody/lag/history", 404, nil)
	getJSON(t, f.n, "/api/v1/groups/nobody", 404, nil)
}

func TestRecordBrowser(t *testing.T) {
	f := startFixture(t)
	var b console.Browse
	getJSON(t, f.n, "/api/v1/topics/orders/partitions/0/records?offset=5&count=3", 200, &b)
	if b.HighWatermark != 30 || b.LogStartOffset != 0 || len(b.Records) != 3 || b.NextOffset != 8 {
		t.Fatalf("browse: %+v", b)
	}
	r := b.Records[0]
	if r.Offset != 5 || r.Key.Text != "kf" || r.Value.Text != "order xxxxx" || r.Value.Encoding != "text" ||
		len(r.Headers) != 1 || r.Headers[0].Value.Hex != "ff00" || r.Timestamp <= 0 || r.TimestampType != "CreateTime" {
		t.Fatalf("record 5: %+v", r)
	}
	// Without an offset: the last count records. Binary values come as hex; null keys as null.
	getJSON(t, f.n, "/api/v1/topics/orders/partitions/0/records?count=4", 200, &b)
	if len(b.Records) != 4 || b.Records[0].Offset != 26 || b.Records[3].Offset != 29 {
		t.Fatalf("latest: %+v", b)
	}
	getJSON(t, f.n, "/api/v1/topics/orders/partitions/1/records", 200, &b)
	if len(b.Records) != 1 || !b.Records[0].Key.Null || b.Records[0].Value.Hex != "0001fe" {
		t.Fatalf("binary: %+v", b)
	}
	// At the high watermark: nothing yet, not an error.
	getJSON(t, f.n, "/api/v1/topics/orders/partitions/0/records?offset=30", 200, &b)
	if len(b.Records) != 0 {
		t.Fatalf("at the end: %+v", b)
	}

	const base = "/api/v1/topics/orders/partitions/"
	for path, code := range map[string]int{
		base + "0/records?offset=31":               400, // past the high watermark
		base + "0/records?offset=-1":               400,
		base + "0/records?offset=abc":              400,
		base + "0/records?count=0":                 400,
		base + "0/records?count=101":               400, // the browser's bound
		base + "0/records?count=1e3":               400,
		base + "x/records":                         400,
		base + "-1/records":                        400,
		base + "7/records":                         404,
		"/api/v1/topics/nope/partitions/0/records": 404,
	} {
		var e struct{ Error string }
		getJSON(t, f.n, path, code, &e)
		if e.Error == "" {
			t.Errorf("%s: no message", path)
		}
	}
	// A topic name that needs escaping is a path segment like any other.
	getJSON(t, f.n, "/api/v1/topics/"+url.PathEscape("a b")+"/partitions/0/records", 404, nil)
}

func TestPageAndAssets(t *testing.T) {
	n := clustertest.StartNode(t)
	for path, ctype := range map[string]string{"/": "text/html", "/console/console.js": "text/javascript", "/console/console.css": "text/css"} {
		resp, err := http.Get(n.AdminURL() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), ctype) {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	resp, err := http.Get(n.AdminURL() + "/console/missing.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("missing asset: %d", resp.StatusCode)
	}
}
