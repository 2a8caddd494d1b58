package dropin

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gregorhq/gregor/internal/cli/internal/golden"
	"github.com/gregorhq/gregor/internal/clustertest"
)

// safetyTimeout bounds consumers that are expected to stop on --max-messages,
// so a broken broker fails the test instead of hanging it.
const safetyTimeout = "10000"

// kafka runs a drop-in tool with Kafka's arguments and stdin.
func kafka(t *testing.T, stdin string, tool string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = Run(t.Context(), tool, args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

// mustKafka is kafka that fails the test on error.
func mustKafka(t *testing.T, stdin string, tool string, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, err := kafka(t, stdin, tool, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\nstderr:\n%s", tool, strings.Join(args, " "), err, stderr)
	}
	return stdout, stderr
}

var (
	topicIDRe = regexp.MustCompile(`TopicId: [A-Za-z0-9_-]{22}`)
	memberRe  = regexp.MustCompile(`[A-Za-z0-9_.-]+-[0-9a-f]{8}-[0-9a-f-]{27}`)
)

// stable replaces what differs between runs (topic ids, the broker's address) in s.
func stable(s, addr string) string {
	s = topicIDRe.ReplaceAllString(s, "TopicId: TOPIC-ID")
	return strings.ReplaceAll(s, addr, "ADDR")
}

// startNode starts a node whose groups rebalance at once, and returns its address.
func startNode(t *testing.T) string {
	return clustertest.StartNode(t, "group.initial.rebalance.delay.ms", "0").Addr()
}

// TestSeedSession replays the seed session of the issue: create, list, describe, console
// produce with parse.key, console consume with print.key, describe the group.
func TestSeedSession(t *testing.T) {
	addr := startNode(t)
	bs := []string{"--bootstrap-server", addr}

	out, _ := mustKafka(t, "", "kafka-topics", append([]string{"--create", "--topic", "diff-ai", "--partitions", "4", "--replication-factor", "1"}, bs...)...)
	if out != "Created topic diff-ai.\n" {
		t.Fatalf("create: %q", out)
	}
	out, _ = mustKafka(t, "", "kafka-topics.sh", append([]string{"--list"}, bs...)...)
	golden.Assert(t, "seed_list.txt", []byte(out))
	out, _ = mustKafka(t, "", "kafka-topics", append([]string{"--describe", "--topic", "diff-ai"}, bs...)...)
	golden.Assert(t, "seed_describe.txt", []byte(stable(out, addr)))

	out, _ = mustKafka(t, "key1:value1\n", "kafka-console-producer", "--broker-list", addr, "--topic", "diff-ai",
		"--property", "parse.key=true", "--property", "key.separator=:")
	if out != "" {
		t.Fatalf("console producer printed %q, want nothing", out)
	}
	out, stderr := mustKafka(t, "", "kafka-console-consumer", append([]string{"--topic", "diff-ai", "--from-beginning",
		"--property", "print.key=true", "--property", "key.separator=:", "--max-messages", "1",
		"--group", "group1", "--timeout-ms", safetyTimeout}, bs...)...)
	if out != "key1:value1\n" || !strings.Contains(stderr, "Processed a total of 1 messages") {
		t.Fatalf("consume: stdout %q stderr %q", out, stderr)
	}
	out, _ = mustKafka(t, "", "kafka-consumer-groups", append([]string{"--describe", "--group", "group1"}, bs...)...)
	golden.Assert(t, "seed_groups_describe.txt", []byte(stable(out, addr)))

	out, _ = mustKafka(t, "", "kafka-verifiable-producer", append([]string{"--topic", "diff-ai", "--max-messages", "3"}, bs...)...)
	golden.Assert(t, "seed_verifiable_producer.txt", []byte(stableEvents(t, out)))
	out, _ = mustKafka(t, "", "kafka-verifiable-consumer", append([]string{"--topic", "diff-ai", "--max-messages", "3", "--group-id", "test-group"}, bs...)...)
	golden.Assert(t, "seed_verifiable_consumer.txt", []byte(stableEvents(t, out)))
}

var (
	timestampRe  = regexp.MustCompile(`"timestamp":\d+`)
	throughputRe = regexp.MustCompile(`"avg_throughput":[0-9.eE+-]+`)
	placedRe     = regexp.MustCompile(`"partition":\d+,"offset":\d+`)
	consumedRe   = regexp.MustCompile(`"count":\d+,"partitions":\[.*\]`)
	rangeRe      = regexp.MustCompile(`"count":(\d+),"minOffset"`)
	committedRe  = regexp.MustCompile(`"offsets":\[.*\]`)
)

// stableEvents normalises the JSON events of the verifiable tools: times and rates, and where
// records landed (a null key's partition is the producer's sticky choice) become placeholders;
// records_consumed and offsets_committed events, which come in as many rounds as fetches
// return, become one round, and the records consumed must add up to --max-messages.
func stableEvents(t *testing.T, out string) string {
	t.Helper()
	var (
		b        strings.Builder
		seen     = map[string]bool{} // the round's lines since the last other event
		consumed int
	)
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		line = timestampRe.ReplaceAllString(line, `"timestamp":TS`)
		line = throughputRe.ReplaceAllString(line, `"avg_throughput":RATE`)
		line = placedRe.ReplaceAllString(line, `"partition":P,"offset":O`)
		// As Kafka's, the event's count is the poll's, and its partitions' counts are what
		// was consumed of it within --max-messages.
		for _, m := range rangeRe.FindAllStringSubmatch(line, -1) {
			n, _ := strconv.Atoi(m[1])
			consumed += n
		}
		line = consumedRe.ReplaceAllString(line, `"count":N,"partitions":[...]`)
		line = committedRe.ReplaceAllString(line, `"offsets":[...]`)
		if !strings.Contains(line, "records_consumed") && !strings.Contains(line, "offsets_committed") {
			clear(seen)
		} else if seen[line] {
			continue
		}
		seen[line] = true
		b.WriteString(line + "\n")
	}
	if strings.Contains(out, "records_consumed") && consumed != 3 {
		t.Errorf("records_consumed partitions' counts add up to %d, want 3:\n%s", consumed, out)
	}
	return b.String()
}

// TestToolsGolden checks the text of the other tools against a real node.
func TestToolsGolden(t *testing.T) {
	addr := startNode(t)
	bs := []string{"--bootstrap-server", addr}
	run := func(stdin, tool string, args ...string) string {
		out, _ := mustKafka(t, stdin, tool, append(args, bs...)...)
		return stable(out, addr)
	}
	run("", "kafka-topics", "--create", "--topic", "orders", "--partitions", "2", "--config", "retention.ms=3600000", "--config", "cleanup.policy=delete")
	if out, _, err := kafka(t, "", "kafka-topics", append([]string{"--create", "--topic", "orders", "--if-not-exists"}, bs...)...); err != nil || out != "" {
		t.Fatalf("create --if-not-exists of an existing topic: %q %v", out, err)
	}
	run("", "kafka-topics", "--alter", "--topic", "orders", "--partitions", "3")
	// Keyed, so murmur2 places the records the same way every run.
	run("k1=a\nk2=b\nk3=c\nk4=d\nk5=e\nk6=f\n", "kafka-console-producer", "--topic", "orders", "--property", "parse.key=true", "--property", "key.separator==",
		"--producer-property", "acks=1", "--compression-codec", "lz4", "--request-required-acks", "-1")

	var all strings.Builder
	section := func(title, text string) { all.WriteString("== " + title + "\n" + text) }
	section("kafka-topics --describe", run("", "kafka-topics", "--describe", "--topic", "orders"))
	section("kafka-get-offsets", run("", "kafka-get-offsets", "--topic", "orders"))
	section("kafka-get-offsets --time -2 --partitions 0,2", run("", "kafka-get-offsets", "--topic", "orders", "--time", "-2", "--partitions", "0,2"))
	section("kafka-console-consumer --partition 0 --offset 0", run("", "kafka-console-consumer", "--topic", "orders",
		"--partition", "0", "--offset", "0", "--max-messages", "1", "--timeout-ms", safetyTimeout,
		"--property", "print.partition=true", "--property", "print.offset=true", "--property", "print.key=true",
		"--isolation-level", "read_committed"))
	section("kafka-configs --alter", run("", "kafka-configs", "--entity-type", "topics", "--entity-name", "orders", "--alter", "--add-config", "retention.ms=7200000"))
	section("kafka-configs --describe", run("", "kafka-configs", "--topic", "orders", "--describe"))
	section("kafka-configs --alter --entity-type ips", run("", "kafka-configs", "--entity-type", "ips", "--entity-name", "192.0.2.7", "--alter", "--add-config", "connection_creation_rate=10"))
	section("kafka-configs --alter --entity-type ips --entity-default", run("", "kafka-configs", "--entity-type", "ips", "--entity-default", "--alter", "--add-config", "connection_creation_rate=100"))
	section("kafka-configs --describe --entity-type ips", run("", "kafka-configs", "--entity-type", "ips", "--describe"))
	file := filepath.Join(t.TempDir(), "offsets.json")
	if err := os.WriteFile(file, []byte(`{"partitions":[{"topic":"orders","partition":0,"offset":-1}],"version":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	section("kafka-delete-records", run("", "kafka-delete-records", "--offset-json-file", file))
	// Four records are left after delete-records took partition 0's two.
	run("", "kafka-console-consumer", "--topic", "orders", "--group", "app", "--from-beginning", "--max-messages", "4", "--timeout-ms", safetyTimeout)
	section("kafka-consumer-groups --list", run("", "kafka-consumer-groups", "--list"))
	section("kafka-consumer-groups --reset-offsets --dry-run", run("", "kafka-consumer-groups", "--reset-offsets", "--group", "app", "--topic", "orders", "--to-earliest", "--dry-run"))
	section("kafka-consumer-groups --describe --state", memberRe.ReplaceAllString(run("", "kafka-consumer-groups", "--describe", "--group", "app", "--state"), "MEMBER"))
	run("", "kafka-topics", "--delete", "--topic", "orders")
	section("kafka-topics --list after --delete", run("", "kafka-topics", "--list", "--exclude-internal"))
	golden.Assert(t, "tools.txt", []byte(all.String()))

	// broker-api-versions lists whatever the broker serves, so check its shape, not every line.
	out := run("", "kafka-broker-api-versions")
	lines := strings.Split(out, "\n")
	if !regexp.MustCompile(`^ADDR \(id: \d+ rack: null\) -> \($`).MatchString(lines[0]) ||
		!strings.HasPrefix(lines[1], "\tProduce(0): ") || !strings.Contains(out, "\n\tApiVersions(18): 0 to ") ||
		!regexp.MustCompile(`\[usable: \d+\],\n`).MatchString(out) || !strings.HasSuffix(out, "]\n)\n") {
		t.Fatalf("broker-api-versions:\n%s", out)
	}
}

// TestFlagErrors checks that bad command lines name the flag at fault, without a broker; every
// tool has a case.
func TestFlagErrors(t *testing.T) {
	cases := []struct {
		tool string
		args []string
		want string
	}{
		{"kafka-topics", []string{"--bootstrap-server", "x:1", "--create"}, `Missing required argument "[topic]"`},
		{"kafka-topics", []string{"--bootstrap-server", "x:1"}, "exactly one action: --list, --describe, --create, --alter, --delete"},
		{"kafka-topics", []string{"--list", "--describe"}, "exactly one action"},
		{"kafka-topics", []string{"--list", "--nope"}, "--nope is not a recognized option"},
		{"kafka-topics", []string{"--list", "--topic"}, "option --topic requires an argument"},
		{"kafka-topics", []string{"--list", "-t", "x"}, `unexpected argument "-t"`},
		{"kafka-topics", []string{"--list", "--partitions", "3"}, `Option "[partitions]" can't be used with "[list]"`},
		{"kafka-topics", []string{"--list"}, `Missing required argument "[bootstrap-server]"`},
		{"kafka-topics", []string{"--bootstrap-server", "x:1", "--alter", "--topic", "t"}, `Missing required argument "[partitions]"`},
		{"kafka-console-producer", []string{"--bootstrap-server", "x:1"}, `Missing required argument "[topic]"`},
		{"kafka-console-producer", []string{"--bootstrap-server", "x:1", "--topic", "t", "--producer-property", "partitioner.class=my.Partitioner"}, "partitioner.class my.Partitioner: Gregor's console producer knows org.apache.kafka.clients.producer.RoundRobinPartitioner"},
		{"kafka-console-consumer", []string{"--bootstrap-server", "x:1", "--topic", "t", "--isolation-level", "dirty"}, "--isolation-level"},
		{"kafka-console-consumer", []string{"--bootstrap-server", "x:1", "--topic", "t", "--max-messages", "-1"}, "--max-messages"},
		{"kafka-consumer-groups", []string{"--bootstrap-server", "x:1", "--describe"}, `Missing required argument "[group]"`},
		{"kafka-consumer-groups", []string{"--bootstrap-server", "x:1", "--list", "--to-earliest"}, `Option "[to-earliest]" can't be used with "[list]"`},
		{"kafka-configs", []string{"--bootstrap-server", "x:1", "--describe"}, `Missing required argument "[entity-type]"`},
		{"kafka-configs", []string{"--bootstrap-server", "x:1", "--describe", "--add-config", "a=b", "--topic", "t"}, `Option "[add-config]" can't be used with "[describe]"`},
		{"kafka-configs", []string{"--bootstrap-server", "x:1", "--alter", "--entity-type", "ips", "--add-config", "connection_creation_rate=1"}, "an entity name or --entity-default must be specified with --alter of ips"},
		{"kafka-configs", []string{"--bootstrap-server", "x:1", "--alter", "--entity-type", "ips", "--entity-name", "nope", "--add-config", "connection_creation_rate=1"}, `--ip "nope": not an IP address`},
		{"kafka-delete-records", []string{"--bootstrap-server", "x:1"}, `Missing required argument "[offset-json-file]"`},
		{"kafka-get-offsets", []string{"--bootstrap-server", "x:1", "--partitions", "a"}, "option --partitions"},
		{"kafka-dump-log", nil, `Missing required argument "[files]"`},
		{"kafka-dump-log", []string{"--files", ","}, "option --files: want a comma-separated list"},
		{"kafka-dump-log", []string{"--files", "a.log", "--max-bytes", "x"}, `option --max-bytes: "x" is not an integer`},
		{"kafka-dump-log", []string{"--files", "a.log", "--max-bytes", "0"}, "option --max-bytes: want a number of bytes above 0"},
		{"kafka-dump-log", []string{"--files", "a.log", "--value-decoder-class", "my.Decoder"}, `option --value-decoder-class: "my.Decoder" is not a decoder Gregor has`},
		{"kafka-dump-log", []string{"--files", "a.log", "--offsets-decoder", "--transaction-log-decoder"}, "give one of them, not both"},
		{"kafka-broker-api-versions", nil, `Missing required argument "[bootstrap-server]"`},
		{"kafka-producer-perf-test", []string{"--topic", "t"}, `Missing required argument "[num-records]"`},
		{"kafka-producer-perf-test", []string{"--bootstrap-server", "x:1", "--topic", "t", "--num-records", "x", "--record-size", "1", "--throughput", "-1"}, `--num-records "x": want an integer`},
		{"kafka-consumer-perf-test", []string{"--bootstrap-server", "x:1", "--topic", "t", "--messages", "x"}, `--messages "x": want an integer`},
		{"kafka-verifiable-producer", []string{"--bootstrap-server", "x:1"}, `Missing required argument "[topic]"`},
		{"kafka-verifiable-producer", []string{"--bootstrap-server", "x:1", "--topic", "t", "--acks", "x"}, `--acks "x": want an integer`},
		{"kafka-verifiable-consumer", []string{"--bootstrap-server", "x:1", "--topic", "t"}, `Missing required argument "[group-id]"`},
		{"kafka-transactions", []string{"--bootstrap-server", "x:1"}, "name a command: list or describe"},
		{"kafka-acls", []string{"--bootstrap-server", "x:1"}, "Command must include exactly one action: --add, --remove, --list"},
		{"kafka-acls", []string{"--bootstrap-server", "x:1", "--add", "--topic", "t"}, "name a principal: --allow-principal or --deny-principal"},
		{"kafka-share-groups", []string{"--bootstrap-server", "x:1", "--reset-offsets", "--topic", "t"}, `Missing required argument "[group]"`},
		{"kafka-share-groups", []string{"--bootstrap-server", "x:1", "--list", "--to-earliest"}, `Option "[to-earliest]" can't be used with "[list]"`},
		{"kafka-reassign-partitions", []string{"--bootstrap-server", "x:1"}, "Command must include exactly one action: --generate, --execute, --verify, --cancel, or --list"},
		{"kafka-leader-election", []string{"--bootstrap-server", "x:1"}, "Missing required option(s) [election-type]"},
		{"kafka-nope", nil, "not a Kafka tool"},
	}
	covered := map[string]bool{}
	for _, tc := range cases {
		_, _, err := kafka(t, "", tc.tool, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: error %v, want it to mention %q", tc.tool, tc.args, err, tc.want)
		}
		covered[tc.tool] = true
	}
	for _, n := range Names() {
		if !covered[n] {
			t.Errorf("%s has no case in TestFlagErrors", n)
		}
	}
	out, _ := mustKafka(t, "", "kafka-topics", "--help")
	if !strings.Contains(out, "--bootstrap-server <value>") || !strings.Contains(out, "--if-not-exists") {
		t.Fatalf("--help:\n%s", out)
	}
}

// TestUnknownNames checks that the tools say plainly that a topic, group or transactional id
// does not exist, and print no table for it.
func TestUnknownNames(t *testing.T) {
	addr := startNode(t)
	for _, tc := range []struct {
		tool string
		args []string
		want string
	}{
		{"kafka-topics", []string{"--describe", "--topic", "nope"}, "Topic 'nope' does not exist as expected"},
		{"kafka-topics", []string{"--delete", "--topic", "nope"}, "Topic 'nope' does not exist as expected"},
		{"kafka-consumer-groups", []string{"--describe", "--group", "nope"}, `group "nope" does not exist`},
		{"kafka-consumer-groups", []string{"--delete", "--group", "nope"}, `group "nope" does not exist`},
		{"kafka-configs", []string{"--describe", "--entity-type", "topics", "--entity-name", "nope"}, `topic "nope" does not exist`},
		{"kafka-transactions", []string{"describe", "--transactional-id", "nope"}, `transactional id "nope" does not exist`},
		{"kafka-get-offsets", []string{"--topic", "nope"}, "Could not match any topic-partitions with the specified filters"},
	} {
		out, _, err := kafka(t, "", tc.tool, append(tc.args, "--bootstrap-server", addr)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || out != "" {
			t.Errorf("%s %v: error %v, stdout %q; want the error to say %q and no output", tc.tool, tc.args, err, out, tc.want)
		}
	}
}

// TestConsoleProducerProperties maps Kafka's producer properties onto gregor produce:
// RoundRobinPartitioner spreads one key over every partition, and enable.idempotence=true with
// acks=1 is refused as Kafka's producer refuses it.
func TestConsoleProducerProperties(t *testing.T) {
	addr := startNode(t)
	bs := []string{"--bootstrap-server", addr}
	mustKafka(t, "", "kafka-topics", append(bs, "--create", "--topic", "rr", "--partitions", "2")...)
	mustKafka(t, strings.Repeat("k:v\n", 4), "kafka-console-producer", append(bs, "--topic", "rr",
		"--property", "parse.key=true", "--property", "key.separator=:",
		"--producer-property", "partitioner.class=org.apache.kafka.clients.producer.RoundRobinPartitioner")...)
	out, _ := mustKafka(t, "", "kafka-console-consumer", append(bs, "--topic", "rr", "--from-beginning",
		"--max-messages", "4", "--timeout-ms", safetyTimeout, "--property", "print.partition=true")...)
	if p0, p1 := strings.Count(out, "Partition:0"), strings.Count(out, "Partition:1"); p0 != 2 || p1 != 2 {
		t.Errorf("round robin: %d records on partition 0 and %d on 1, want 2 and 2:\n%s", p0, p1, out)
	}
	_, _, err := kafka(t, "x\n", "kafka-console-producer", append(bs, "--topic", "rr",
		"--producer-property", "acks=1", "--producer-property", "enable.idempotence=true")...)
	if err == nil || !strings.Contains(err.Error(), "--idempotent needs --acks all") {
		t.Errorf("acks=1 with enable.idempotence=true: err = %v", err)
	}
}

// TestAliases runs the built binary through the symlinks install-aliases writes.
func TestAliases(t *testing.T) {
	bin := clustertest.Binary(t)
	dir := t.TempDir()
	var first, second bytes.Buffer
	if err := InstallAliases(dir, bin, &first); err != nil {
		t.Fatal(err)
	}
	if err := InstallAliases(dir, bin, &second); err != nil || second.Len() != 0 {
		t.Fatalf("second install: %v, wrote %q; want nothing to do", err, second.String())
	}
	for _, n := range Names() {
		for _, name := range []string{n, n + ".sh"} {
			if target, err := os.Readlink(filepath.Join(dir, name)); err != nil || target != bin {
				t.Fatalf("%s: %q %v", name, target, err)
			}
		}
	}
	// A plain file of a tool's name is left alone and reported.
	plain := t.TempDir()
	if err := os.WriteFile(filepath.Join(plain, "kafka-configs"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := InstallAliases(plain, bin, io.Discard); err == nil || !strings.Contains(err.Error(), "is not a symlink") {
		t.Fatalf("install over a plain file: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(plain, "kafka-configs")); err != nil || string(b) != "#!/bin/sh\n" {
		t.Fatalf("plain file changed: %q %v", b, err)
	}

	addr := startNode(t)
	cmd := exec.Command(filepath.Join(dir, "kafka-topics.sh"), "--bootstrap-server", addr, "--create", "--topic", "via-link", "--partitions", "1")
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "Created topic via-link.\n" {
		t.Fatalf("kafka-topics.sh --create: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "kafka-topics", "--bootstrap-server", addr, "--list", "--exclude-internal").CombinedOutput()
	if err != nil || string(out) != "via-link\n" {
		t.Fatalf("gregor kafka-topics --list: %v\n%s", err, out)
	}
	out, err = exec.Command(filepath.Join(dir, "kafka-topics"), "--bootstrap-server", addr, "--bogus").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "kafka-topics: --bogus is not a recognized option") {
		t.Fatalf("kafka-topics --bogus: %v\n%s", err, out)
	}
}

func TestConfigsUsersScram(t *testing.T) {
	addr := startNode(t)
	out, _ := mustKafka(t, "", "kafka-configs", "--bootstrap-server", addr, "--alter", "--entity-type", "users", "--entity-name", "alice",
		"--add-config", "SCRAM-SHA-256=[iterations=8192,password=alice-secret],SCRAM-SHA-512=[password=alice-secret]")
	if out != "Completed updating config for user alice.\n" {
		t.Errorf("alter: %q", out)
	}
	out, _ = mustKafka(t, "", "kafka-configs", "--bootstrap-server", addr, "--describe", "--entity-type", "users")
	if want := "SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-256=iterations=8192, SCRAM-SHA-512=iterations=4096\n"; out != want {
		t.Errorf("describe: %q, want %q", out, want)
	}
	mustKafka(t, "", "kafka-configs", "--bootstrap-server", addr, "--alter", "--entity-type", "users", "--entity-name", "alice", "--delete-config", "SCRAM-SHA-512")
	out, _ = mustKafka(t, "", "kafka-configs", "--bootstrap-server", addr, "--describe", "--entity-type", "users", "--entity-name", "alice")
	if want := "SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-256=iterations=8192\n"; out != want {
		t.Errorf("describe after delete: %q, want %q", out, want)
	}
	if _, _, err := kafka(t, "", "kafka-configs", "--bootstrap-server", addr, "--alter", "--entity-type", "users", "--entity-name", "bob", "--add-config", "SCRAM-SHA-256=[iterations=1]"); err == nil {
		t.Error("a SCRAM config without a password was accepted")
	}
}

func TestSecurityConfigFiles(t *testing.T) {
	n := clustertest.StartNode(t,
		"listeners", "SASL_PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config",
		`org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-secret";`,
		"inter.broker.listener.name", "SASL_PLAINTEXT",
		"connection.failed.authentication.delay.ms", "0")
	addr := n.ListenerAddr("SASL_PLAINTEXT")
	cfg := filepath.Join(t.TempDir(), "client.properties")
	props := "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n" +
		`sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret";` + "\n"
	if err := os.WriteFile(cfg, []byte(props), 0o600); err != nil {
		t.Fatal(err)
	}
	mustKafka(t, "", "kafka-topics", "--bootstrap-server", addr, "--create", "--topic", "sec", "--partitions", "1", "--command-config", cfg)
	mustKafka(t, "one\ntwo\n", "kafka-console-producer", "--bootstrap-server", addr, "--topic", "sec", "--producer.config", cfg)
	out, _ := mustKafka(t, "", "kafka-console-consumer", "--bootstrap-server", addr, "--topic", "sec", "--from-beginning",
		"--max-messages", "2", "--timeout-ms", safetyTimeout, "--consumer.config", cfg)
	if out != "one\ntwo\n" {
		t.Errorf("consumed %q", out)
	}
	out, _ = mustKafka(t, "", "kafka-topics", "--bootstrap-server", addr, "--list", "--command-config", cfg)
	if !strings.Contains(out, "sec") {
		t.Errorf("list: %q", out)
	}
	if _, _, err := kafka(t, "", "kafka-topics", "--bootstrap-server", addr, "--list"); err == nil {
		t.Error("kafka-topics without credentials listed topics on a SASL listener")
	}
}
