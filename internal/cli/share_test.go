package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// consume --share-group acknowledges what it prints: a second run gets nothing; the share
// group is listed with its type.
func TestConsumeShareGroup(t *testing.T) {
	addr := clustertest.StartNode(t, "group.share.auto.offset.reset", "earliest", "offsets.topic.num.partitions", "1").Addr()
	mustGregor(t, addr, "", "topic", "create", "--topic", "jobs", "--partitions", "1")
	mustGregor(t, addr, "a\nb\nc\n", "produce", "--topic", "jobs")

	out, stderr := mustGregor(t, addr, "", "consume", "--topic", "jobs", "--share-group", "workers",
		"--max-messages", "3", "--timeout-ms", safetyTimeout)
	if out != "a\nb\nc\n" || !strings.Contains(stderr, "Processed a total of 3 messages") {
		t.Fatalf("consume --share-group: %q %q", out, stderr)
	}
	out, _ = mustGregor(t, addr, "", "consume", "--topic", "jobs", "--share-group", "workers", "--timeout-ms", "1500")
	if out != "" {
		t.Errorf("acknowledged records delivered again: %q", out)
	}
	out, _ = mustGregor(t, addr, "", "group", "list", "--type", "share")
	if out != "workers\n" {
		t.Errorf("group list --type share: %q", out)
	}
}

// group describe shows a share group's start offset, log end and lag per partition;
// reset-offsets moves the start offset of an empty share group, and the next consumer starts
// there.
func TestShareGroupDescribeAndReset(t *testing.T) {
	addr := clustertest.StartNode(t, "group.share.auto.offset.reset", "earliest", "offsets.topic.num.partitions", "1").Addr()
	mustGregor(t, addr, "", "topic", "create", "--topic", "tasks", "--partitions", "1")
	mustGregor(t, addr, "a\nb\nc\n", "produce", "--topic", "tasks")
	mustGregor(t, addr, "", "consume", "--topic", "tasks", "--share-group", "crew",
		"--max-messages", "3", "--timeout-ms", safetyTimeout)
	mustGregor(t, addr, "d\ne\n", "produce", "--topic", "tasks")

	var rows []struct {
		Topic         string `json:"topic"`
		CurrentOffset *int64 `json:"current_offset"`
		LogEndOffset  *int64 `json:"log_end_offset"`
		Lag           *int64 `json:"lag"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, _ := mustGregor(t, addr, "", "group", "describe", "crew", "--format", "json")
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatalf("describe: %v in %q", err, out)
		}
		if len(rows) == 1 && rows[0].CurrentOffset != nil && *rows[0].CurrentOffset == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("describe of a share group: %s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r := rows[0]; r.Topic != "tasks" || r.LogEndOffset == nil || *r.LogEndOffset != 5 || r.Lag == nil || *r.Lag != 2 {
		t.Fatalf("describe of a share group: %+v", r)
	}

	// The consumer left when it exited, but its leave may still be on its way.
	var out string
	for {
		var err error
		out, _, err = gregor(t, addr, "", "group", "reset-offsets", "--group", "crew", "--topic", "tasks", "--to-earliest", "--execute")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reset-offsets of a share group: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(out, "crew") || !strings.Contains(out, " 0") {
		t.Fatalf("reset-offsets: %q", out)
	}
	out, _ = mustGregor(t, addr, "", "consume", "--topic", "tasks", "--share-group", "crew",
		"--max-messages", "5", "--timeout-ms", safetyTimeout)
	if out != "a\nb\nc\nd\ne\n" {
		t.Fatalf("after reset to earliest: %q", out)
	}
}
