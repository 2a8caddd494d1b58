package txn

import (
	"bytes"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/gregorhq/gregor/internal/cli/internal/golden"
	"github.com/gregorhq/gregor/internal/cli/out"
)

func testList() []listEntry {
	return []listEntry{
		{TransactionalID: "orders-tx", Coordinator: 1, ProducerID: 1000, State: "Ongoing"},
		{TransactionalID: "payments", Coordinator: 2, ProducerID: 1001, State: "CompleteCommit"},
	}
}

func testDescribed(t *testing.T) []Description {
	described := kadm.DescribedTransactions{
		"orders-tx": {Coordinator: 1, TxnID: "orders-tx", State: "Ongoing", TimeoutMillis: 60000, StartTimestamp: 1000,
			ProducerID: 1000, ProducerEpoch: 3, Topics: kadm.TopicsSet{"orders": {1: {}, 0: {}}, "__consumer_offsets": {7: {}}}},
		"payments": {Coordinator: 2, TxnID: "payments", State: "CompleteCommit", TimeoutMillis: 900000, StartTimestamp: -1,
			ProducerID: 1001, ProducerEpoch: 0},
	}
	descs, err := descriptions(described, []string{"orders-tx", "payments"}, time.UnixMilli(4500))
	if err != nil {
		t.Fatal(err)
	}
	return descs
}

func TestListOutput(t *testing.T) {
	for _, c := range []struct {
		format out.Format
		file   string
	}{{out.Text, "list.txt"}, {out.JSON, "list.json"}} {
		var b bytes.Buffer
		if err := writeList(&b, c.format, testList()); err != nil {
			t.Fatal(err)
		}
		golden.Assert(t, c.file, b.Bytes())
	}
}

func TestDescribeOutput(t *testing.T) {
	for _, c := range []struct {
		format out.Format
		file   string
	}{{out.Text, "describe.txt"}, {out.JSON, "describe.json"}} {
		var b bytes.Buffer
		if err := writeDescriptions(&b, c.format, testDescribed(t)); err != nil {
			t.Fatal(err)
		}
		golden.Assert(t, c.file, b.Bytes())
	}
}

func TestDescribeErrorNamesTheID(t *testing.T) {
	_, err := descriptions(kadm.DescribedTransactions{}, []string{"gone"}, time.Now())
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte(`"gone"`)) {
		t.Fatalf("got %v", err)
	}
}
