package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

// describeRow is one row of "group describe --format json".
type describeRow struct {
	Group         string `json:"group"`
	Topic         string `json:"topic"`
	Partition     int32  `json:"partition"`
	CurrentOffset *int64 `json:"current_offset"`
	LogEndOffset  *int64 `json:"log_end_offset"`
	Lag           *int64 `json:"lag"`
}

func describeGroup(t *testing.T, addr, group string) []describeRow {
	t.Helper()
	out, _ := mustGregor(t, addr, "", "group", "describe", "--group", group, "--format", "json")
	var rows []describeRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("describe json: %v\n%s", err, out)
	}
	return rows
}

// wantOffsets checks the group's single partition of topic "orders".
func wantOffsets(t *testing.T, rows []describeRow, current, end, lag int64) {
	t.Helper()
	if len(rows) != 1 {
		t.Fatalf("rows %+v, want one", rows)
	}
	r := rows[0]
	if r.Topic != "orders" || r.Partition != 0 || r.CurrentOffset == nil || r.LogEndOffset == nil || r.Lag == nil ||
		*r.CurrentOffset != current || *r.LogEndOffset != end || *r.Lag != lag {
		t.Fatalf("row %+v, want current %d end %d lag %d", r, current, end, lag)
	}
}

func TestGroupCommands(t *testing.T) {
	addr := startBroker(t)
	mustGregor(t, addr, "", "topic", "create", "--topic", "orders", "--partitions", "1")
	mustGregor(t, addr, "a\nb\nc\nd\ne\n", "produce", "--topic", "orders")
	mustGregor(t, addr, "", "consume", "--topic", "orders", "--group", "app", "--from-beginning",
		"--max-messages", "3", "--timeout-ms", safetyTimeout)

	if out, _ := mustGregor(t, addr, "", "group", "list"); !containsLine(out, "app") {
		t.Fatalf("group list: %q", out)
	}
	if out, _ := mustGregor(t, addr, "", "group", "list", "--state", "Empty"); !strings.Contains(out, "app") || !strings.Contains(out, "Empty") {
		t.Fatalf("group list --state Empty: %q", out)
	}

	// The consumer committed what it printed: 3 of 5, lag 2. Kafka's columns, in order.
	out, stderr := mustGregor(t, addr, "", "group", "describe", "--group", "app")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID" {
		t.Fatalf("describe:\n%s", out)
	}
	if got := strings.Join(strings.Fields(lines[1]), " "); got != "app orders 0 3 5 2 - - -" {
		t.Fatalf("describe row %q", got)
	}
	if !strings.Contains(stderr, "Consumer group 'app' has no active members.") {
		t.Errorf("describe stderr %q", stderr)
	}
	wantOffsets(t, describeGroup(t, addr, "app"), 3, 5, 2)
	if out, _ := mustGregor(t, addr, "", "group", "describe", "--group", "app", "--state"); !strings.Contains(out, "Empty") {
		t.Errorf("describe --state: %q", out)
	}

	// reset-offsets is a dry run unless --execute.
	out, _ = mustGregor(t, addr, "", "group", "reset-offsets", "--group", "app", "--topic", "orders", "--to-earliest")
	if got := strings.Join(strings.Fields(out), " "); got != "GROUP TOPIC PARTITION NEW-OFFSET app orders 0 0" {
		t.Fatalf("dry run: %q", got)
	}
	wantOffsets(t, describeGroup(t, addr, "app"), 3, 5, 2)
	mustGregor(t, addr, "", "group", "reset-offsets", "--group", "app", "--topic", "orders", "--to-earliest", "--execute")
	wantOffsets(t, describeGroup(t, addr, "app"), 0, 5, 5)
	mustGregor(t, addr, "", "group", "reset-offsets", "--group", "app", "--all-topics", "--shift-by", "4", "--execute")
	wantOffsets(t, describeGroup(t, addr, "app"), 4, 5, 1)
	mustGregor(t, addr, "", "group", "reset-offsets", "--group", "app", "--topic", "orders:0", "--to-offset", "99", "--execute")
	wantOffsets(t, describeGroup(t, addr, "app"), 5, 5, 0) // clamped to the end

	// The group resumes where the reset put it.
	mustGregor(t, addr, "", "group", "reset-offsets", "--group", "app", "--topic", "orders", "--to-offset", "1", "--execute")
	out, _ = mustGregor(t, addr, "", "consume", "--topic", "orders", "--group", "app", "--max-messages", "1", "--timeout-ms", safetyTimeout)
	if out != "b\n" {
		t.Fatalf("consume after reset: %q", out)
	}

	out, _ = mustGregor(t, addr, "", "group", "delete-offsets", "--group", "app", "--topic", "orders")
	if got := strings.Join(strings.Fields(out), " "); got != "TOPIC PARTITION STATUS orders 0 Successful" {
		t.Fatalf("delete-offsets: %q", got)
	}
	out, _ = mustGregor(t, addr, "", "group", "delete", "--group", "app")
	if out != "Deletion of requested consumer groups ('app') was successful.\n" {
		t.Fatalf("delete: %q", out)
	}
	if out, _ := mustGregor(t, addr, "", "group", "list"); containsLine(out, "app") {
		t.Fatalf("deleted group still listed: %q", out)
	}
	if _, _, err := gregor(t, addr, "", "group", "describe", "--group", "app"); err == nil {
		t.Fatal("describe of a deleted group succeeded")
	}
}
