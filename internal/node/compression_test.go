package node_test

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// codecs are franz-go's codecs with the attribute value Kafka gives each.
var codecs = []struct {
	name  string
	codec kgo.CompressionCodec
	attr  uint8
}{
	{"none", kgo.NoCompression(), 0},
	{"gzip", kgo.GzipCompression(), 1},
	{"snappy", kgo.SnappyCompression(), 2},
	{"lz4", kgo.Lz4Compression(), 3},
	{"zstd", kgo.ZstdCompression(), 4},
}

// produceKeyed produces n records key-i=value-i in one batch with the codec.
func produceKeyed(t *testing.T, addr, topic string, codec kgo.CompressionCodec, n int, opts ...kgo.Opt) {
	t.Helper()
	opts = append(opts, kgo.ProducerBatchCompression(codec), kgo.DefaultProduceTopic(topic))
	cl := newClient(t, addr, opts...)
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Key: fmt.Appendf(nil, "key-%d", i), Value: bytes.Repeat(fmt.Appendf(nil, "value-%d ", i), 20)}
	}
	if err := cl.ProduceSync(testContext(t), recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// checkConsumed reads n records and checks their values and the codec of the batches they
// were stored in, as franz-go reports it from the batch attributes.
func checkConsumed(t *testing.T, addr, topic string, n int, wantCodec uint8) []*kgo.Record {
	t.Helper()
	recs := consumeN(t, addr, topic, n)
	for i, r := range recs {
		want := bytes.Repeat(fmt.Appendf(nil, "value-%d ", i), 20)
		if string(r.Key) != fmt.Sprintf("key-%d", i) || !bytes.Equal(r.Value, want) || r.Offset != int64(i) {
			t.Fatalf("record %d: offset %d key %q", i, r.Offset, r.Key)
		}
		if c := r.Attrs.CompressionType(); c != wantCodec {
			t.Fatalf("record %d stored with codec %d, want %d", i, c, wantCodec)
		}
	}
	return recs
}

// TestCompressionCodecsRoundTrip produces with every codec to a compression.type=producer
// topic: the batch is stored (and served) as the producer compressed it.
func TestCompressionCodecsRoundTrip(t *testing.T) {
	n := clustertest.StartNode(t)
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			topic := "codec-" + c.name
			createTopic(t, n.Addr(), topic, 1, nil)
			produceKeyed(t, n.Addr(), topic, c.codec, 200)
			checkConsumed(t, n.Addr(), topic, 200, c.attr)
		})
	}
}

// TestCompressionTypeReencodes: a topic's compression.type other than producer re-encodes
// batches of another codec, at the topic's level, and consumers read them; LogAppendTime is
// stamped on the re-encoded batch.
func TestCompressionTypeReencodes(t *testing.T) {
	n := clustertest.StartNode(t)
	for _, tc := range []struct {
		name    string
		configs map[string]*string
		from    kgo.CompressionCodec
		want    uint8
	}{
		{"gzip to zstd", map[string]*string{"compression.type": strp("zstd"), "compression.zstd.level": strp("19")}, kgo.GzipCompression(), 4},
		{"lz4 to uncompressed", map[string]*string{"compression.type": strp("uncompressed")}, kgo.Lz4Compression(), 0},
		{"none to gzip", map[string]*string{"compression.type": strp("gzip"), "compression.gzip.level": strp("1")}, kgo.NoCompression(), 1},
		{"snappy to lz4, LogAppendTime", map[string]*string{"compression.type": strp("lz4"),
			"message.timestamp.type": strp("LogAppendTime")}, kgo.SnappyCompression(), 3},
		{"zstd kept", map[string]*string{"compression.type": strp("zstd")}, kgo.ZstdCompression(), 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topic := fmt.Sprintf("reencode-%d", tc.want) + fmt.Sprint(len(tc.configs))
			createTopic(t, n.Addr(), topic, 1, tc.configs)
			before := time.Now().Add(-time.Second)
			produceKeyed(t, n.Addr(), topic, tc.from, 100)
			recs := checkConsumed(t, n.Addr(), topic, 100, tc.want)
			if tc.configs["message.timestamp.type"] != nil {
				for _, r := range recs {
					if r.Attrs.TimestampType() != 1 || r.Timestamp.Before(before) {
						t.Fatalf("record %d: timestamp %v, LogAppendTime %v", r.Offset, r.Timestamp, r.Attrs.TimestampType())
					}
				}
			}
		})
	}
}

// TestCompressedKeylessRecordOnCompactedTopic: the records of a compressed batch are checked
// for keys like any others.
func TestCompressedKeylessRecordOnCompactedTopic(t *testing.T) {
	n := clustertest.StartNode(t)
	createTopic(t, n.Addr(), "keyed-compressed", 1, map[string]*string{"cleanup.policy": strp("compact")})
	cl := newClient(t, n.Addr(), kgo.ProducerBatchCompression(kgo.ZstdCompression()), kgo.DefaultProduceTopic("keyed-compressed"))
	ctx := testContext(t)
	err := cl.ProduceSync(ctx,
		&kgo.Record{Key: []byte("k"), Value: []byte("v")},
		&kgo.Record{Value: []byte("no key, in the middle of a compressed batch")},
		&kgo.Record{Key: []byte("k2"), Value: []byte("v")}).FirstErr()
	if !errors.Is(err, kerr.InvalidRecord) {
		t.Fatalf("keyless record in a compressed batch: %v, want INVALID_RECORD", err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte("k"), Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatalf("keyed record: %v", err)
	}
}

// TestCompactionOfCompressedBatches feeds a compacted topic compressed batches only: once the
// cleaner has caught up, every key below the active segment appears once, with its latest
// value, still in compressed batches.
func TestCompactionOfCompressedBatches(t *testing.T) {
	n := clustertest.StartNode(t, "log.cleaner.backoff.ms", "50")
	const topic = "compacted-compressed"
	createTopic(t, n.Addr(), topic, 1, map[string]*string{
		"cleanup.policy":            strp("compact"),
		"segment.bytes":             strp("4096"),
		"min.cleanable.dirty.ratio": strp("0.01"),
	})
	ctx := testContext(t)
	const rounds, keys = 20, 30
	latest := map[string]string{}
	for round := range rounds {
		c := codecs[1+round%4] // gzip, snappy, lz4, zstd in turn
		cl := newClient(t, n.Addr(), kgo.ProducerBatchCompression(c.codec), kgo.DefaultProduceTopic(topic))
		var recs []*kgo.Record
		for k := range keys {
			key, value := fmt.Sprintf("k%02d", k), fmt.Sprintf("round-%d-%s", round, c.name)
			latest[key] = value
			recs = append(recs, &kgo.Record{Key: []byte(key), Value: []byte(value)})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	// Records of keys of their own, enough to roll past the test keys' segments.
	cl := newClient(t, n.Addr(), kgo.ProducerBatchCompression(kgo.ZstdCompression()), kgo.DefaultProduceTopic(topic))
	const fillers = 200
	for i := range fillers {
		if err := cl.ProduceSync(ctx, &kgo.Record{Key: fmt.Appendf(nil, "f%03d", i), Value: []byte("filler value")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	const end = rounds*keys + fillers
	deadline := time.Now().Add(30 * time.Second)
	for backoff := 50 * time.Millisecond; ; backoff = min(2*backoff, time.Second) {
		seen := map[string]int{}
		problem := ""
		for _, r := range consumeUpTo(t, n.Addr(), topic, end) {
			k := string(r.Key)
			seen[k]++
			if want, ok := latest[k]; ok && seen[k] == 1 && string(r.Value) != want && problem == "" {
				problem = fmt.Sprintf("key %s: first value read %q, latest %q", k, r.Value, want)
			}
			// (franz-go sends a lone filler uncompressed: compressing it would not shrink it.)
			if r.Offset < rounds*keys && r.Attrs.CompressionType() == 0 {
				t.Fatalf("record %d stored uncompressed", r.Offset)
			}
		}
		for k := range latest {
			if seen[k] != 1 && problem == "" {
				problem = fmt.Sprintf("key %s read %d times", k, seen[k])
			}
		}
		if problem == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not compacted in time: %s", problem)
		}
		time.Sleep(backoff) // polling a condition, with a deadline
	}
}

// consumeUpTo reads the topic's partition 0 from the start until the record before offset
// end (compaction leaves gaps, so counting records would not do).
func consumeUpTo(t *testing.T, addr, topic string, end int64) []*kgo.Record {
	t.Helper()
	cl := newClient(t, addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer cl.Close()
	ctx := testContext(t)
	var out []*kgo.Record
	for len(out) == 0 || out[len(out)-1].Offset < end-1 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("reading up to %d: %v", end, err)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch: %v", err) })
		out = append(out, fs.Records()...)
	}
	return out
}

// compressedBatch encodes a one-record RecordBatch v2 whose records section is body, as
// compressed with the codec attr; the record count says 1 whatever body holds.
func compressedBatch(attr int16, body []byte) []byte {
	b := kmsg.NewRecordBatch()
	b.Magic = 2
	b.Attributes = attr
	b.NumRecords = 1
	b.ProducerID, b.ProducerEpoch, b.FirstSequence = -1, -1, -1
	b.FirstTimestamp, b.MaxTimestamp = time.Now().UnixMilli(), time.Now().UnixMilli()
	b.Records = body
	raw := b.AppendTo(nil)
	b.Length = int32(len(raw) - 12)
	raw = b.AppendTo(nil)
	b.CRC = int32(crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b.AppendTo(nil)
}

// TestDecompressionBomb produces, with raw Produce requests, batches of a few kilobytes that
// inflate to 1 GiB of zeros (copies of one 1 MiB gzip member or zstd frame): each partition
// gets CORRUPT_MESSAGE, nothing is written, and the broker goes on serving produce and fetch.
func TestDecompressionBomb(t *testing.T) {
	n := clustertest.StartNode(t)
	createTopic(t, n.Addr(), "bombed", 2, nil)
	// Refusing a bomb means inflating it up to the limit first, which on a loaded machine
	// under -race takes longer than the client's default request timeout.
	cl := newClient(t, n.Addr(), kgo.DefaultProduceTopic("bombed"), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequestTimeoutOverhead(time.Minute))
	ctx := testContext(t)

	zeros := make([]byte, 1<<20)
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(zeros)
	zw.Close()
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression))
	zs := enc.EncodeAll(zeros, nil)
	// 1 GiB of zstd is a few tens of KB; of gzip, about 1 MiB, over max.message.bytes, so
	// gzip inflates to 256 MiB, still four times the limit.
	bombs := [][]byte{
		compressedBatch(1, bytes.Repeat(gz.Bytes(), 256)),
		compressedBatch(4, bytes.Repeat(zs, 1024)),
	}
	req := kmsg.NewPtrProduceRequest()
	req.Version = 9
	req.Acks = -1
	req.TimeoutMillis = 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "bombed"
	for i, b := range bombs {
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition = int32(i)
		rp.Records = b
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl.Broker(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range resp.Topics[0].Partitions {
		if p.ErrorCode != kerr.CorruptMessage.Code {
			t.Errorf("partition %d: error %d, want CORRUPT_MESSAGE", p.Partition, p.ErrorCode)
		}
	}
	// Still healthy: a produce to each partition lands at offset 0 and is read back.
	for p := range int32(2) {
		r := &kgo.Record{Partition: p, Value: []byte("after the bomb")}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil || r.Offset != 0 {
			t.Fatalf("produce after the bomb: offset %d, %v", r.Offset, err)
		}
	}
	if got := consumeN(t, n.Addr(), "bombed", 2); len(got) != 2 {
		t.Fatalf("read %d records", len(got))
	}
}

// TestProduceV2Refused: Produce v0-v2 are advertised (librdkafka compresses only for a broker
// whose Produce range starts at v0) but each partition of such a request gets
// UNSUPPORTED_VERSION.
func TestProduceV2Refused(t *testing.T) {
	n := clustertest.StartNode(t)
	createTopic(t, n.Addr(), "old", 1, nil)
	req := kmsg.NewPtrProduceRequest()
	req.Version = 2
	req.Acks = 1
	req.TimeoutMillis = 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "old"
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = compressedBatch(0, nil)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	body, err := rawRequest(n.Addr(), frameOf(0, 2, req.AppendTo(nil)))
	if err != nil {
		t.Fatal(err)
	}
	resp := kmsg.NewPtrProduceResponse()
	resp.Version = 2
	if err := resp.ReadFrom(body); err != nil {
		t.Fatal(err)
	}
	if got := resp.Topics[0].Partitions[0].ErrorCode; got != kerr.UnsupportedVersion.Code {
		t.Fatalf("Produce v2: error %d, want UNSUPPORTED_VERSION", got)
	}
	versions, err := kmsg.NewPtrApiVersionsRequest().RequestWith(testContext(t), newClient(t, n.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range versions.ApiKeys {
		if k.ApiKey == 0 && k.MinVersion != 0 {
			t.Fatalf("Produce advertised from v%d, want v0", k.MinVersion)
		}
	}
}
