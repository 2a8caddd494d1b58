package cli

import (
	"strings"
	"testing"

	"github.com/gregorhq/gregor/internal/clustertest"
)

func TestGroupLagFromAdminEndpoint(t *testing.T) {
	n := clustertest.StartNode(t, "group.initial.rebalance.delay.ms", "0")
	addr, adminURL := n.Addr(), n.AdminURL()
	mustGregor(t, addr, "", "topic", "create", "--topic", "orders", "--partitions", "1")
	mustGregor(t, addr, "a\nb\nc\nd\ne\n", "produce", "--topic", "orders")
	mustGregor(t, addr, "", "consume", "--topic", "orders", "--group", "app", "--from-beginning",
		"--max-messages", "3", "--timeout-ms", safetyTimeout)

	statuses := []string{"OK", "WARN", "ERR", "STOP", "STALL", "REWIND"}
	out, _ := mustGregor(t, addr, "", "group", "describe", "--group", "app", "--admin-url", adminURL)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasSuffix(strings.Join(strings.Fields(lines[0]), " "), "CLIENT-ID STATUS") {
		t.Fatalf("describe with the admin endpoint:\n%s", out)
	}
	row := strings.Fields(lines[1])
	if got := strings.Join(row[:6], " "); got != "app orders 0 3 5 2" || !containsString(statuses, row[len(row)-1]) {
		t.Fatalf("describe row %q", lines[1])
	}

	// No admin endpoint there: the same table without STATUS, and no error.
	out, _ = mustGregor(t, addr, "", "group", "describe", "--group", "app", "--admin-url", "http://127.0.0.1:1")
	if strings.Contains(out, "STATUS") {
		t.Fatalf("describe without the admin endpoint:\n%s", out)
	}

	out, _ = mustGregor(t, addr, "", "group", "lag", "app", "--admin-url", adminURL)
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "GROUP app  STATUS ") || !strings.Contains(lines[0], "TOTAL-LAG 2") {
		t.Fatalf("group lag:\n%s", out)
	}
	if row := strings.Fields(lines[2]); strings.Join(row[:5], " ") != "orders 0 3 5 2" {
		t.Fatalf("group lag row %q", lines[2])
	}
	if _, _, err := gregor(t, addr, "", "group", "lag", "nobody", "--admin-url", adminURL); err == nil {
		t.Fatal("lag of a group without commits: no error")
	}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
