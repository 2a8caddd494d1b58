package node_test

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/clustertest"
	"github.com/gregorhq/gregor/internal/group"
)

// AddOffsetsToTxn adds the group's partition of __consumer_offsets as the topic has it, not
// as offsets.topic.num.partitions says: the two differ when the topic was created under
// another setting, and the group coordinator (and TxnOffsetCommit) go by the topic.
func TestAddOffsetsToTxnUsesTheTopicsPartitionCount(t *testing.T) {
	n := clustertest.StartNode(t, "offsets.topic.num.partitions", "1", "transaction.state.log.num.partitions", "1")
	ctx := testContext(t)
	createTopic(t, n.Addr(), group.OffsetsTopic, 3, nil)
	g := ""
	for _, c := range []string{"a", "b", "c", "d", "e", "f"} {
		if group.PartitionFor(c, 3) != 0 {
			g = c
			break
		}
	}
	want := group.PartitionFor(g, 3)
	cl := newClient(t, n.Addr())
	adm := kadm.NewClient(cl)
	request := func(req kmsg.Request, code func(kmsg.Response) int16) kmsg.Response {
		t.Helper()
		for {
			resp, err := cl.Broker(1).RetriableRequest(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if c := code(resp); c == kerr.NotCoordinator.Code || c == kerr.CoordinatorLoadInProgress.Code || c == kerr.ConcurrentTransactions.Code ||
				c == kerr.CoordinatorNotAvailable.Code {
				select {
				case <-ctx.Done():
					t.Fatal("coordinator never answered")
				case <-time.After(20 * time.Millisecond):
				}
				continue
			}
			return resp
		}
	}
	find := kmsg.NewPtrFindCoordinatorRequest()
	find.CoordinatorType, find.CoordinatorKeys = 1, []string{"ao-tx"} // creates __transaction_state
	request(find, func(r kmsg.Response) int16 { return r.(*kmsg.FindCoordinatorResponse).Coordinators[0].ErrorCode })
	initReq := kmsg.NewPtrInitProducerIDRequest()
	initReq.TransactionalID, initReq.TransactionTimeoutMillis = kmsg.StringPtr("ao-tx"), 60000
	initResp := request(initReq, func(r kmsg.Response) int16 { return r.(*kmsg.InitProducerIDResponse).ErrorCode }).(*kmsg.InitProducerIDResponse)
	if initResp.ErrorCode != 0 {
		t.Fatalf("InitProducerId: %v", kerr.ErrorForCode(initResp.ErrorCode))
	}
	add := kmsg.NewPtrAddOffsetsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = "ao-tx", initResp.ProducerID, initResp.ProducerEpoch, g
	if resp := request(add, func(r kmsg.Response) int16 { return r.(*kmsg.AddOffsetsToTxnResponse).ErrorCode }).(*kmsg.AddOffsetsToTxnResponse); resp.ErrorCode != 0 {
		t.Fatalf("AddOffsetsToTxn: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	d := describeTxn(ctx, t, adm, "ao-tx")
	got := d.Topics[group.OffsetsTopic]
	if _, ok := got[want]; !ok || len(got) != 1 {
		t.Fatalf("group %q: transaction holds __consumer_offsets partitions %v, want [%d] (the topic has 3 partitions)", g, got, want)
	}
}
