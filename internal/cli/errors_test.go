package cli

import (
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

// TestCommandErrors checks, for every command, that a bad flag names the flag and what it
// wants, and that a topic, group or transactional id that does not exist is said plainly.
// Every command must have at least one case here (TestGoldenCoverage lists the commands).
func TestCommandErrors(t *testing.T) {
	addr := startBroker(t)
	mustGregor(t, addr, "", "topic", "create", "--topic", "t", "--partitions", "1")
	cases := []struct {
		args []string
		want string
		is   error // when set, the error must also unwrap to it
	}{
		{[]string{"topic", "create"}, "no topic: use --topic NAME", nil},
		{[]string{"topic", "create", "--topic", "x", "--partitions", "abc"}, `--partitions "abc": want an integer`, nil},
		{[]string{"topic", "create", "--topic", "x", "--partitions", "0"}, "--partitions 0: must be at least 1", nil},
		{[]string{"topic", "create", "--topic", "x", "--config", "nope"}, `--config "nope": want key=value`, nil},
		{[]string{"topic", "list", "--format", "yaml"}, `--format "yaml": want text or json`, nil},
		{[]string{"topic", "describe", "--topic", "nope"}, `topic "nope" does not exist`, kerr.UnknownTopicOrPartition},
		{[]string{"topic", "delete", "--topic", "nope"}, `topic "nope" does not exist`, kerr.UnknownTopicOrPartition},
		{[]string{"topic", "alter-config", "--topic", "nope", "--add-config", "retention.ms=1"}, `topic "nope" does not exist`, kerr.UnknownTopicOrPartition},
		{[]string{"topic", "alter-config", "--topic", "t"}, "nothing to change: use --add-config or --delete-config", nil},
		{[]string{"config", "describe", "--entity-type", "users", "--entity-name", "u"}, `--entity-type "users": want topics or brokers`, nil},
		{[]string{"config", "describe", "--entity-type", "topics", "--entity-name", "nope"}, `topic "nope" does not exist`, kerr.UnknownTopicOrPartition},
		{[]string{"config", "alter", "--entity-type", "topics", "--entity-name", "nope", "--add-config", "retention.ms=1"}, `topic "nope" does not exist`, kerr.UnknownTopicOrPartition},
		{[]string{"config", "alter", "--entity-type", "topics", "--entity-name", "t", "--add-config", "bad"}, `--add-config "bad": want key=value`, nil},
		{[]string{"produce"}, `required flag(s) "topic" not set`, nil},
		{[]string{"produce", "--topic", "t", "--acks", "2"}, `--acks "2": want all, -1, 1 or 0`, nil},
		{[]string{"produce", "--topic", "t", "--compression", "brotli"}, `--compression "brotli": want none, gzip, snappy, lz4 or zstd`, nil},
		{[]string{"consume", "--topic", "t", "--offset", "abc", "--partition", "0"}, `--offset "abc": want an offset (0 or more), earliest or latest`, nil},
		{[]string{"consume", "--topic", "t", "--max-messages", "-2"}, "--max-messages -2: may not be negative", nil},
		{[]string{"consume", "--topic", "t", "--timeout-ms", "soon"}, `--timeout-ms "soon": want an integer`, nil},
		{[]string{"group", "list", "--format", "xml"}, `--format "xml": want text or json`, nil},
		{[]string{"group", "describe", "nope"}, `group "nope" does not exist`, nil},
		{[]string{"group", "describe"}, "name a group with --group (or use --all-groups)", nil},
		{[]string{"group", "delete", "nope"}, `group "nope" does not exist`, kerr.GroupIDNotFound},
		{[]string{"group", "lag"}, "name the group: gregor group lag GROUP", nil},
		{[]string{"group", "lag", "g", "--interval", "often"}, `--interval "often": want a duration`, nil},
		{[]string{"group", "reset-offsets", "--group", "g", "--topic", "nope", "--to-earliest"}, `topic "nope" does not exist`, kerr.UnknownTopicOrPartition},
		{[]string{"group", "reset-offsets", "--group", "g", "--topic", "t"}, "give exactly one of --to-earliest, --to-latest", nil},
		{[]string{"group", "reset-offsets", "--group", "g", "--topic", "t", "--to-datetime", "yesterday"}, `--to-datetime "yesterday": want YYYY-MM-DDTHH:mm:SS`, nil},
		{[]string{"group", "delete-offsets", "--group", "nope", "--topic", "t"}, `group "nope" does not exist`, kerr.GroupIDNotFound},
		{[]string{"group", "delete-offsets", "--group", "g"}, "name the offsets to delete with --topic TOPIC", nil},
		{[]string{"records", "delete", "--topic", "t"}, "give --topic, --partition and --offset, or --offset-json-file", nil},
		{[]string{"records", "delete", "--topic", "nope", "--partition", "0", "--offset", "1"}, `partition "nope-0" does not exist`, kerr.UnknownTopicOrPartition},
		{[]string{"records", "delete", "--topic", "t", "--partition", "9", "--offset", "1"}, `partition "t-9" does not exist`, kerr.UnknownTopicOrPartition},
		{[]string{"records", "dump"}, "name at least one segment file", nil},
		{[]string{"records", "dump", "--max-bytes", "-1", "a.log"}, "--max-bytes: want a number of bytes above 0", nil},
		{[]string{"txn", "list", "--format", "csv"}, `--format "csv": want text or json`, nil},
		{[]string{"txn", "describe"}, "name at least 1 transactional id: gregor txn describe ID...", nil},
		{[]string{"txn", "describe", "nope"}, `transactional id "nope" does not exist`, kerr.TransactionalIDNotFound},
		{[]string{"user", "scram", "set", "--user", "a"}, "--user and --password are required", nil},
		{[]string{"user", "scram", "set", "--user", "a", "--password", "p", "--mechanism", "md5"}, `--mechanism "md5": want SCRAM-SHA-256 or SCRAM-SHA-512`, nil},
		{[]string{"user", "scram", "set", "--user", "a", "--password", "p", "--iterations", "many"}, `--iterations "many": want an integer`, nil},
		{[]string{"user", "scram", "describe", "--format", "yaml"}, `--format "yaml": want text or json`, nil},
		{[]string{"user", "scram", "delete", "--user", "nope"}, `user "nope" has no SCRAM-SHA-256 credential`, kerr.ResourceNotFound},
		{[]string{"verify", "producer"}, `required flag(s) "topic" not set`, nil},
		{[]string{"verify", "consumer", "--topic", "t"}, `required flag(s) "group-id" not set`, nil},
		{[]string{"verify", "consumer", "--topic", "t", "--group-id", "g", "--reset-policy", "middle"}, `--reset-policy "middle": want earliest or latest`, nil},
		{[]string{"perf", "produce", "--topic", "t"}, `required flag(s) "num-records" not set`, nil},
		{[]string{"perf", "produce", "--topic", "t", "--num-records", "1", "--throughput", "fast"}, `--throughput "fast": want a number`, nil},
		{[]string{"perf", "consume", "--topic", "t"}, "--messages: give the number of records to consume (more than 0)", nil},
		{[]string{"perf", "e2e", "--topic", "t", "--num-records", "1", "--record-size", "2"}, "--record-size 2: must be at least 8", nil},
		{[]string{"perf", "limits", "--net-mib", "x"}, `--net-mib "x": want an integer`, nil},
		{[]string{"cluster", "describe", "--format", "yaml"}, `--format "yaml": want text or json`, nil},
		{[]string{"topic", "reassign", "generate"}, "generate needs --topics-to-move-json-file and --broker-list", nil},
		{[]string{"topic", "reassign", "execute"}, "execute needs --reassignment-json-file", nil},
		{[]string{"topic", "reassign", "verify"}, "verify needs --reassignment-json-file", nil},
		{[]string{"topic", "reassign", "cancel"}, "cancel needs --reassignment-json-file", nil},
		{[]string{"topic", "reassign", "list", "--topic", "t"}, "unknown flag: --topic", nil},
		{[]string{"cluster", "elect-leaders", "--election-type", "RANDOM", "--all-topic-partitions"}, `Invalid election type "RANDOM": use PREFERRED or UNCLEAN`, nil},
		{[]string{"acl", "create", "--topic", "t"}, "name a principal: --allow-principal or --deny-principal", nil},
		{[]string{"acl", "create", "--allow-principal", "User:a", "--operation", "FLY", "--topic", "t"}, `--operation "FLY": want READ, WRITE`, nil},
		{[]string{"acl", "list", "--format", "yaml"}, `--format "yaml": want text or json`, nil},
		{[]string{"acl", "delete", "--topic", "t", "--resource-pattern-type", "WEIRD"}, `--resource-pattern-type "WEIRD": want LITERAL, PREFIXED, ANY or MATCH`, nil},
		{[]string{"quota", "set", "--add-config", "producer_byte_rate=1"}, "name an entity: --user, --user-default, --client-id, --client-default, --ip or --ip-default", nil},
		{[]string{"quota", "set", "--ip", "192.0.2.7", "--user", "a", "--add-config", "connection_creation_rate=1"}, "an IP quota stands alone: --ip and --ip-default exclude --user and --client-id", nil},
		{[]string{"quota", "set", "--ip", "nope", "--add-config", "connection_creation_rate=1"}, `--ip "nope": not an IP address`, nil},
		{[]string{"quota", "set", "--ip", "192.0.2.7", "--add-config", "producer_byte_rate=1"}, "Invalid configuration key producer_byte_rate", kerr.InvalidRequest},
		{[]string{"quota", "describe", "--ip", "192.0.2.7", "--ip-default"}, "--ip and --ip-default exclude each other", nil},
		{[]string{"quota", "set", "--user", "a", "--add-config", "nope"}, `--add-config "nope": want key=value`, nil},
		{[]string{"quota", "describe", "--format", "yaml"}, `--format "yaml": want text or json`, nil},
	}
	// The consumer waits for a topic that does not exist, as Kafka's does, saying so.
	_, stderr, err := gregor(t, addr, "", "consume", "--topic", "nope", "--max-messages", "1", "--timeout-ms", "200")
	if err != nil || !strings.Contains(stderr, `topic "nope" does not exist; waiting for it to be created`) {
		t.Errorf("consume of a topic that does not exist: %v, stderr %q", err, stderr)
	}
	covered := map[string]bool{}
	paths, _ := leafCommands()
	for _, tc := range cases {
		_, _, err := gregor(t, addr, "", tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("gregor %s: error %v, want it to say %q", strings.Join(tc.args, " "), err, tc.want)
		} else if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("gregor %s: error %v does not unwrap to %v", strings.Join(tc.args, " "), err, tc.is)
		}
		for _, p := range paths {
			if strings.HasPrefix("gregor "+strings.Join(tc.args, " ")+" ", p+" ") {
				covered[p] = true
			}
		}
	}
	for _, p := range paths {
		if !covered[p] {
			t.Errorf("%s has no case in TestCommandErrors", p)
		}
	}
}
