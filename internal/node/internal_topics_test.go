package node_test

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// TestInternalTopics checks that __consumer_offsets is created by its coordinator, with its
// own partition count and configs, even when a Metadata request asks for it first, and that
// clients cannot append to it.
func TestInternalTopics(t *testing.T) {
	n := clustertest.StartNode(t, "offsets.topic.num.partitions", "7")
	cl := newClient(t, n.Addr())
	ctx := testContext(t)

	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	topic := "__consumer_offsets"
	rt.Topic = &topic
	req.Topics = append(req.Topics, rt)
	req.AllowAutoTopicCreation = true
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 || !resp.Topics[0].IsInternal || len(resp.Topics[0].Partitions) != 7 {
		t.Fatalf("metadata of %s: %+v", topic, resp.Topics)
	}

	dc := kmsg.NewPtrDescribeConfigsRequest()
	res := kmsg.NewDescribeConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, topic
	res.ConfigNames = []string{"cleanup.policy"}
	dc.Resources = append(dc.Resources, res)
	dresp, err := dc.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if c := dresp.Resources[0].Configs; len(c) != 1 || c[0].Value == nil || *c[0].Value != "compact" {
		t.Fatalf("cleanup.policy of %s: %+v", topic, dresp.Resources[0])
	}

	err = cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte("k"), Value: []byte("v")}).FirstErr()
	if !errors.Is(err, kerr.InvalidTopicException) {
		t.Fatalf("produce to %s: %v, want INVALID_TOPIC_EXCEPTION", topic, err)
	}
}
