package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/admin"
	"github.com/gregorhq/gregor/internal/clustertest"
	"github.com/gregorhq/gregor/internal/lag"
)

func newClient(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// produce writes n records to each given partition of topic (created with len(perPartition)
// partitions) and returns when all are acknowledged.
func produce(t *testing.T, addr, topic string, perPartition []int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(newClient(t, addr))
	if _, err := adm.CreateTopic(ctx, int32(len(perPartition)), 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var recs []*kgo.Record
	for p, n := range perPartition {
		for i := range n {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(p), Value: []byte(strings.Repeat("v", i%7+1))})
		}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func metricValue(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		for k, v := range labels {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == k && lp.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		}
	}
	return 0, false
}

func TestMetricsCountProducedAndFetched(t *testing.T) {
	n := clustertest.StartNode(t)
	const records = 200
	produce(t, n.Addr(), "metered", []int{records})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := newClient(t, n.Addr(), kgo.ConsumeTopics("metered"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	for got := 0; got < records; {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		got += fs.NumRecords()
	}

	code, body := get(t, n.AdminURL()+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", code)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parsing the exposition: %v", err)
	}
	topic := map[string]string{"topic": "metered"}
	tp := map[string]string{"topic": "metered", "partition": "0"}
	msgs, _ := metricValue(fams, "kafka_server_brokertopicmetrics_messagesin_total", topic)
	bytesIn, _ := metricValue(fams, "kafka_server_brokertopicmetrics_bytesin_total", topic)
	bytesOut, _ := metricValue(fams, "kafka_server_brokertopicmetrics_bytesout_total", topic)
	size, _ := metricValue(fams, "kafka_log_log_size", tp)
	leo, _ := metricValue(fams, "kafka_log_log_logendoffset", tp)
	if msgs != records || leo != records {
		t.Fatalf("messages in %v, log end offset %v; want %d", msgs, leo, records)
	}
	// Every produced byte is in the log (one segment, nothing deleted), and the consumer
	// read all of it at least once.
	if bytesIn != size || size == 0 || bytesOut < size {
		t.Fatalf("bytes in %v, log size %v, bytes out %v", bytesIn, size, bytesOut)
	}
	if v, _ := metricValue(fams, "kafka_network_requestmetrics_requests_total", map[string]string{"request": "Produce"}); v < 1 {
		t.Fatalf("Produce requests %v", v)
	}
	for name, want := range map[string]float64{
		"kafka_controller_kafkacontroller_activecontrollercount":  1,
		"kafka_server_replicamanager_underreplicatedpartitions":   0,
		"kafka_controller_kafkacontroller_offlinepartitionscount": 0,
	} {
		if v, ok := metricValue(fams, name, nil); !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
	if v, _ := metricValue(fams, "kafka_server_replicamanager_leadercount", nil); v < 1 {
		t.Errorf("leader count %v", v)
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool is required in CI (Debian package prometheus)")
		}
		t.Log("promtool not installed; exposition lint skipped")
		return
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(string(body))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// burrowStatus is the part of Burrow's /status answer the test reads.
type burrowStatus struct {
	Error   bool   `json:"error"`
	Message string `json:"message"`
	Status  struct {
		Cluster    string                 `json:"cluster"`
		Group      string                 `json:"group"`
		Status     lag.Status             `json:"status"`
		Complete   float32                `json:"complete"`
		Partitions []*lag.PartitionStatus `json:"partitions"`
		Count      int                    `json:"partition_count"`
		Maxlag     *lag.PartitionStatus   `json:"maxlag"`
		TotalLag   uint64                 `json:"totallag"`
	} `json:"status"`
	Request struct {
		URL  string `json:"url"`
		Host string `json:"host"`
	} `json:"request"`
}

// A consumer whose commits lag behind the producer and went backwards on one partition:
// Burrow's REWIND on that partition, so the group is ERR, with the partition as maxlag.
func TestBurrowStatusOfLaggingConsumer(t *testing.T) {
	n := clustertest.StartNode(t, "group.initial.rebalance.delay.ms", "0")
	produce(t, n.Addr(), "orders", []int{100, 50})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(newClient(t, n.Addr()))
	commit := func(p int32, at int64) {
		t.Helper()
		os := kadm.Offsets{}
		os.AddOffset("orders", p, at, -1)
		if err := adm.CommitAllOffsets(ctx, "lagger", os); err != nil {
			t.Fatal(err)
		}
	}
	commit(0, 10)
	commit(0, 20)
	commit(0, 5) // rewound
	commit(1, 50)

	code, body := get(t, n.AdminURL()+"/v3/kafka/local/consumer/lagger/status")
	if code != http.StatusOK {
		t.Fatalf("status: %d %s", code, body)
	}
	var st burrowStatus
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	s := st.Status
	if st.Error || st.Message != "consumer status returned" || st.Request.URL != "/v3/kafka/local/consumer/lagger/status" {
		t.Fatalf("envelope: %s", body)
	}
	if s.Cluster != "local" || s.Group != "lagger" || s.Status != lag.Error || s.Count != 2 || s.TotalLag != 95 {
		t.Fatalf("status: %s", body)
	}
	if s.Maxlag == nil || s.Maxlag.Topic != "orders" || s.Maxlag.Partition != 0 || s.Maxlag.CurrentLag != 95 || s.Maxlag.Status != lag.Rewind {
		t.Fatalf("maxlag: %s", body)
	}
	// /status lists only the partitions that are not OK; /lag lists them all.
	if len(s.Partitions) != 1 || s.Partitions[0].Partition != 0 || s.Partitions[0].Start.Offset != 10 || s.Partitions[0].End.Offset != 5 {
		t.Fatalf("partitions: %s", body)
	}
	_, body = get(t, n.AdminURL()+"/v3/kafka/local/consumer/lagger/lag")
	if err := json.Unmarshal(body, &st); err != nil || len(st.Status.Partitions) != 2 || st.Status.Partitions[1].Status != lag.OK {
		t.Fatalf("lag: %v %s", err, body)
	}

	_, body = get(t, n.AdminURL()+"/v3/kafka/local/consumer")
	if !strings.Contains(string(body), `"consumers":["lagger"]`) {
		t.Fatalf("consumers: %s", body)
	}
	_, body = get(t, n.AdminURL()+"/v3/kafka/local/topic/orders")
	if !strings.Contains(string(body), `"offsets":[100,50]`) {
		t.Fatalf("topic: %s", body)
	}
	if code, _ := get(t, n.AdminURL()+"/v3/kafka/other/consumer"); code != http.StatusNotFound {
		t.Fatalf("unknown cluster: %d", code)
	}

	_, body = get(t, n.AdminURL()+"/api/v1/groups/lagger/lag")
	var gl admin.GroupLag
	if err := json.Unmarshal(body, &gl); err != nil {
		t.Fatal(err)
	}
	if gl.TotalLag != 95 || len(gl.Partitions) != 2 || gl.Partitions[0].LagSeconds < 0 || gl.Partitions[0].CommittedOffset != 5 {
		t.Fatalf("gregor lag: %s", body)
	}

	// A deleted group is forgotten.
	if _, err := adm.DeleteGroup(ctx, "lagger"); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, n.AdminURL()+"/v3/kafka/local/consumer/lagger/status"); code != http.StatusNotFound {
		t.Fatalf("status of a deleted group: %d %s", code, body)
	}
}

// TestStatusOfAConsumerThatFallsBehindAndStops runs a real franz-go group consumer that reads
// a topic in small steps, committing after each while the producer keeps adding more, and then
// stops committing with records still unread: Burrow's evaluator first sees its lag, and once
// the time since its last commit exceeds the span of its commit window, calls the partition
// STOP and the group ERR.
func TestStatusOfAConsumerThatFallsBehindAndStops(t *testing.T) {
	n := clustertest.StartNode(t, "group.initial.rebalance.delay.ms", "0", "lag.window.size", "3")
	produce(t, n.Addr(), "feed", []int{20})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	producer := newClient(t, n.Addr(), kgo.DefaultProduceTopic("feed"))
	consumer := newClient(t, n.Addr(), kgo.ConsumerGroup("slow"), kgo.ConsumeTopics("feed"),
		kgo.DisableAutoCommit(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	committed := 0
	for round := range 3 {
		var recs []*kgo.Record
		for len(recs) < 5 {
			fs := consumer.PollRecords(ctx, 5-len(recs))
			if err := fs.Err0(); err != nil {
				t.Fatalf("round %d: poll: %v", round, err)
			}
			recs = append(recs, fs.Records()...)
		}
		if err := consumer.CommitRecords(ctx, recs...); err != nil {
			t.Fatalf("round %d: commit: %v", round, err)
		}
		committed += len(recs)
		// The producer outpaces the consumer: 10 more records per 5 consumed.
		for range 10 {
			if err := producer.ProduceSync(ctx, &kgo.Record{Value: []byte("more")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	const logEnd = 20 + 3*10
	wantLag := uint64(logEnd - 15)

	var st burrowStatus
	clustertest.WaitFor(t, 20*time.Second, "the stopped consumer's partition to be STOP", func() bool {
		_, body := get(t, n.AdminURL()+"/v3/kafka/local/consumer/slow/status")
		st = burrowStatus{}
		return json.Unmarshal(body, &st) == nil && st.Status.Maxlag != nil && st.Status.Maxlag.Status == lag.Stop
	})
	s := st.Status
	if committed != 15 || s.Status != lag.Error || s.TotalLag != wantLag || s.Maxlag.CurrentLag != wantLag ||
		s.Maxlag.Topic != "feed" || s.Maxlag.Partition != 0 || s.Maxlag.End.Offset != 15 {
		t.Fatalf("status after %d committed: %+v, maxlag %+v; want ERR with lag %d at offset 15", committed, s, *s.Maxlag, wantLag)
	}
}

// Runtime profiles are served only when asked for (admin.pprof.enable).
func TestPprofOnlyWhenEnabled(t *testing.T) {
	for _, on := range []bool{false, true} {
		srv, err := admin.Listen(admin.Config{Addr: "127.0.0.1:0", Gatherer: prometheus.NewRegistry(), Pprof: on})
		if err != nil {
			t.Fatal(err)
		}
		code, body := get(t, "http://"+srv.Addr().String()+"/debug/pprof/goroutine?debug=1")
		srv.Close()
		if on && (code != http.StatusOK || !strings.Contains(string(body), "goroutine profile")) {
			t.Errorf("enabled: status %d, body %.80q", code, body)
		}
		if !on && code != http.StatusNotFound {
			t.Errorf("disabled: status %d, want 404", code)
		}
		// The contention profiles record only while sampling is on: enabling pprof turns it on.
		if on && runtime.SetMutexProfileFraction(-1) <= 0 {
			t.Errorf("enabled: mutex profile fraction %d, want sampling on", runtime.SetMutexProfileFraction(-1))
		}
	}
}
