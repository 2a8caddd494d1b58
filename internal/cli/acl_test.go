package cli

import (
	"strings"
	"testing"

	"github.com/gregorhq/gregor/internal/clustertest"
)

func TestACLAndQuotaCommands(t *testing.T) {
	n := clustertest.StartNode(t,
		"authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"super.users", "User:ANONYMOUS")
	addr := n.Addr()

	out, _ := mustGregor(t, addr, "", "acl", "create", "--allow-principal", "User:alice", "--operation", "READ",
		"--topic", "orders", "--group", "billing")
	if out != "Created 2 ACL(s).\n" {
		t.Errorf("create: %q", out)
	}
	out, _ = mustGregor(t, addr, "", "acl", "list", "--topic", "orders")
	want := "RESOURCE-TYPE  RESOURCE-NAME  PATTERN  PRINCIPAL   HOST  OPERATION  PERMISSION\n" +
		"TOPIC          orders         LITERAL  User:alice  *     READ       ALLOW\n"
	if out != want {
		t.Errorf("list --topic orders:\n%s\nwant\n%s", out, want)
	}
	if _, _, err := gregor(t, addr, "", "acl", "create", "--allow-principal", "alice", "--topic", "x"); err == nil {
		t.Error("a principal without a type was accepted")
	}
	out, _ = mustGregor(t, addr, "", "acl", "delete", "--group", "billing", "--format", "json")
	if !strings.Contains(out, `"resource_name": "billing"`) {
		t.Errorf("delete --group billing: %s", out)
	}
	out, _ = mustGregor(t, addr, "", "acl", "list", "--format", "json")
	if strings.Contains(out, "billing") || !strings.Contains(out, "orders") {
		t.Errorf("list after delete: %s", out)
	}

	mustGregor(t, addr, "", "quota", "set", "--user", "alice", "--client-id", "app", "--add-config", "producer_byte_rate=1024")
	mustGregor(t, addr, "", "quota", "set", "--client-default", "--add-config", "consumer_byte_rate=2048")
	out, _ = mustGregor(t, addr, "", "quota", "describe")
	want = "ENTITY                    QUOTA               VALUE\n" +
		"client-id=<default>       consumer_byte_rate  2048\n" +
		"user=alice,client-id=app  producer_byte_rate  1024\n"
	if out != want {
		t.Errorf("quota describe:\n%s\nwant\n%s", out, want)
	}
	if _, _, err := gregor(t, addr, "", "quota", "set", "--user", "alice", "--add-config", "bogus_rate=1"); err == nil {
		t.Error("an unknown quota key was accepted")
	}

	// Connection quotas by IP: set, described alone, the default, and removed.
	mustGregor(t, addr, "", "quota", "set", "--ip", "192.0.2.7", "--add-config", "connection_creation_rate=10")
	mustGregor(t, addr, "", "quota", "set", "--ip-default", "--add-config", "connection_creation_rate=100")
	out, _ = mustGregor(t, addr, "", "quota", "describe", "--ip", "192.0.2.7")
	if want := "ENTITY        QUOTA                     VALUE\n" +
		"ip=192.0.2.7  connection_creation_rate  10\n"; out != want {
		t.Errorf("quota describe --ip:\n%s\nwant\n%s", out, want)
	}
	out, _ = mustGregor(t, addr, "", "quota", "describe", "--ip-default")
	if want := "ENTITY        QUOTA                     VALUE\n" +
		"ip=<default>  connection_creation_rate  100\n"; out != want {
		t.Errorf("quota describe --ip-default:\n%s\nwant\n%s", out, want)
	}
	mustGregor(t, addr, "", "quota", "set", "--ip", "192.0.2.7", "--delete-config", "connection_creation_rate")
	if out, _ = mustGregor(t, addr, "", "quota", "describe", "--ip", "192.0.2.7"); strings.Contains(out, "192.0.2.7") {
		t.Errorf("quota describe --ip after --delete-config:\n%s", out)
	}
}
