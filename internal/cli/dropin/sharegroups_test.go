package dropin

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/cli/internal/golden"
	"github.com/gregorhq/gregor/internal/clustertest"
)

// kafka-share-groups lists a share group, describes its start offset and lag, resets the
// start offset of the empty group and deletes its state.
func TestKafkaShareGroups(t *testing.T) {
	addr := clustertest.StartNode(t, "group.share.auto.offset.reset", "earliest", "offsets.topic.num.partitions", "1").Addr()
	bs := []string{"--bootstrap-server", addr}
	mustKafka(t, "", "kafka-topics", append([]string{"--create", "--topic", "jobs", "--partitions", "1"}, bs...)...)
	mustKafka(t, "a\nb\nc\nd\n", "kafka-console-producer", append([]string{"--topic", "jobs"}, bs...)...)

	// A share consumer accepts two records and leaves.
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ShareGroup("sg"), kgo.ConsumeTopics("jobs"), kgo.ShareMaxRecords(1))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for got := 0; got < 2; {
		fs := cl.PollRecords(ctx, 1)
		if ctx.Err() != nil {
			t.Fatal("timed out consuming")
		}
		cl.MarkAcks(kgo.AckAccept, fs.Records()...)
		got += fs.NumRecords()
	}
	if err := cl.FlushAcks(ctx); err != nil {
		t.Fatal(err)
	}
	cl.Close()

	out, _ := mustKafka(t, "", "kafka-share-groups", append([]string{"--list"}, bs...)...)
	if out != "sg\n" {
		t.Fatalf("--list: %q", out)
	}
	out, _ = mustKafka(t, "", "kafka-share-groups", append([]string{"--describe", "--group", "sg"}, bs...)...)
	golden.Assert(t, "share_groups_describe.txt", []byte(out))

	// The consumer's leave may still be on its way: the reset needs an empty group.
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, _, err = kafka(t, "", "kafka-share-groups", append([]string{"--reset-offsets", "--group", "sg", "--topic", "jobs", "--to-earliest", "--execute"}, bs...)...)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("--reset-offsets: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, _ = mustKafka(t, "", "kafka-share-groups", append([]string{"--describe", "--group", "sg"}, bs...)...)
	if !strings.Contains(out, "sg") || strings.Join(strings.Fields(strings.Split(strings.TrimSpace(out), "\n")[1]), " ") != "sg jobs 0 0 4" {
		t.Fatalf("--describe after reset: %q", out)
	}
	mustKafka(t, "", "kafka-share-groups", append([]string{"--delete-offsets", "--group", "sg", "--topic", "jobs"}, bs...)...)
	out, _ = mustKafka(t, "", "kafka-share-groups", append([]string{"--describe", "--group", "sg"}, bs...)...)
	if strings.Contains(out, "jobs") {
		t.Fatalf("--describe after delete-offsets: %q", out)
	}
}
