package group_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/cli"
)

// TestConsumerProtocolBalancers is TestGroupBalancers with the KIP-848 consumer protocol:
// the broker assigns, with "range" for kgo.RangeBalancer and "uniform" for
// kgo.StickyBalancer.
func TestConsumerProtocolBalancers(t *testing.T) {
	for _, tc := range []struct {
		name string
		bal  kgo.GroupBalancer
	}{
		{"range", kgo.RangeBalancer()},
		{"uniform", kgo.StickyBalancer()},
	} {
		t.Run(tc.name, func(t *testing.T) { testBalancer(t, tc.bal, kgo.ServerSideBalancer()) })
	}
}

// TestConsumerProtocolAdmin: a consumer group seen through kadm and the CLI: ListGroups
// types it "consumer", ConsumerGroupDescribe shows its members and assignments, OffsetFetch
// returns the members' commits, and "gregor group describe" shows members and lag.
func TestConsumerProtocolAdmin(t *testing.T) {
	const parts = 6
	n := startNode(t)
	addr := n.Addr()
	createTopic(t, addr, "cadm", parts)
	produce(t, addr, "cadm", parts, 10)

	tr := newTracker(t)
	var ms []*member
	for i := 0; i < 2; i++ {
		ms = append(ms, startMember(t, addr, "g-cadm", "cadm", i, tr, kgo.Balancers(kgo.RangeBalancer()), kgo.ServerSideBalancer()))
	}
	defer func() {
		for _, m := range ms {
			m.stop(true)
		}
	}()
	waitFor(t, 30*time.Second, "two members to own every partition once", func() bool {
		return tr.exactlyOnce([]int{0, 1}, parts)
	})
	waitFor(t, 30*time.Second, "every record to be committed", func() bool { return tr.committedAll(parts, 10) })

	adm := admin(t, addr)
	ctx := ctxT(t, 30*time.Second)
	listed, err := adm.ListGroupsByType(ctx, []string{"consumer"})
	if err != nil {
		t.Fatal(err)
	}
	if g, ok := listed["g-cadm"]; !ok || g.ProtocolType != "consumer" {
		t.Fatalf("ListGroups(type consumer) = %+v, want g-cadm with protocol type consumer", listed)
	}
	if classic, err := adm.ListGroupsByType(ctx, []string{"classic"}); err != nil || len(classic) != 0 {
		t.Fatalf("ListGroups(type classic) = %v, %v; want none", classic, err)
	}

	// Members reconcile in their own heartbeats: wait until the description is stable.
	var d kadm.DescribedConsumerGroup
	waitFor(t, 30*time.Second, "the group to be Stable", func() bool {
		described, err := adm.DescribeConsumerGroups(ctx, "g-cadm")
		if err != nil {
			t.Fatal(err)
		}
		d = described["g-cadm"]
		return d.Err == nil && d.State == "Stable"
	})
	if len(d.Members) != 2 || d.AssignorName != "range" {
		t.Fatalf("described %+v, want 2 members with assignor range", d)
	}
	owners := map[int32]int{}
	for _, m := range d.Members {
		for p := range m.Assignment["cadm"] {
			owners[p]++
		}
		if m.MemberEpoch != d.Epoch {
			t.Errorf("member %s at epoch %d, group at %d", m.MemberID, m.MemberEpoch, d.Epoch)
		}
	}
	for p := int32(0); p < parts; p++ {
		if owners[p] != 1 {
			t.Fatalf("partition %d has %d owners in %+v", p, owners[p], d.Members)
		}
	}

	fetched, err := adm.FetchOffsets(ctx, "g-cadm")
	if err != nil {
		t.Fatal(err)
	}
	for p := int32(0); p < parts; p++ {
		if o, ok := fetched.Lookup("cadm", p); !ok || o.Err != nil || o.At != 10 {
			t.Fatalf("FetchOffsets p%d = %+v, want 10", p, o)
		}
	}

	// DescribeGroups describes classic groups only: a consumer group is Dead there, as in
	// Kafka before DescribeGroups v6.
	dg, err := adm.DescribeGroups(ctx, "g-cadm")
	if err != nil || dg["g-cadm"].State != "Dead" {
		t.Fatalf("DescribeGroups = %+v, %v; want Dead", dg, err)
	}

	produce(t, addr, "cadm", parts, 5) // lag appears once the members stop consuming
	for _, m := range ms {
		m.cancel()
		<-m.done
	}
	out := gregorCLI(t, addr, "group", "describe", "--group", "g-cadm", "--members")
	for _, m := range d.Members {
		found := false
		for _, line := range strings.Split(out, "\n") {
			found = found || strings.Contains(line, m.MemberID) && strings.HasSuffix(strings.TrimSpace(line), " 3")
		}
		if !found {
			t.Errorf("group describe --members: no member %s with 3 partitions in\n%s", m.MemberID, out)
		}
	}
	out = gregorCLI(t, addr, "group", "describe", "--group", "g-cadm", "--format", "json")
	var rows []struct {
		Partition  int32  `json:"partition"`
		Current    *int64 `json:"current_offset"`
		End        *int64 `json:"log_end_offset"`
		Lag        *int64 `json:"lag"`
		ConsumerID string `json:"consumer_id"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("group describe --format json: %v\n%s", err, out)
	}
	if len(rows) != parts {
		t.Fatalf("group describe: %d rows, want %d:\n%s", len(rows), parts, out)
	}
	for _, r := range rows {
		if r.Current == nil || *r.Current < 10 || r.End == nil || *r.End != 15 || r.Lag == nil || *r.Lag != 15-*r.Current || r.ConsumerID == "" {
			t.Errorf("group describe row %+v: want a member, commit >= 10, end 15 and the lag between", r)
		}
	}
}

// gregorCLI runs the gregor command line against addr and returns its standard output.
func gregorCLI(t *testing.T, addr string, args ...string) string {
	t.Helper()
	root := &cobra.Command{Use: "gregor", SilenceUsage: true, SilenceErrors: true}
	cli.AddCommands(root)
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append(args, "--bootstrap-server", addr))
	if err := root.ExecuteContext(t.Context()); err != nil {
		t.Fatalf("gregor %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}
