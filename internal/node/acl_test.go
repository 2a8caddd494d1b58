package node_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// aclNode starts a node whose only client listener is SASL_PLAINTEXT with the PLAIN users
// admin (a super user), alice and bob, and the authorizer on.
func aclNode(t *testing.T) *clustertest.Node {
	t.Helper()
	return clustertest.StartNode(t,
		"listeners", "SASL_PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0",
		"inter.broker.listener.name", "SASL_PLAINTEXT",
		"sasl.enabled.mechanisms", "PLAIN",
		"sasl.jaas.config", `org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-pw" user_alice="alice-pw" user_bob="bob-pw";`,
		"authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"super.users", "User:admin",
		"auto.create.topics.enable", "true",
	)
}

func saslClient(t *testing.T, n *clustertest.Node, user string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts = append([]kgo.Opt{
		kgo.SeedBrokers(n.Addr()),
		kgo.SASL(plain.Auth{User: user, Pass: user + "-pw"}.AsMechanism()),
		kgo.RetryTimeout(2 * time.Second),
	}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func mustACLs(t *testing.T, adm *kadm.Client, b *kadm.ACLBuilder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := adm.CreateACLs(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("creating ACL %+v: %v", r, r.Err)
		}
	}
}

// fetchCode sends one Fetch for partition 0 of topic from offset 0 and returns its error code.
func fetchCode(t *testing.T, cl *kgo.Client, topic string) (int16, int) {
	t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.Version = 12
	req.ReplicaID = -1
	req.MaxBytes = 1 << 20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes = 1 << 20
	rp.CurrentLeaderEpoch = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	p := resp.Topics[0].Partitions[0]
	return p.ErrorCode, len(p.RecordBatches)
}

// produceCode sends one Produce of a record to partition 0 of topic and returns its code.
func produceCode(t *testing.T, cl *kgo.Client, topic string) int16 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("v")}).FirstErr()
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	if err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
	return 0
}

func TestACLMatrix(t *testing.T) {
	n := aclNode(t)
	admin := saslClient(t, n, "admin")
	adm := kadm.NewClient(admin)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	topics := []string{"a", "b", "b2", "pfx-1", "c"}
	if _, err := adm.CreateTopics(ctx, 1, 1, nil, topics...); err != nil {
		t.Fatal(err)
	}
	for _, topic := range topics {
		if code := produceCode(t, admin, topic); code != 0 {
			t.Fatalf("admin (super user) producing to %s: code %d", topic, code)
		}
	}

	// alice: read and write a, see b2 (DESCRIBE) but neither read nor write it, nothing on
	// b; read every topic prefixed pfx-; read c, but everyone is denied reading c.
	mustACLs(t, adm, kadm.NewACLs().Allow("User:alice").Topics("a").Operations(kadm.OpRead, kadm.OpWrite).ResourcePatternType(kadm.ACLPatternLiteral))
	mustACLs(t, adm, kadm.NewACLs().Allow("User:alice").Topics("b2").Operations(kadm.OpDescribe).ResourcePatternType(kadm.ACLPatternLiteral))
	mustACLs(t, adm, kadm.NewACLs().Allow("User:alice").Topics("pfx-").Operations(kadm.OpRead).ResourcePatternType(kadm.ACLPatternPrefixed))
	mustACLs(t, adm, kadm.NewACLs().Allow("User:alice").Topics("c").Operations(kadm.OpRead).ResourcePatternType(kadm.ACLPatternLiteral))
	mustACLs(t, adm, kadm.NewACLs().Deny("User:*").Topics("c").Operations(kadm.OpRead).ResourcePatternType(kadm.ACLPatternLiteral))
	mustACLs(t, adm, kadm.NewACLs().Allow("User:alice").Groups("g1").Operations(kadm.OpRead).ResourcePatternType(kadm.ACLPatternLiteral))

	alice := saslClient(t, n, "alice")
	aadm := kadm.NewClient(alice)

	t.Run("produce", func(t *testing.T) {
		if code := produceCode(t, alice, "a"); code != 0 {
			t.Fatalf("produce to a: code %d", code)
		}
		for _, topic := range []string{"b", "b2"} {
			if code := produceCode(t, alice, topic); code != kerr.TopicAuthorizationFailed.Code {
				t.Fatalf("produce to %s: code %d, want TOPIC_AUTHORIZATION_FAILED", topic, code)
			}
		}
	})

	t.Run("fetch", func(t *testing.T) {
		for topic, want := range map[string]int16{
			"a": 0, "pfx-1": 0,
			"b": kerr.TopicAuthorizationFailed.Code, "b2": kerr.TopicAuthorizationFailed.Code,
			"c": kerr.TopicAuthorizationFailed.Code, // the DENY beats the ALLOW
		} {
			code, batches := fetchCode(t, alice, topic)
			if code != want {
				t.Errorf("fetch %s: code %d, want %d", topic, code, want)
			}
			if want == 0 && batches == 0 {
				t.Errorf("fetch %s: no records", topic)
			}
		}
	})

	t.Run("metadata", func(t *testing.T) {
		all, err := aadm.ListTopics(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := all.Names()
		slices.Sort(got)
		if want := []string{"a", "b2", "c", "pfx-1"}; !slices.Equal(got, want) {
			t.Fatalf("all topics as alice: %v, want %v", got, want)
		}
		req := kmsg.NewPtrMetadataRequest()
		req.AllowAutoTopicCreation = true
		for _, name := range []string{"b", "a", "no-such-topic"} {
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(name)
			req.Topics = append(req.Topics, rt)
		}
		resp, err := req.RequestWith(ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		codes := map[string]int16{}
		for _, mt := range resp.Topics {
			codes[*mt.Topic] = mt.ErrorCode
		}
		// An absent topic alice may not create is not auto-created and leaks nothing.
		want := map[string]int16{"a": 0, "b": kerr.TopicAuthorizationFailed.Code, "no-such-topic": kerr.TopicAuthorizationFailed.Code}
		for name, code := range want {
			if codes[name] != code {
				t.Errorf("metadata for %s: code %d, want %d", name, codes[name], code)
			}
		}
		if all, err := adm.ListTopics(ctx); err != nil || all.Has("no-such-topic") {
			t.Errorf("no-such-topic was auto-created (%v)", err)
		}
	})

	t.Run("groups", func(t *testing.T) {
		offsets := kadm.Offsets{}
		offsets.AddOffset("a", 0, 1, -1)
		res, err := aadm.CommitOffsets(ctx, "g1", offsets)
		if err != nil || res.Error() != nil {
			t.Fatalf("commit to g1: %v %v", err, res.Error())
		}
		// OffsetCommit also needs READ on the topic.
		bad := kadm.Offsets{}
		bad.AddOffset("b2", 0, 1, -1)
		res, err = aadm.CommitOffsets(ctx, "g1", bad)
		if err == nil {
			err = res.Error()
		}
		if !errors.Is(err, kerr.TopicAuthorizationFailed) {
			t.Fatalf("commit b2 to g1: %v, want TOPIC_AUTHORIZATION_FAILED", err)
		}
		res, err = aadm.CommitOffsets(ctx, "g2", offsets)
		if err == nil {
			err = res.Error()
		}
		if !errors.Is(err, kerr.GroupAuthorizationFailed) {
			t.Fatalf("commit to g2: %v, want GROUP_AUTHORIZATION_FAILED", err)
		}
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorKey = "g2"
		fc, err := req.RequestWith(ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		if fc.ErrorCode != kerr.GroupAuthorizationFailed.Code {
			t.Fatalf("FindCoordinator g2: code %d, want GROUP_AUTHORIZATION_FAILED", fc.ErrorCode)
		}
		got, err := aadm.FetchOffsets(ctx, "g1")
		if err != nil {
			t.Fatal(err)
		}
		if o, ok := got.Lookup("a", 0); !ok || o.At != 1 {
			t.Fatalf("g1's offset for a-0: %+v %v", o, ok)
		}
	})

	t.Run("acl apis", func(t *testing.T) {
		dreq := kmsg.NewPtrDescribeACLsRequest()
		dreq.ResourceType, dreq.ResourcePatternType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
		dreq.Operation, dreq.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
		dresp, err := dreq.RequestWith(ctx, alice)
		if err != nil || dresp.ErrorCode != kerr.ClusterAuthorizationFailed.Code {
			t.Fatalf("DescribeAcls as alice: %v, code %v, want CLUSTER_AUTHORIZATION_FAILED", err, dresp)
		}
		res, err := aadm.CreateACLs(ctx, kadm.NewACLs().Allow("User:alice").Topics("b").Operations(kadm.OpRead).ResourcePatternType(kadm.ACLPatternLiteral))
		if err != nil || len(res) != 1 || !errors.Is(res[0].Err, kerr.ClusterAuthorizationFailed) {
			t.Fatalf("CreateAcls as alice: %v %+v", err, res)
		}
		dreq.ResourceType, dreq.ResourceName = kmsg.ACLResourceTypeTopic, kmsg.StringPtr("c")
		dreq.ResourcePatternType = kmsg.ACLResourcePatternTypeMatch
		dresp, err = dreq.RequestWith(ctx, admin)
		if err != nil || dresp.ErrorCode != 0 {
			t.Fatalf("DescribeAcls as admin: %v %+v", err, dresp)
		}
		if len(dresp.Resources) != 1 || len(dresp.Resources[0].ACLs) != 2 {
			t.Fatalf("ACLs matching topic c: %+v", dresp.Resources)
		}
		// Remove the DENY: alice reads c.
		deleted, err := adm.DeleteACLs(ctx, kadm.NewACLs().Deny("User:*").DenyHosts("*").Topics("c").Operations(kadm.OpRead).ResourcePatternType(kadm.ACLPatternLiteral))
		if err != nil || len(deleted) != 1 || len(deleted[0].Deleted) != 1 {
			t.Fatalf("deleting the DENY: %v %+v", err, deleted)
		}
		if code, _ := fetchCode(t, alice, "c"); code != 0 {
			t.Fatalf("fetch c after the DENY is gone: code %d", code)
		}
	})

	t.Run("bob has nothing", func(t *testing.T) {
		bob := saslClient(t, n, "bob")
		all, err := kadm.NewClient(bob).ListTopics(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 0 {
			t.Fatalf("bob sees %v", all.Names())
		}
	})
}
