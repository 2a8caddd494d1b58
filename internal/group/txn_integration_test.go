package group_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestTxnOffsetCommitAPI drives TxnOffsetCommit over the wire: the offsets it writes are
// pending (invisible to OffsetFetch, UNSTABLE_OFFSET_COMMIT with require_stable), stay
// pending across a restart (replayed from the transactional batch in __consumer_offsets), and
// go with their group when it is deleted.
func TestTxnOffsetCommitAPI(t *testing.T) {
	n := startNode(t)
	createTopic(t, n.Addr(), "in", 1)
	cl := newClient(t, n.Addr())
	defer cl.Close()
	ctx := ctxT(t, 60*time.Second)

	versions, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	var served bool
	for _, k := range versions.ApiKeys {
		if k.ApiKey == kmsg.TxnOffsetCommit.Int16() {
			served = k.MinVersion == 0 && k.MaxVersion == 4
		}
	}
	if !served {
		t.Fatal("ApiVersions does not list TxnOffsetCommit 0-4")
	}

	pidResp, err := kmsg.NewPtrInitProducerIDRequest().RequestWith(ctx, cl)
	if err != nil || pidResp.ErrorCode != 0 {
		t.Fatalf("init producer id: %v %v", err, kerr.ErrorForCode(pidResp.ErrorCode))
	}

	// A simple commit first, which the transaction's offset must not show through.
	oc := kmsg.NewPtrOffsetCommitRequest()
	oc.Group, oc.Generation = "tg", -1
	oct := kmsg.NewOffsetCommitRequestTopic()
	oct.Topic = "in"
	ocp := kmsg.NewOffsetCommitRequestTopicPartition()
	ocp.Offset = 3
	oct.Partitions = append(oct.Partitions, ocp)
	oc.Topics = append(oc.Topics, oct)
	ocResp, err := oc.RequestWith(ctx, cl)
	if err != nil || ocResp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("offset commit: %v %+v", err, ocResp)
	}

	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.TransactionalID, req.Group = "tx", "tg"
	req.ProducerID, req.ProducerEpoch = pidResp.ProducerID, pidResp.ProducerEpoch
	rt := kmsg.NewTxnOffsetCommitRequestTopic()
	rt.Topic = "in"
	rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	rp.Offset = 42
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("txn offset commit: %v", kerr.ErrorForCode(code))
	}

	check := func(cl *kgo.Client) {
		t.Helper()
		if code, off := fetchOffset(ctx, t, cl, "tg", "in", true); code != kerr.UnstableOffsetCommit.Code || off != -1 {
			t.Fatalf("require_stable: %v offset %d", kerr.ErrorForCode(code), off)
		}
		if code, off := fetchOffset(ctx, t, cl, "tg", "in", false); code != 0 || off != 3 {
			t.Fatalf("without require_stable: %v offset %d", kerr.ErrorForCode(code), off)
		}
	}
	check(cl)

	n.Restart()
	cl2 := newClient(t, n.Addr())
	defer cl2.Close()
	check(cl2)

	del, err := admin(t, n.Addr()).DeleteGroups(ctx, "tg")
	if err != nil || del["tg"].Err != nil {
		t.Fatalf("delete a group with pending offsets: %v %v", err, del["tg"].Err)
	}
	if code, off := fetchOffset(ctx, t, cl2, "tg", "in", true); code != 0 || off != -1 {
		t.Fatalf("after the delete: %v offset %d", kerr.ErrorForCode(code), off)
	}
}

// fetchOffset is the offset of partition 0 of topic with OffsetFetch v7 (or the newest both
// sides speak), and its partition error code, once the coordinator has loaded.
func fetchOffset(ctx context.Context, t *testing.T, cl *kgo.Client, group, topic string, requireStable bool) (int16, int64) {
	t.Helper()
	var code int16
	var off int64
	waitFor(t, 30*time.Second, "the group coordinator", func() bool {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.RequireStable = requireStable
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group = group
		rt := kmsg.NewOffsetFetchRequestGroupTopic()
		rt.Topic, rt.Partitions = topic, []int32{0}
		rg.Topics = append(rg.Topics, rt)
		req.Groups = append(req.Groups, rg)
		// The pre-v8 fields too, in case the request goes out older.
		req.Group = group
		t7 := kmsg.NewOffsetFetchRequestTopic()
		t7.Topic, t7.Partitions = topic, []int32{0}
		req.Topics = append(req.Topics, t7)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return false
		}
		if len(resp.Groups) > 0 {
			g := resp.Groups[0]
			if g.ErrorCode != 0 || len(g.Topics) == 0 {
				return false
			}
			p := g.Topics[0].Partitions[0]
			code, off = p.ErrorCode, p.Offset
			return true
		}
		if resp.ErrorCode != 0 || len(resp.Topics) == 0 {
			return false
		}
		p := resp.Topics[0].Partitions[0]
		code, off = p.ErrorCode, p.Offset
		return true
	})
	return code, off
}
