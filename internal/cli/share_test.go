package cli

import (
	"strings"
	"testing"

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
