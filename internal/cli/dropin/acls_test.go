package dropin

import (
	"strings"
	"testing"

	"github.com/gregorhq/gregor/internal/clustertest"
)

func TestACLsAndQuotas(t *testing.T) {
	// The authorizer on, and the anonymous PLAINTEXT principal a super user, so the tools may
	// manage ACLs.
	n := clustertest.StartNode(t,
		"authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"super.users", "User:ANONYMOUS")
	addr := n.Addr()

	out, _ := mustKafka(t, "", "kafka-acls", "--bootstrap-server", addr, "--add", "--allow-principal", "User:alice",
		"--operation", "Read", "--operation", "Describe", "--topic", "orders")
	// The two ACLs of the resource, in either order, under Kafka's heading.
	if !strings.HasPrefix(out, "Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)`: \n \t(principal=User:alice") ||
		!strings.Contains(out, "(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)") ||
		!strings.Contains(out, "(principal=User:alice, host=*, operation=DESCRIBE, permissionType=ALLOW)") {
		t.Errorf("--add:\n%q", out)
	}
	mustKafka(t, "", "kafka-acls", "--bootstrap-server", addr, "--add", "--deny-principal", "User:*",
		"--operation", "Write", "--topic", "ord", "--resource-pattern-type", "prefixed")
	out, _ = mustKafka(t, "", "kafka-acls", "--bootstrap-server", addr, "--list", "--topic", "orders", "--resource-pattern-type", "match")
	if !strings.Contains(out, "name=ord, patternType=PREFIXED") || !strings.Contains(out, "name=orders, patternType=LITERAL") {
		t.Errorf("--list --resource-pattern-type match:\n%s", out)
	}
	out, _ = mustKafka(t, "", "kafka-acls", "--bootstrap-server", addr, "--remove", "--deny-principal", "User:*",
		"--operation", "Write", "--topic", "ord", "--resource-pattern-type", "prefixed", "--force")
	if !strings.HasPrefix(out, "Removed ACLs for resource `ResourcePattern(resourceType=TOPIC, name=ord, patternType=PREFIXED)`") {
		t.Errorf("--remove:\n%s", out)
	}
	out, _ = mustKafka(t, "", "kafka-acls", "--bootstrap-server", addr, "--list")
	if strings.Contains(out, "PREFIXED") || strings.Count(out, "principal=User:alice") != 2 {
		t.Errorf("--list after --remove:\n%s", out)
	}

	// Client quotas through kafka-configs.
	out, _ = mustKafka(t, "", "kafka-configs", "--bootstrap-server", addr, "--alter", "--entity-type", "clients",
		"--entity-name", "app", "--add-config", "producer_byte_rate=1048576,consumer_byte_rate=2097152")
	if out != "Completed updating config for client-id app.\n" {
		t.Errorf("alter clients: %q", out)
	}
	mustKafka(t, "", "kafka-configs", "--bootstrap-server", addr, "--alter", "--entity-type", "users",
		"--entity-name", "alice", "--add-config", "producer_byte_rate=1024")
	out, _ = mustKafka(t, "", "kafka-configs", "--bootstrap-server", addr, "--describe", "--entity-type", "clients", "--entity-name", "app")
	if want := "Quota configs for client-id=app are consumer_byte_rate=2097152.0, producer_byte_rate=1048576.0\n"; out != want {
		t.Errorf("describe clients: %q, want %q", out, want)
	}
	mustKafka(t, "", "kafka-configs", "--bootstrap-server", addr, "--alter", "--entity-type", "clients",
		"--entity-name", "app", "--delete-config", "consumer_byte_rate")
	out, _ = mustKafka(t, "", "kafka-configs", "--bootstrap-server", addr, "--describe", "--entity-type", "clients", "--entity-name", "app")
	if want := "Quota configs for client-id=app are producer_byte_rate=1048576.0\n"; out != want {
		t.Errorf("describe clients after delete: %q, want %q", out, want)
	}
	if _, _, err := kafka(t, "", "kafka-configs", "--bootstrap-server", addr, "--alter", "--entity-type", "clients",
		"--entity-name", "app", "--add-config", "producer_byte_rate=-1"); err == nil {
		t.Error("a negative quota was accepted")
	}
}
