package node_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// Operation bits of an authorized-operations field (KIP-430): bit n is ACL operation n.
const (
	bitRead            = 1 << 3
	bitWrite           = 1 << 4
	bitCreate          = 1 << 5
	bitDelete          = 1 << 6
	bitAlter           = 1 << 7
	bitDescribe        = 1 << 8
	bitClusterAction   = 1 << 9
	bitDescribeConfigs = 1 << 10
	bitAlterConfigs    = 1 << 11
	bitIdempotentWrite = 1 << 12

	omitted = -2147483648
)

// aclGapsSetup starts an ACL node with topics a and b, and gives alice READ and WRITE on a,
// READ on groups g1 and sg, WRITE on transactional id tx; nothing on b.
func aclGapsSetup(t *testing.T) (n *clustertest.Node, admin, alice *kgo.Client, ids map[string][16]byte) {
	t.Helper()
	n = aclNode(t)
	admin = saslClient(t, n, "admin")
	adm := kadm.NewClient(admin)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := adm.CreateTopics(ctx, 1, 1, nil, "a", "b"); err != nil {
		t.Fatal(err)
	}
	mustACLs(t, adm, kadm.NewACLs().Allow("User:alice").Topics("a").Operations(kadm.OpRead, kadm.OpWrite).ResourcePatternType(kadm.ACLPatternLiteral))
	mustACLs(t, adm, kadm.NewACLs().Allow("User:alice").Groups("g1", "sg").Operations(kadm.OpRead).ResourcePatternType(kadm.ACLPatternLiteral))
	mustACLs(t, adm, kadm.NewACLs().Allow("User:alice").TransactionalIDs("tx").Operations(kadm.OpWrite).ResourcePatternType(kadm.ACLPatternLiteral))
	td, err := adm.ListTopics(ctx, "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	ids = map[string][16]byte{"a": td["a"].ID, "b": td["b"].ID}
	return n, admin, saslClient(t, n, "alice"), ids
}

func TestAuthorizedOperationsFollowACLs(t *testing.T) {
	n, admin, alice, _ := aclGapsSetup(t)
	// Metadata v8-v10 (Kafka 2.7 at most) carry the cluster's operations; kgo sends the
	// highest version both sides know, so asking for them needs clients capped to 2.7.
	adminV10 := saslClient(t, n, "admin", kgo.MaxVersions(kversion.V2_7_0()))
	aliceV10 := saslClient(t, n, "alice", kgo.MaxVersions(kversion.V2_7_0()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	metadata := func(cl *kgo.Client, topicOps, clusterOps bool) *kmsg.MetadataResponse {
		t.Helper()
		req := kmsg.NewPtrMetadataRequest()
		for _, name := range []string{"a", "b"} {
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(name)
			req.Topics = append(req.Topics, rt)
		}
		req.IncludeTopicAuthorizedOperations, req.IncludeClusterAuthorizedOperations = topicOps, clusterOps
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	opsOf := func(resp *kmsg.MetadataResponse) map[string]int32 {
		m := map[string]int32{}
		for _, mt := range resp.Topics {
			m[*mt.Topic] = mt.AuthorizedOperations
		}
		return m
	}

	resp := metadata(aliceV10, true, true)
	if got := opsOf(resp); got["a"] != bitRead|bitWrite|bitDescribe || got["b"] != 0 {
		t.Errorf("alice's topic operations: %v, want a=%d b=0", got, bitRead|bitWrite|bitDescribe)
	}
	if resp.AuthorizedOperations != 0 {
		t.Errorf("alice's cluster operations: %d, want 0 (she may not DESCRIBE the cluster)", resp.AuthorizedOperations)
	}
	allCluster := int32(bitCreate | bitClusterAction | bitDescribeConfigs | bitAlterConfigs | bitIdempotentWrite | bitAlter | bitDescribe)
	allTopic := int32(bitRead | bitWrite | bitCreate | bitDescribe | bitDelete | bitAlter | bitDescribeConfigs | bitAlterConfigs)
	resp = metadata(adminV10, true, true)
	if got := opsOf(resp); got["b"] != allTopic || resp.AuthorizedOperations != allCluster {
		t.Errorf("super user's operations: topics %v cluster %d, want %d and %d", got, resp.AuthorizedOperations, allTopic, allCluster)
	}
	resp = metadata(admin, false, true)
	if got := opsOf(resp); got["a"] != omitted || resp.AuthorizedOperations != omitted {
		t.Errorf("not asked for (v12): topics %v cluster %d, want the INT32_MIN sentinel", got, resp.AuthorizedOperations)
	}

	dc := kmsg.NewPtrDescribeClusterRequest()
	dc.IncludeClusterAuthorizedOperations = true
	for cl, want := range map[*kgo.Client]int32{admin: allCluster, alice: 0} {
		dr, err := dc.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		if dr.ClusterAuthorizedOperations != want {
			t.Errorf("DescribeCluster operations: %d, want %d", dr.ClusterAuthorizedOperations, want)
		}
	}
	dc.IncludeClusterAuthorizedOperations = false
	if dr, err := dc.RequestWith(ctx, admin); err != nil || dr.ClusterAuthorizedOperations != omitted {
		t.Errorf("DescribeCluster not asked: %v %d, want the sentinel", err, dr.ClusterAuthorizedOperations)
	}

	dg := kmsg.NewPtrDescribeGroupsRequest()
	dg.Groups = []string{"g1"}
	dg.IncludeAuthorizedOperations = true
	gr, err := dg.RequestWith(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if g := gr.Groups[0]; g.ErrorCode != 0 || g.AuthorizedOperations != bitRead|bitDescribe {
		t.Errorf("DescribeGroups g1 for alice: code %d operations %d, want 0 and %d", g.ErrorCode, g.AuthorizedOperations, bitRead|bitDescribe)
	}
}

func TestTxnOffsetCommitDeniedTopicFailsAlone(t *testing.T) {
	_, _, alice, _ := aclGapsSetup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	init := kmsg.NewPtrInitProducerIDRequest()
	init.TransactionalID = kmsg.StringPtr("tx")
	init.TransactionTimeoutMillis = 30000
	ir, err := init.RequestWith(ctx, alice)
	if err != nil || ir.ErrorCode != 0 {
		t.Fatalf("InitProducerId: %v code %d", err, ir.ErrorCode)
	}
	add := kmsg.NewPtrAddOffsetsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = "tx", ir.ProducerID, ir.ProducerEpoch, "g1"
	// The coordinator may still be loading __consumer_offsets: retry what is retriable.
	var code int16
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ar, err := add.RequestWith(ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		if code = ar.ErrorCode; code == 0 || !kerr.IsRetriable(kerr.ErrorForCode(code)) {
			break
		}
	}
	if code != 0 {
		t.Fatalf("AddOffsetsToTxn: code %d", code)
	}

	commit := kmsg.NewPtrTxnOffsetCommitRequest()
	commit.TransactionalID, commit.Group, commit.ProducerID, commit.ProducerEpoch = "tx", "g1", ir.ProducerID, ir.ProducerEpoch
	commit.Generation = -1
	for _, topic := range []string{"a", "b"} {
		rt := kmsg.NewTxnOffsetCommitRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		rp.Offset = 1
		rt.Partitions = append(rt.Partitions, rp)
		commit.Topics = append(commit.Topics, rt)
	}
	cr, err := commit.RequestWith(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int16{}
	for _, rt := range cr.Topics {
		for _, rp := range rt.Partitions {
			got[rt.Topic] = rp.ErrorCode
		}
	}
	if len(got) != 2 || got["a"] != 0 || got["b"] != kerr.TopicAuthorizationFailed.Code {
		t.Fatalf("TxnOffsetCommit of a (READ) and b (denied): %v, want a=0 b=TOPIC_AUTHORIZATION_FAILED", got)
	}
}

func TestShareFetchChecksTopicRead(t *testing.T) {
	_, _, alice, ids := aclGapsSetup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	req := kmsg.NewPtrShareFetchRequest()
	req.GroupID, req.MemberID = kmsg.StringPtr("sg"), kmsg.StringPtr("m1")
	req.MaxWaitMillis = 10
	rt := kmsg.NewShareFetchRequestTopic()
	rt.TopicID = ids["b"]
	rt.Partitions = []kmsg.ShareFetchRequestTopicPartition{kmsg.NewShareFetchRequestTopicPartition()}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 ||
		resp.Topics[0].Partitions[0].ErrorCode != kerr.TopicAuthorizationFailed.Code {
		t.Fatalf("ShareFetch of b without READ on it: %+v, want its partition TOPIC_AUTHORIZATION_FAILED", resp)
	}
}
