package node_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/clustertest"
	"github.com/gregorhq/gregor/internal/records"
)

// flakyProxy forwards TCP connections to a target and, while dropping is on, cuts each
// connection (both ways at once) after a random number of bytes in either direction: requests
// are torn mid-frame, and responses of requests the broker did handle are lost, so producers
// retry batches the broker already has.
type flakyProxy struct {
	ln       net.Listener
	target   atomic.Pointer[string]
	dropping atomic.Bool
	drops    atomic.Int64
	wg       sync.WaitGroup
}

func startFlakyProxy(t *testing.T) *flakyProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &flakyProxy{ln: ln}
	p.dropping.Store(true)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *flakyProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		target := p.target.Load()
		if target == nil {
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", *target)
		if err != nil {
			c.Close()
			continue
		}
		var once sync.Once
		cut := func() { once.Do(func() { c.Close(); s.Close() }) }
		p.wg.Add(2)
		go p.pipe(s, c, 24<<10+rand.Int64N(104<<10), cut) // requests
		go p.pipe(c, s, 256+rand.Int64N(4<<10), cut)      // responses
	}
}

// pipe copies src to dst; with dropping on, it cuts both connections after budget bytes.
func (p *flakyProxy) pipe(dst, src net.Conn, budget int64, cut func()) {
	defer p.wg.Done()
	defer cut()
	buf := make([]byte, 4096)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			// The budget counts only bytes copied while dropping is on.
			if p.dropping.Load() {
				if int64(n) >= budget {
					dst.Write(buf[:budget]) // a torn frame
					p.drops.Add(1)
					return
				}
				budget -= int64(n)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				return
			}
			return
		}
	}
}

// TestIdempotentProducerThroughDroppedConnections is acceptance 1 of producer guarantees: an
// idempotent franz-go producer writes through a proxy that keeps cutting connections, and the
// topic ends up with every record exactly once, in order per partition.
func TestIdempotentProducerThroughDroppedConnections(t *testing.T) {
	const total, partitions = 200_000, 4
	proxy := startFlakyProxy(t)
	n := clustertest.StartNode(t, "advertised.listeners", "PLAINTEXT://"+proxy.ln.Addr().String())
	addr := n.Addr()
	proxy.target.Store(&addr)
	proxy.dropping.Store(false)
	createTopic(t, proxy.ln.Addr().String(), "idem", partitions, nil)

	cl := newClient(t, proxy.ln.Addr().String(),
		kgo.DefaultProduceTopic("idem"),
		kgo.ProducerLinger(5*time.Millisecond),
		// Batches well below the proxy's cut, so that most requests get through whole.
		kgo.ProducerBatchMaxBytes(4<<10),
		kgo.RetryBackoffFn(func(int) time.Duration { return 5 * time.Millisecond }),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
	)
	ctx := testContext(t)
	// The first record gets the producer id before the cutting starts: franz-go gives up on
	// InitProducerId when a connection closes right after the request (it takes that for a
	// missing SASL handshake), which is not what this test is about.
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("0")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	proxy.dropping.Store(true)
	var failed atomic.Int64
	for i := 1; i < total; i++ {
		cl.Produce(ctx, &kgo.Record{Value: []byte(strconv.Itoa(i))}, func(r *kgo.Record, err error) {
			if err != nil && failed.Add(1) == 1 {
				t.Errorf("produce %s: %v", r.Value, err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	proxy.dropping.Store(false)
	if t.Failed() {
		return
	}
	if proxy.drops.Load() < 20 {
		t.Fatalf("only %d connections were cut: the test proves nothing", proxy.drops.Load())
	}
	t.Logf("%d connections cut", proxy.drops.Load())

	ends, err := kadm.NewClient(newClient(t, addr)).ListEndOffsets(ctx, "idem")
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	ends.Each(func(o kadm.ListedOffset) { sum += o.Offset })
	if sum != total {
		t.Fatalf("the topic holds %d records, %d were produced", sum, total)
	}
	got := consumeN(t, addr, "idem", total)
	seen := make([]bool, total)
	last := map[int32]int{}
	for _, r := range got {
		v, err := strconv.Atoi(string(r.Value))
		if err != nil || v < 0 || v >= total || seen[v] {
			t.Fatalf("record %q at %d/%d: duplicate or unknown", r.Value, r.Partition, r.Offset)
		}
		seen[v] = true
		if prev, ok := last[r.Partition]; ok && v <= prev {
			t.Fatalf("partition %d: %d after %d", r.Partition, v, prev)
		}
		last[r.Partition] = v
	}
}

// produceRaw sends one batch to partition 0 of topic and returns the partition's answer.
func produceRaw(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, batch []byte) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	return produceRawTxn(t, ctx, cl, nil, topic, batch)
}

// produceRawTxn is produceRaw in a request with a transactional id (nil: none).
func produceRawTxn(t *testing.T, ctx context.Context, cl *kgo.Client, txnID *string, topic string, batch []byte) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.TransactionID, req.Acks, req.TimeoutMillis = txnID, -1, 10000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = append([]byte(nil), batch...)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Topics[0].Partitions[0]
}

// idempotentBatch builds a batch of n records of producer pid/epoch from sequence seq.
func idempotentBatch(pid int64, epoch int16, seq int32, n int) []byte {
	b := records.NewBuilder(records.BatchHeader{ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq,
		BaseTimestamp: time.Now().UnixMilli()})
	for i := range n {
		b.Add(records.Record{OffsetDelta: int32(i), Value: fmt.Appendf(nil, "seq-%d-%0200d", int(seq)+i, 0)})
	}
	return b.Build()
}

// TestIdempotentRetryAfterKill9 is acceptance 2 of producer guarantees: a batch acknowledged
// before a kill -9 and sent again after the restart is answered with its original offset and
// not written twice; the producer's next sequence is accepted.
func TestIdempotentRetryAfterKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a gregor process")
	}
	p := clustertest.StartProcess(t, "")
	// Small segments: the state is rebuilt from a roll snapshot plus the batches after it.
	createTopic(t, p.Addr(), "idem", 1, map[string]*string{"segment.bytes": kmsg.StringPtr("2000")})
	ctx := testContext(t)
	cl := newClient(t, p.Addr())
	init := kmsg.NewPtrInitProducerIDRequest()
	ir, err := init.RequestWith(ctx, cl)
	if err != nil || ir.ErrorCode != 0 {
		t.Fatalf("InitProducerId: %v %v", err, kerr.ErrorForCode(ir.ErrorCode))
	}
	pid, epoch := ir.ProducerID, ir.ProducerEpoch

	var batches [][]byte
	var offsets []int64
	for i := 0; i < 12; i++ {
		b := idempotentBatch(pid, epoch, int32(i*3), 3)
		resp := produceRaw(t, ctx, cl, "idem", b)
		if resp.ErrorCode != 0 || resp.BaseOffset != int64(i*3) {
			t.Fatalf("batch %d: offset %d %v", i, resp.BaseOffset, kerr.ErrorForCode(resp.ErrorCode))
		}
		batches, offsets = append(batches, b), append(offsets, resp.BaseOffset)
	}
	cl.Close()
	p.Kill()
	p.Restart()

	cl = newClient(t, p.Addr())
	for i := 7; i < 12; i++ {
		resp := produceRaw(t, ctx, cl, "idem", batches[i])
		if resp.ErrorCode != 0 || resp.BaseOffset != offsets[i] {
			t.Fatalf("retry of batch %d after kill -9: offset %d (want %d) %v", i, resp.BaseOffset, offsets[i], kerr.ErrorForCode(resp.ErrorCode))
		}
	}
	resp := produceRaw(t, ctx, cl, "idem", idempotentBatch(pid, epoch, 36, 1))
	if resp.ErrorCode != 0 || resp.BaseOffset != 36 {
		t.Fatalf("next sequence: offset %d %v", resp.BaseOffset, kerr.ErrorForCode(resp.ErrorCode))
	}
	got := consumeN(t, p.Addr(), "idem", 37)
	for i, r := range got {
		if want := fmt.Sprintf("seq-%d-", i); r.Offset != int64(i) || string(r.Value[:len(want)]) != want {
			t.Fatalf("record %d: %q at %d", i, r.Value[:12], r.Offset)
		}
	}
	if len(got) != 37 {
		t.Fatalf("%d records", len(got))
	}
}

// TestInitProducerID checks the answers of InitProducerId, and that ids stay unique across a
// restart.
func TestInitProducerID(t *testing.T) {
	n := clustertest.StartNode(t)
	ctx := testContext(t)
	initPID := func(txnID *string, pid int64, epoch int16) *kmsg.InitProducerIDResponse {
		t.Helper()
		cl := newClient(t, n.Addr())
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionalID, req.ProducerID, req.ProducerEpoch = txnID, pid, epoch
		// Straight to the broker: the client would look for a transaction coordinator first.
		resp, err := cl.Broker(1).RetriableRequest(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.(*kmsg.InitProducerIDResponse)
	}
	seen := map[int64]bool{}
	fresh := func(resp *kmsg.InitProducerIDResponse) {
		t.Helper()
		if resp.ErrorCode != 0 || resp.ProducerEpoch != 0 || resp.ProducerID < 0 || seen[resp.ProducerID] {
			t.Fatalf("got id %d epoch %d %v", resp.ProducerID, resp.ProducerEpoch, kerr.ErrorForCode(resp.ErrorCode))
		}
		seen[resp.ProducerID] = true
	}
	first := initPID(nil, -1, -1)
	fresh(first)
	// An idempotent producer that re-initializes (KIP-360) gets a new id, as from Kafka.
	fresh(initPID(nil, first.ProducerID, 0))
	for _, c := range []struct {
		txnID *string
		pid   int64
		epoch int16
		want  *kerr.Error
		name  string
	}{
		{kmsg.StringPtr("tx"), -1, -1, kerr.InvalidTransactionTimeout, "transactional id without a timeout"},
		{kmsg.StringPtr(""), -1, -1, kerr.InvalidRequest, "empty transactional id"},
		{nil, 5, -1, kerr.InvalidRequest, "id without epoch"},
	} {
		if resp := initPID(c.txnID, c.pid, c.epoch); resp.ErrorCode != c.want.Code {
			t.Errorf("%s: %v, want %v", c.name, kerr.ErrorForCode(resp.ErrorCode), c.want)
		}
	}
	n.Restart()
	fresh(initPID(nil, -1, -1))
}
