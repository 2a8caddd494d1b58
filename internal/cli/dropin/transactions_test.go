package dropin

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/cli/internal/golden"
)

// TestKafkaTransactions lists and describes a transactional id that a franz-go producer
// committed a transaction with.
func TestKafkaTransactions(t *testing.T) {
	addr := startNode(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	mustKafka(t, "", "kafka-topics", "--create", "--topic", "txs", "--partitions", "1", "--bootstrap-server", addr)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.TransactionalID("tx-1"), kgo.DefaultProduceTopic("txs"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, kgo.StringRecord("v")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	out, _ := mustKafka(t, "", "kafka-transactions", "--bootstrap-server", addr, "describe", "--transactional-id", "tx-1")
	if !regexp.MustCompile(`(?m)^CoordinatorId\s+TransactionalId\s+ProducerId\s+ProducerEpoch\s+TransactionState\s+.*TopicPartitions\s*$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^1\s+tx-1\s+\d+\s+0\s+Ongoing\s+\d+\s+\d+\s+\d+\s+txs-0\s*$`).MatchString(out) {
		t.Fatalf("describe while ongoing:\n%s", out)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^tx-1\s+1\s+\d+\s+CompleteCommit\s*$`)
	for !re.MatchString(out) {
		if ctx.Err() != nil {
			t.Fatalf("list never showed the commit:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond) // poll backoff
		out, _ = mustKafka(t, "", "kafka-transactions", "list", "--bootstrap-server", addr)
	}
	// Kafka pads every cell to its column's width and ends it with a tab.
	if !strings.HasPrefix(out, "TransactionalId\tCoordinator\tProducerId\tTransactionState\t\n") {
		t.Fatalf("list header:\n%q", out)
	}
	golden.Assert(t, "transactions_list.txt", []byte(out))
	if _, _, err := kafka(t, "", "kafka-transactions", "--bootstrap-server", addr, "describe"); err == nil {
		t.Fatal("describe without --transactional-id succeeded")
	}
	if _, _, err := kafka(t, "", "kafka-transactions", "--bootstrap-server", addr); err == nil {
		t.Fatal("no command succeeded")
	}
}
