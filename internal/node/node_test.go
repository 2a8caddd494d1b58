package node_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/clustertest"
)

func newClient(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func createTopic(t *testing.T, addr, topic string, partitions int32, configs map[string]*string) {
	t.Helper()
	adm := kadm.NewClient(newClient(t, addr))
	resp, err := adm.CreateTopic(testContext(t), partitions, 1, configs, topic)
	if err != nil || resp.Err != nil {
		t.Fatalf("create topic %s: %v %v", topic, err, resp.Err)
	}
}

// consumeN reads n records from the start of topic.
func consumeN(t *testing.T, addr, topic string, n int) []*kgo.Record {
	t.Helper()
	cl := newClient(t, addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx := testContext(t)
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", len(out), n, err)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		out = append(out, fs.Records()...)
	}
	return out
}

func TestProduceConsumeRoundTrip(t *testing.T) {
	n := clustertest.StartNode(t)
	createTopic(t, n.Addr(), "orders", 3, nil)

	cl := newClient(t, n.Addr(), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx := testContext(t)
	const count = 300
	ts := time.UnixMilli(1_700_000_000_000)
	for i := 0; i < count; i++ {
		r := &kgo.Record{
			Topic:     "orders",
			Partition: int32(i % 3),
			Key:       []byte(fmt.Sprintf("k%d", i)),
			Value:     []byte(fmt.Sprintf("v%d", i)),
			Headers:   []kgo.RecordHeader{{Key: "h", Value: []byte(fmt.Sprint(i))}},
			Timestamp: ts.Add(time.Duration(i) * time.Millisecond),
		}
		cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce: %v", err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	got := consumeN(t, n.Addr(), "orders", count)
	if len(got) != count {
		t.Fatalf("got %d records, want %d", len(got), count)
	}
	next := map[int32]int64{}
	for _, r := range got {
		var i int
		fmt.Sscanf(string(r.Key), "k%d", &i)
		if string(r.Value) != fmt.Sprintf("v%d", i) || r.Partition != int32(i%3) {
			t.Fatalf("record %q=%q on partition %d", r.Key, r.Value, r.Partition)
		}
		if len(r.Headers) != 1 || string(r.Headers[0].Value) != fmt.Sprint(i) {
			t.Fatalf("record %d headers %v", i, r.Headers)
		}
		if !r.Timestamp.Equal(ts.Add(time.Duration(i) * time.Millisecond)) {
			t.Fatalf("record %d timestamp %v", i, r.Timestamp)
		}
		if r.Offset != next[r.Partition] {
			t.Fatalf("partition %d: offset %d, want %d", r.Partition, r.Offset, next[r.Partition])
		}
		next[r.Partition]++
	}
}

func TestRecordsSurviveCleanRestart(t *testing.T) {
	n := clustertest.StartNode(t)
	createTopic(t, n.Addr(), "durable", 1, nil)
	cl := newClient(t, n.Addr())
	ctx := testContext(t)
	for i := 0; i < 50; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "durable", Value: []byte(fmt.Sprintf("r%d", i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()
	n.Restart()

	got := consumeN(t, n.Addr(), "durable", 50)
	for i, r := range got {
		if string(r.Value) != fmt.Sprintf("r%d", i) || r.Offset != int64(i) {
			t.Fatalf("after restart record %d = %q at %d", i, r.Value, r.Offset)
		}
	}
	// The topic keeps its id and the log keeps growing from where it was.
	cl2 := newClient(t, n.Addr())
	res := cl2.ProduceSync(ctx, &kgo.Record{Topic: "durable", Value: []byte("after")})
	if r, err := res.First(); err != nil || r.Offset != 50 {
		t.Fatalf("produce after restart: offset %v err %v", r, err)
	}
}

func TestAutoCreateTopic(t *testing.T) {
	n := clustertest.StartNode(t, "num.partitions", "2")
	cl := newClient(t, n.Addr(), kgo.DefaultProduceTopic("auto"), kgo.AllowAutoTopicCreation())
	ctx := testContext(t)
	if err := cl.ProduceSync(ctx, kgo.StringRecord("x")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	td, err := adm.ListTopics(ctx, "auto")
	if err != nil {
		t.Fatal(err)
	}
	if d := td["auto"]; d.Err != nil || len(d.Partitions) != 2 || d.ID == [16]byte{} {
		t.Fatalf("auto-created topic: %+v", d)
	}
}

func TestAutoCreateDisabled(t *testing.T) {
	n := clustertest.StartNode(t, "auto.create.topics.enable", "false")
	cl := newClient(t, n.Addr())
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr("missing")
	req.Topics = append(req.Topics, rt)
	req.AllowAutoTopicCreation = true
	resp, err := req.RequestWith(testContext(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("metadata for a missing topic: %+v", resp.Topics)
	}
}

func TestTopicAdmin(t *testing.T) {
	n := clustertest.StartNode(t)
	adm := kadm.NewClient(newClient(t, n.Addr()))
	ctx := testContext(t)

	if r, err := adm.CreateTopic(ctx, 2, 1, nil, "admin"); err != nil || r.Err != nil {
		t.Fatalf("create: %v %v", err, r.Err)
	}
	if r, _ := adm.CreateTopic(ctx, 2, 1, nil, "admin"); !errors.Is(r.Err, kerr.TopicAlreadyExists) {
		t.Fatalf("duplicate create: %v", r.Err)
	}
	if r, _ := adm.CreateTopic(ctx, 1, 1, nil, "bad/name"); !errors.Is(r.Err, kerr.InvalidTopicException) {
		t.Fatalf("invalid name: %v", r.Err)
	}
	if r, _ := adm.CreateTopic(ctx, 1, 3, nil, "toomany"); !errors.Is(r.Err, kerr.InvalidReplicationFactor) {
		t.Fatalf("replication factor 3 on one broker: %v", r.Err)
	}
	if r, _ := adm.ValidateCreateTopics(ctx, 1, 1, nil, "dryrun"); r.Error() != nil {
		t.Fatalf("validate only: %v", r.Error())
	}
	if td, _ := adm.ListTopics(ctx); td.Has("dryrun") {
		t.Fatal("validate_only created the topic")
	}

	if r, err := adm.CreatePartitions(ctx, 2, "admin"); err != nil || r["admin"].Err != nil {
		t.Fatalf("add partitions: %v %v", err, r["admin"].Err)
	}
	if r, _ := adm.UpdatePartitions(ctx, 1, "admin"); !errors.Is(r["admin"].Err, kerr.InvalidPartitions) {
		t.Fatalf("shrinking partitions: %v", r["admin"].Err)
	}
	td, err := kadm.NewClient(newClient(t, n.Addr())).ListTopics(ctx, "admin")
	if err != nil || len(td["admin"].Partitions) != 4 {
		t.Fatalf("after adding partitions: %v %+v", err, td["admin"])
	}
	// The new partitions take writes.
	cl := newClient(t, n.Addr(), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "admin", Partition: 3, Value: []byte("p3")}).FirstErr(); err != nil {
		t.Fatalf("produce to a new partition: %v", err)
	}

	if r, err := adm.DeleteTopics(ctx, "admin"); err != nil || r["admin"].Err != nil {
		t.Fatalf("delete: %v %v", err, r["admin"].Err)
	}
	if r, _ := adm.DeleteTopics(ctx, "admin"); !errors.Is(r["admin"].Err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("second delete: %v", r["admin"].Err)
	}
	// A new client: kgo answers metadata requests from a short-lived cache.
	if td, _ := kadm.NewClient(newClient(t, n.Addr())).ListTopics(ctx); td.Has("admin") {
		t.Fatal("deleted topic still listed")
	}
}

func TestListOffsets(t *testing.T) {
	n := clustertest.StartNode(t)
	createTopic(t, n.Addr(), "offsets", 1, nil)
	cl := newClient(t, n.Addr())
	ctx := testContext(t)
	base := time.UnixMilli(1_700_000_000_000)
	for i := 0; i < 10; i++ {
		r := &kgo.Record{Topic: "offsets", Value: []byte("x"), Timestamp: base.Add(time.Duration(i) * time.Second)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	adm := kadm.NewClient(cl)
	start, err := adm.ListStartOffsets(ctx, "offsets")
	if err != nil {
		t.Fatal(err)
	}
	end, err := adm.ListEndOffsets(ctx, "offsets")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := start.Lookup("offsets", 0); o.Offset != 0 {
		t.Fatalf("start offset %d", o.Offset)
	}
	if o, _ := end.Lookup("offsets", 0); o.Offset != 10 {
		t.Fatalf("end offset %d", o.Offset)
	}
	at, err := adm.ListOffsetsAfterMilli(ctx, base.Add(4500*time.Millisecond).UnixMilli(), "offsets")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := at.Lookup("offsets", 0); o.Offset != 5 {
		t.Fatalf("offset after 4.5s: %d, want 5", o.Offset)
	}
	max, err := adm.ListMaxTimestampOffsets(ctx, "offsets")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := max.Lookup("offsets", 0); o.Offset != 9 || o.Timestamp != base.Add(9*time.Second).UnixMilli() {
		t.Fatalf("max timestamp offset %d ts %d", o.Offset, o.Timestamp)
	}
}

// TestFetchWaitsForData checks the long poll: a Fetch with min_bytes 1 and a max wait far
// longer than the test's deadline is answered with the record a later produce brings, so an
// append must have woken it. (If the produce happens to land first, the fetch is answered at
// once, which is correct too.)
func TestFetchWaitsForData(t *testing.T) {
	n := clustertest.StartNode(t)
	createTopic(t, n.Addr(), "poll", 1, nil)
	consumer := newClient(t, n.Addr())
	ctx := testContext(t) // 60s, half of the fetch's max wait

	req := kmsg.NewPtrFetchRequest()
	req.Version = 11
	req.ReplicaID = -1
	req.MaxWaitMillis = 120_000
	req.MinBytes = 1
	req.MaxBytes = 1 << 20
	req.SessionEpoch = -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = "poll"
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes = 1 << 20
	rp.CurrentLeaderEpoch = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)

	type result struct {
		resp *kmsg.FetchResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := req.RequestWith(ctx, consumer.Broker(1))
		done <- result{resp, err}
	}()
	producer := newClient(t, n.Addr())
	if err := producer.ProduceSync(ctx, &kgo.Record{Topic: "poll", Value: []byte("wake")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.err != nil {
		t.Fatalf("fetch was not woken by the append: %v", res.err)
	}
	p := res.resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 || p.HighWatermark != 1 || len(p.RecordBatches) == 0 {
		t.Fatalf("fetch answered error %d, high watermark %d, %d record bytes", p.ErrorCode, p.HighWatermark, len(p.RecordBatches))
	}
}

func TestUnknownTopicOrPartition(t *testing.T) {
	n := clustertest.StartNode(t, "auto.create.topics.enable", "false")
	cl := newClient(t, n.Addr())
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = "nope"
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Timestamp = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	// Straight to the broker: the client would refuse a topic it knows nothing of.
	resp, err := req.RequestWith(testContext(t), cl.Broker(1))
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("error code %d", code)
	}
}

// rawRequest sends one request frame on a fresh connection and returns the response body
// after the correlation id, or an error if the broker closed the connection.
func rawRequest(addr string, frame []byte) ([]byte, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(frame); err != nil {
		return nil, err
	}
	r := bufio.NewReader(c)
	var size int32
	if err := binary.Read(r, binary.BigEndian, &size); err != nil {
		return nil, err
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return body[4:], nil
}

func frameOf(key, version int16, body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(key))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, 42)     // correlation id
	b = binary.BigEndian.AppendUint16(b, 0xffff) // null client id
	b = append(b, body...)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

func TestApiVersionsUnsupportedVersion(t *testing.T) {
	n := clustertest.StartNode(t)
	// Version 99 with a body no version has: answered with v0 and UNSUPPORTED_VERSION.
	body, err := rawRequest(n.Addr(), frameOf(18, 99, []byte{0, 0, 0}))
	if err != nil {
		t.Fatal(err)
	}
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	if err := resp.ReadFrom(body); err != nil {
		t.Fatal(err)
	}
	if resp.ErrorCode != kerr.UnsupportedVersion.Code || len(resp.ApiKeys) == 0 {
		t.Fatalf("error %d, %d api keys", resp.ErrorCode, len(resp.ApiKeys))
	}
}

// TestBadFramesCloseOnlyTheirConnection sends broken frames; each closes its own connection,
// and a client on another connection keeps working throughout.
func TestBadFramesCloseOnlyTheirConnection(t *testing.T) {
	n := clustertest.StartNode(t, "socket.request.max.bytes", "1048576")
	createTopic(t, n.Addr(), "steady", 1, nil)
	cl := newClient(t, n.Addr())
	ctx := testContext(t)

	huge := binary.BigEndian.AppendUint32(nil, 1<<30) // over socket.request.max.bytes
	negative := binary.BigEndian.AppendUint32(nil, 0xfffffff0)
	unknownKey := frameOf(9999, 0, nil)
	// A Produce whose topic array claims 2^31-1 entries in a 20-byte body.
	lyingCount := frameOf(0, 7, []byte{0xff, 0xff, 0, 0, 0, 1, 0, 0, 0x75, 0x30, 0x7f, 0xff, 0xff, 0xff})
	shortHeader := []byte{0, 0, 0, 3, 0, 1, 0}
	for name, frame := range map[string][]byte{"huge": huge, "negative": negative, "unknown key": unknownKey, "lying count": lyingCount, "short header": shortHeader} {
		if _, err := rawRequest(n.Addr(), frame); err == nil {
			t.Errorf("%s: got a response, want the connection closed", name)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "steady", Value: []byte(name)}).FirstErr(); err != nil {
			t.Fatalf("after %s frame: %v", name, err)
		}
	}
}

// batchBytes encodes a one-record RecordBatch v2 as a producer would.
func batchBytes(value string) []byte {
	rec := kmsg.NewRecord()
	rec.Value = []byte(value)
	rec.Length = int32(len(rec.AppendTo(nil)) - 1) // the length varint of 0 is one byte
	recBytes := rec.AppendTo(nil)
	b := kmsg.NewRecordBatch()
	b.Magic = 2
	b.NumRecords = 1
	b.ProducerID, b.ProducerEpoch, b.FirstSequence = -1, -1, -1
	b.FirstTimestamp, b.MaxTimestamp = 1_700_000_000_000, 1_700_000_000_000
	b.Records = recBytes
	raw := b.AppendTo(nil)
	b.Length = int32(len(raw) - 12)
	raw = b.AppendTo(nil)
	b.CRC = int32(crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b.AppendTo(nil)
}

// TestBadBatchFailsOnlyItsPartition produces to two partitions in one request, one batch
// corrupted: that partition gets CORRUPT_MESSAGE, the other is written.
func TestBadBatchFailsOnlyItsPartition(t *testing.T) {
	n := clustertest.StartNode(t, "message.max.bytes", "2000")
	createTopic(t, n.Addr(), "mixed", 3, nil)
	cl := newClient(t, n.Addr())
	ctx := testContext(t)

	corrupt := batchBytes("bad")
	corrupt[len(corrupt)-1] ^= 0xff
	tooLarge := batchBytes(string(make([]byte, 4000)))
	req := kmsg.NewPtrProduceRequest()
	req.Acks = -1
	req.TimeoutMillis = 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "mixed"
	for i, recs := range [][]byte{corrupt, batchBytes("good"), tooLarge} {
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition = int32(i)
		rp.Records = recs
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl.Broker(1))
	if err != nil {
		t.Fatal(err)
	}
	want := []int16{kerr.CorruptMessage.Code, 0, kerr.MessageTooLarge.Code}
	for i, p := range resp.Topics[0].Partitions {
		if p.ErrorCode != want[p.Partition] {
			t.Errorf("partition %d: error %d, want %d", i, p.ErrorCode, want[p.Partition])
		}
	}
	end, err := kadm.NewClient(cl).ListEndOffsets(ctx, "mixed")
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range []int64{0, 1, 0} {
		if o, _ := end.Lookup("mixed", int32(p)); o.Offset != want {
			t.Errorf("partition %d end offset %d, want %d", p, o.Offset, want)
		}
	}
}

// TestLogAppendTime checks a LogAppendTime topic stamps batches with the broker's clock.
func TestLogAppendTime(t *testing.T) {
	n := clustertest.StartNode(t)
	createTopic(t, n.Addr(), "stamped", 1, map[string]*string{"message.timestamp.type": kmsg.StringPtr("LogAppendTime")})
	cl := newClient(t, n.Addr())
	ctx := testContext(t)
	before := time.Now().Add(-time.Second)
	old := time.UnixMilli(1_000_000_000_000)
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "stamped", Value: []byte("x"), Timestamp: old}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	r := consumeN(t, n.Addr(), "stamped", 1)[0]
	if r.Attrs.TimestampType() != 1 || r.Timestamp.Before(before) || r.Timestamp.After(time.Now().Add(time.Second)) {
		t.Fatalf("timestamp type %d, timestamp %v (produced with %v)", r.Attrs.TimestampType(), r.Timestamp, old)
	}
}
