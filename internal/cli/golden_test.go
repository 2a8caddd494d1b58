package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/cli/internal/golden"
	"github.com/gregorhq/gregor/internal/clustertest"
)

// goldenCommands is every leaf command of the tree and the golden files its output is checked
// against: "text" for the table, "json" for --format json (every command that has the flag
// must have both). A command whose golden lives in its own package, or that prints nothing
// fit for a golden file, says where or why instead. TestGoldenCoverage fails when a command
// is missing here, so a new command cannot go without its golden file unnoticed.
var goldenCommands = map[string]struct {
	text, json string
	elsewhere  string
}{
	"gregor topic create":            {text: "topic_create.txt"},
	"gregor topic list":              {text: "topic_list.txt", json: "topic_list.json"},
	"gregor topic describe":          {text: "topic_describe.txt", json: "topic_describe.json"},
	"gregor topic alter-config":      {text: "topic_alter_config.txt"},
	"gregor topic delete":            {text: "topic_delete.txt"},
	"gregor config describe":         {text: "config_describe.txt", json: "config_describe.json"},
	"gregor config alter":            {text: "config_alter.txt"},
	"gregor produce":                 {text: "produce.txt"},
	"gregor consume":                 {text: "consume.txt"},
	"gregor group list":              {text: "group_list.txt", json: "group_list.json"},
	"gregor group describe":          {text: "group_describe.txt", json: "group_describe.json"},
	"gregor group lag":               {text: "group_lag.txt", json: "group_lag.json"},
	"gregor group reset-offsets":     {text: "group_reset_offsets.txt", json: "group_reset_offsets.json"},
	"gregor group delete-offsets":    {text: "group_delete_offsets.txt", json: "group_delete_offsets.json"},
	"gregor group delete":            {text: "group_delete.txt"},
	"gregor records delete":          {text: "records_delete.txt", json: "records_delete.json"},
	"gregor records dump":            {elsewhere: "records/testdata/dump_*.txt (offline files; TestDumpDataLog, TestDumpInternalTopics)"},
	"gregor txn list":                {text: "txn_list.txt", json: "txn_list.json"},
	"gregor txn describe":            {text: "txn_describe.txt", json: "txn_describe.json"},
	"gregor user scram set":          {text: "user_scram_set.txt"},
	"gregor user scram describe":     {text: "user_scram_describe.txt", json: "user_scram_describe.json"},
	"gregor user scram delete":       {text: "user_scram_delete.txt"},
	"gregor verify producer":         {text: "verify_producer.txt"},
	"gregor verify consumer":         {text: "verify_consumer.txt"},
	"gregor perf produce":            {text: "perf_produce.txt", json: "perf_produce.json"},
	"gregor perf consume":            {text: "perf_consume.txt", json: "perf_consume.json"},
	"gregor perf e2e":                {text: "perf_e2e.txt", json: "perf_e2e.json"},
	"gregor perf limits":             {text: "perf_limits.txt", json: "perf_limits.json"},
	"gregor cluster describe":        {text: "cluster_describe.txt", json: "cluster_describe.json"},
	"gregor topic reassign generate": {elsewhere: "dropin/testdata/reassign.txt: the same command prints Kafka's text (TestReassignAndElectionTools)"},
	"gregor topic reassign execute":  {elsewhere: "dropin/testdata/reassign.txt (TestReassignAndElectionTools)"},
	"gregor topic reassign verify":   {elsewhere: "dropin/testdata/reassign.txt (TestReassignAndElectionTools)"},
	"gregor topic reassign cancel":   {elsewhere: "dropin/testdata/reassign.txt (TestReassignAndElectionTools)"},
	"gregor topic reassign list":     {elsewhere: "dropin/testdata/reassign.txt (TestReassignAndElectionTools)"},
	"gregor cluster elect-leaders":   {elsewhere: "dropin/testdata/reassign.txt: kafka-leader-election runs it (TestReassignAndElectionTools)"},
	"gregor acl create":              {text: "acl_create.txt"},
	"gregor acl list":                {text: "acl_list.txt", json: "acl_list.json"},
	"gregor acl delete":              {text: "acl_delete.txt", json: "acl_delete.json"},
	"gregor quota set":               {text: "quota_set.txt"},
	"gregor quota describe":          {text: "quota_describe.txt", json: "quota_describe.json"},
}

// leafCommands walks the tree AddCommands builds and returns its leaf commands' paths, and
// which of them take --format.
func leafCommands() (paths []string, formats map[string]bool) {
	root := &cobra.Command{Use: "gregor"}
	AddCommands(root)
	formats = map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if !c.HasSubCommands() {
			paths = append(paths, c.CommandPath())
			formats[c.CommandPath()] = c.Flags().Lookup("format") != nil
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	sort.Strings(paths)
	return paths, formats
}

func TestGoldenCoverage(t *testing.T) {
	paths, formats := leafCommands()
	for _, p := range paths {
		g, ok := goldenCommands[p]
		switch {
		case !ok:
			t.Errorf("%s has no entry in goldenCommands: add its golden file", p)
		case g.elsewhere != "":
		case g.text == "":
			t.Errorf("%s has no text golden file", p)
		case formats[p] && g.json == "":
			t.Errorf("%s takes --format json but has no JSON golden file", p)
		}
	}
	for p := range goldenCommands {
		if _, ok := formats[p]; !ok {
			t.Errorf("goldenCommands lists %s, which is not a command", p)
		}
	}
}

var (
	topicIDTextRe = regexp.MustCompile(`TopicId: [A-Za-z0-9_-]{22}`)
	topicIDJSONRe = regexp.MustCompile(`"topic_id": "[A-Za-z0-9_-]{22}"`)
	memberIDRe    = regexp.MustCompile(`[A-Za-z0-9_.-]+-[0-9a-f]{8}-[0-9a-f-]{27}`)
	epochMsRe     = regexp.MustCompile(`(^|[^.0-9])1[0-9]{12}\b`) // not a fraction's digits
	throughputRe  = regexp.MustCompile(`"avg_throughput":[0-9.eE+-]+`)
	// numberRe is a number that is not part of a name (p99_ms, fdatasync_1mib).
	numberRe   = regexp.MustCompile(`(^|[^A-Za-z_0-9.])-?[0-9]+(\.[0-9]+)?`)
	datetimeRe = regexp.MustCompile(`[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}([:.][0-9]+)?Z?`)
	// txnDurationRe is txn describe's DURATION-MS cell, after START-MS (a time) and the padding.
	txnDurationTextRe = regexp.MustCompile(`(TTTTTTTTTTTTT  )[0-9]+ +`)
	txnDurationJSONRe = regexp.MustCompile(`"duration_ms": [0-9]+`)
)

// stableOutput replaces what differs between runs: the broker's address, topic ids, member
// ids, wall-clock times (by a placeholder of the same width, so tables stay aligned) and
// rates.
func stableOutput(s, addr string) string {
	s = strings.ReplaceAll(s, addr, "ADDR")
	s = topicIDTextRe.ReplaceAllString(s, "TopicId: TOPIC-ID")
	s = topicIDJSONRe.ReplaceAllString(s, `"topic_id": "TOPIC-ID"`)
	s = memberIDRe.ReplaceAllString(s, "MEMBER-ID")
	s = throughputRe.ReplaceAllString(s, `"avg_throughput":RATE`)
	return epochMsRe.ReplaceAllString(s, "${1}TTTTTTTTTTTTT")
}

// measured replaces every number: the perf commands' output is measurements.
func measured(s string) string {
	return numberRe.ReplaceAllString(datetimeRe.ReplaceAllString(s, "DATETIME"), "${1}N")
}

var (
	consumedRe  = regexp.MustCompile(`"count":[0-9]+,"partitions":\[.*\]`)
	committedRe = regexp.MustCompile(`"offsets":\[.*\]`)
)

// consumerEvents makes the verifiable consumer's events stable: records_consumed and
// offsets_committed events come in as many rounds as fetches return, so their contents become
// placeholders and the rounds one round.
func consumerEvents(s string) string {
	var b strings.Builder
	seen := map[string]bool{} // the round's lines since the last other event
	for _, line := range strings.SplitAfter(s, "\n") {
		line = consumedRe.ReplaceAllString(line, `"count":N,"partitions":[...]`)
		line = committedRe.ReplaceAllString(line, `"offsets":[...]`)
		if !strings.Contains(line, `"records_consumed"`) && !strings.Contains(line, `"offsets_committed"`) {
			clear(seen)
		} else if seen[line] {
			continue
		}
		seen[line] = true
		b.WriteString(line)
	}
	return b.String()
}

// clusterDescribe replaces what cluster describe shows of this run: the cluster id and the
// broker's port (by a placeholder of the same width, so the table stays aligned).
func clusterDescribe(addr string) func(string) string {
	_, port, _ := strings.Cut(addr, ":")
	portTextRe := regexp.MustCompile(`\b` + port + `\b`)
	return func(s string) string {
		s = clusterIDTextRe.ReplaceAllString(s, "${1}CLUSTER-ID")
		s = clusterIDJSONRe.ReplaceAllString(s, `"cluster_id": "CLUSTER-ID"`)
		return portTextRe.ReplaceAllString(s, strings.Repeat("P", len(port)))
	}
}

var (
	clusterIDTextRe = regexp.MustCompile(`(CLUSTER +)[A-Za-z0-9_-]{22}`)
	clusterIDJSONRe = regexp.MustCompile(`"cluster_id": "[A-Za-z0-9_-]{22}"`)
)

// txnDuration replaces txn describe's duration, which is wall-clock time.
func txnDuration(s string) string {
	s = txnDurationTextRe.ReplaceAllString(s, "${1}D            ")
	return txnDurationJSONRe.ReplaceAllString(s, `"duration_ms": D`)
}

// TestCommandsGolden runs every command against a real node, in an order that gives each one
// something to show, and checks its text and JSON output against testdata/commands.
func TestCommandsGolden(t *testing.T) {
	// The authorizer is on (the acl commands need it) and the tests' anonymous client is a
	// super user, so every other command works as without it.
	n := clustertest.StartNode(t, "group.initial.rebalance.delay.ms", "0",
		"authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"super.users", "User:ANONYMOUS")
	addr := n.Addr()
	ran := map[string]bool{}
	// check runs a command and compares its output (and its --format json output, when the
	// table has a JSON golden for it), made stable and then passed through fix when given,
	// with the golden files; stdin feeds both runs.
	check := func(fix func(string) string, stdin string, args ...string) {
		t.Helper()
		root := &cobra.Command{Use: "gregor"}
		AddCommands(root)
		c, _, err := root.Find(args)
		if err != nil {
			t.Fatal(err)
		}
		path := c.CommandPath()
		g, ok := goldenCommands[path]
		if !ok || g.text == "" {
			t.Fatalf("%s: no golden file in goldenCommands", path)
		}
		ran[path] = true
		run := func(args ...string) string {
			t.Helper()
			if c.Flag("bootstrap-server") != nil {
				out, _ := mustGregor(t, addr, stdin, args...)
				return out
			}
			root := &cobra.Command{Use: "gregor", SilenceUsage: true, SilenceErrors: true}
			AddCommands(root)
			var out, errOut bytes.Buffer
			root.SetOut(&out)
			root.SetErr(&errOut)
			root.SetArgs(args)
			if err := root.ExecuteContext(t.Context()); err != nil {
				t.Fatalf("gregor %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
			}
			return out.String()
		}
		stable := func(out string) []byte {
			out = stableOutput(out, addr)
			if fix != nil {
				out = fix(out)
			}
			return []byte(out)
		}
		golden.Assert(t, filepath.Join("commands", g.text), stable(run(args...)))
		if g.json != "" {
			golden.Assert(t, filepath.Join("commands", g.json), stable(run(append(args, "--format", "json")...)))
		}
	}

	check(nil, "", "topic", "create", "--topic", "orders", "--partitions", "3", "--config", "retention.ms=3600000")
	check(nil, "", "topic", "list")
	check(nil, "", "topic", "alter-config", "--topic", "orders", "--add-config", "retention.ms=7200000")
	check(nil, "", "topic", "describe", "--topic", "orders")
	check(nil, "", "config", "alter", "--entity-type", "topics", "--entity-name", "orders", "--add-config", "segment.ms=600000")
	check(nil, "", "config", "describe", "--entity-type", "topics", "--entity-name", "orders")
	// Keyed, so murmur2 places the records the same way every run.
	check(nil, "k1:a\nk2:b\nk3:c\nk4:d\nk5:e\nk6:f\n", "produce", "--topic", "orders", "--property", "parse.key=true", "--property", "key.separator=:")
	check(nil, "", "consume", "--topic", "orders", "--partition", "0", "--offset", "earliest", "--max-messages", "1",
		"--timeout-ms", safetyTimeout, "--property", "print.key=true", "--property", "print.offset=true")
	mustGregor(t, addr, "", "consume", "--topic", "orders", "--group", "app", "--from-beginning", "--max-messages", "6", "--timeout-ms", safetyTimeout)
	check(nil, "", "group", "list")
	check(nil, "", "group", "describe", "app")
	check(nil, "", "group", "lag", "app", "--admin-url", n.AdminURL())
	check(nil, "", "group", "reset-offsets", "--group", "app", "--topic", "orders", "--to-earliest", "--dry-run")
	check(nil, "", "group", "delete-offsets", "--group", "app", "--topic", "orders:2")
	check(nil, "", "records", "delete", "--topic", "orders", "--partition", "0", "--offset", "1")
	check(nil, "", "group", "delete", "app")

	// A committed transaction for txn list and describe.
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.TransactionalID("tx-1"), kgo.DefaultProduceTopic("orders"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte("k1"), Value: []byte("t")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	// EndTxn answers once PrepareCommit is written; the markers and CompleteCommit follow.
	adm := kadm.NewClient(cl)
	clustertest.WaitFor(t, 30*time.Second, "tx-1 in CompleteCommit", func() bool {
		d, err := adm.DescribeTransactions(ctx, "tx-1")
		return err == nil && d["tx-1"].State == "CompleteCommit"
	})
	check(nil, "", "txn", "list")
	check(clusterDescribe(addr), "", "cluster", "describe")
	check(txnDuration, "", "txn", "describe", "tx-1")

	check(nil, "", "user", "scram", "set", "--user", "alice", "--password", "alice-secret", "--iterations", "8192")
	check(nil, "", "user", "scram", "describe", "--user", "alice")
	check(nil, "", "user", "scram", "delete", "--user", "alice")

	check(nil, "", "acl", "create", "--allow-principal", "User:alice", "--operation", "READ", "--operation", "DESCRIBE", "--topic", "orders")
	check(nil, "", "acl", "list", "--topic", "orders")
	check(nil, "", "acl", "delete", "--allow-principal", "User:alice", "--operation", "READ", "--operation", "DESCRIBE", "--topic", "orders")
	check(nil, "", "quota", "set", "--user", "alice", "--add-config", "producer_byte_rate=1048576,consumer_byte_rate=2097152")
	mustGregor(t, addr, "", "quota", "set", "--ip", "192.0.2.7", "--add-config", "connection_creation_rate=10")
	check(nil, "", "quota", "describe")

	mustGregor(t, addr, "", "topic", "create", "--topic", "v", "--partitions", "1")
	check(nil, "", "verify", "producer", "--topic", "v", "--max-messages", "3", "--repeating-keys", "2")
	check(consumerEvents, "", "verify", "consumer", "--topic", "v", "--group-id", "vg", "--max-messages", "3")

	check(measured, "", "perf", "produce", "--topic", "v", "--num-records", "20", "--record-size", "10", "--throughput", "-1")
	check(measured, "", "perf", "consume", "--topic", "v", "--messages", "20", "--group", "pg", "--timeout", safetyTimeout)
	check(measured, "", "perf", "e2e", "--topic", "v", "--num-records", "5", "--throughput", "-1", "--timeout", safetyTimeout)
	check(measured, "", "perf", "limits", "--dir", t.TempDir(), "--net-mib", "1", "--disk-mib", "1", "--sync-writes", "1")

	check(nil, "", "topic", "delete", "--topic", "v")

	for p, g := range goldenCommands {
		if g.elsewhere == "" && !ran[p] {
			t.Errorf("%s was not run against its golden file", p)
		}
	}
}
