package verify

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// TestEventShapes pins the JSON of each event: field names and order as
// Kafka's VerifiableProducer and VerifiableConsumer print them.
func TestEventShapes(t *testing.T) {
	var buf bytes.Buffer
	ev := &eventWriter{now: func() time.Time { return time.UnixMilli(1700000000123) }, w: &buf}
	k := "3"
	ev.print(ev.header("startup_complete"))
	ev.print(sendSuccess{header: ev.header("producer_send_success"), Key: &k, Value: "7.12", Topic: "t", Partition: 2, Offset: 40})
	ev.print(sendSuccess{header: ev.header("producer_send_success"), Value: "13", Topic: "t", Partition: 0, Offset: 1})
	ev.print(sendError{header: ev.header("producer_send_error"), Value: "1", Topic: "t", Exception: "*kerr.Error", Message: "NOT_LEADER"})
	ev.print(toolData{header: ev.header("tool_data"), Sent: 10, Acked: 9, TargetThroughput: -1, AvgThroughput: 4.5})
	ev.print(partitionsEvent{header: ev.header("partitions_assigned"), Partitions: []partitionData{{"t", 0}, {"t", 1}}})
	ev.print(recordsConsumed{header: ev.header("records_consumed"), Count: 5, Partitions: []recordSetSummary{
		{partitionData: partitionData{"t", 1}, Count: 5, MinOffset: 10, MaxOffset: 14}}})
	ev.print(offsetsCommitted{header: ev.header("offsets_committed"), Offsets: []commitData{{partitionData{"t", 1}, 15}}, Success: true})
	ev.print(offsetsCommitted{header: ev.header("offsets_committed"), Offsets: []commitData{}, Error: "boom", Success: false})
	ev.print(ev.header("shutdown_complete"))
	want := `{"timestamp":1700000000123,"name":"startup_complete"}
{"timestamp":1700000000123,"name":"producer_send_success","key":"3","value":"7.12","topic":"t","partition":2,"offset":40}
{"timestamp":1700000000123,"name":"producer_send_success","key":null,"value":"13","topic":"t","partition":0,"offset":1}
{"timestamp":1700000000123,"name":"producer_send_error","key":null,"value":"1","topic":"t","exception":"*kerr.Error","message":"NOT_LEADER"}
{"timestamp":1700000000123,"name":"tool_data","sent":10,"acked":9,"target_throughput":-1,"avg_throughput":4.5}
{"timestamp":1700000000123,"name":"partitions_assigned","partitions":[{"topic":"t","partition":0},{"topic":"t","partition":1}]}
{"timestamp":1700000000123,"name":"records_consumed","count":5,"partitions":[{"topic":"t","partition":1,"count":5,"minOffset":10,"maxOffset":14}]}
{"timestamp":1700000000123,"name":"offsets_committed","offsets":[{"topic":"t","partition":1,"offset":15}],"success":true}
{"timestamp":1700000000123,"name":"offsets_committed","offsets":[],"error":"boom","success":false}
{"timestamp":1700000000123,"name":"shutdown_complete"}
`
	if buf.String() != want {
		t.Errorf("events:\n%s\nwant\n%s", buf.String(), want)
	}
}

// events runs "verify args..." against addr and returns its events.
func events(t *testing.T, addr string, args ...string) []map[string]any {
	t.Helper()
	cmd := NewCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(append(args, "--bootstrap-server", addr))
	if err := cmd.ExecuteContext(t.Context()); err != nil {
		t.Fatalf("verify %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	var evs []map[string]any
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		evs = append(evs, m)
	}
	return evs
}

func byName(evs []map[string]any, name string) []map[string]any {
	var r []map[string]any
	for _, e := range evs {
		if e["name"] == name {
			r = append(r, e)
		}
	}
	return r
}

func TestVerifiableRoundTrip(t *testing.T) {
	addr := clustertest.StartNode(t, "group.initial.rebalance.delay.ms", "0").Addr()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(t.Context(), 3, 1, nil, "verify"); err != nil {
		t.Fatal(err)
	}

	pe := events(t, addr, "producer", "--topic", "verify", "--max-messages", "300", "--acks", "-1",
		"--value-prefix", "7", "--repeating-keys", "5")
	if pe[0]["name"] != "startup_complete" || pe[len(pe)-2]["name"] != "shutdown_complete" || pe[len(pe)-1]["name"] != "tool_data" {
		t.Fatalf("producer events start/end: %v ... %v", pe[0], pe[len(pe)-2:])
	}
	acked := byName(pe, "producer_send_success")
	if len(acked) != 300 || len(byName(pe, "producer_send_error")) != 0 {
		t.Fatalf("producer: %d acked, %d errors", len(acked), len(byName(pe, "producer_send_error")))
	}
	td := pe[len(pe)-1]
	if td["sent"] != 300.0 || td["acked"] != 300.0 {
		t.Errorf("tool_data %v", td)
	}
	// Acknowledged offsets per partition: what the consumer must see.
	want := map[float64]int{}
	for _, e := range acked {
		if !strings.HasPrefix(e["value"].(string), "7.") {
			t.Fatalf("value %v: want prefix 7.", e["value"])
		}
		want[e["partition"].(float64)]++
	}

	ce := events(t, addr, "consumer", "--topic", "verify", "--group-id", "vg", "--max-messages", "300")
	if ce[0]["name"] != "startup_complete" || ce[len(ce)-1]["name"] != "shutdown_complete" {
		t.Fatalf("consumer events start/end: %v ... %v", ce[0], ce[len(ce)-1])
	}
	if len(byName(ce, "partitions_assigned")) == 0 {
		t.Error("no partitions_assigned event")
	}
	got := map[float64]int{}
	total := 0
	for _, e := range byName(ce, "records_consumed") {
		for _, p := range e["partitions"].([]any) {
			p := p.(map[string]any)
			n := int(p["count"].(float64))
			if int(p["maxOffset"].(float64)-p["minOffset"].(float64))+1 != n {
				t.Errorf("partition summary %v: count does not match the offset range", p)
			}
			got[p["partition"].(float64)] += n
			total += n
		}
	}
	if total != 300 {
		t.Errorf("consumed %d records, want 300", total)
	}
	for p, n := range want {
		if got[p] != n {
			t.Errorf("partition %v: consumed %d, acked %d", p, got[p], n)
		}
	}
	commits := byName(ce, "offsets_committed")
	if len(commits) == 0 {
		t.Fatal("no offsets_committed event")
	}
	committed := 0
	for _, c := range commits {
		if c["success"] != true {
			t.Errorf("commit failed: %v", c)
		}
	}
	// The last committed offset of each partition is its record count (offsets start at 0).
	last := map[float64]float64{}
	for _, c := range commits {
		for _, o := range c["offsets"].([]any) {
			o := o.(map[string]any)
			last[o["partition"].(float64)] = o["offset"].(float64)
		}
	}
	for p, off := range last {
		committed += int(off)
		if int(off) != want[p] {
			t.Errorf("partition %v: committed %v, want %d", p, off, want[p])
		}
	}
	if committed != 300 {
		t.Errorf("committed offsets sum to %d, want 300", committed)
	}
}
