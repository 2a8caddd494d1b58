package replica_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/api"
	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/records"
	"github.com/gregorhq/gregor/internal/replica"
	"github.com/gregorhq/gregor/internal/server"
	"github.com/gregorhq/gregor/internal/storage"
	"github.com/gregorhq/gregor/internal/wire"
)

// The replication tests run three brokers in-process, each a replica.Manager behind a real
// Kafka listener on 127.0.0.1 serving the api handlers, fed hand-made metadata images. A fake
// controller (testCluster.alterPartition) commits ISR changes into the next image.

const topic = "t"

var topicID = metadata.UUID{7}

type testBroker struct {
	id  int32
	fs  *storage.MemFS
	mgr *replica.Manager
	srv *server.Server
}

func (b *testBroker) addr() string { return b.srv.Addr().String() }

func (b *testBroker) partition(t *testing.T) *replica.Partition {
	t.Helper()
	p, err := b.mgr.Partition(topic, 0)
	if err != nil {
		t.Fatalf("broker %d: %v", b.id, err)
	}
	return p
}

type alterCall struct {
	leaderEpoch, partitionEpoch int32
	isr                         []int32
}

type testCluster struct {
	t       *testing.T
	lag     time.Duration
	configs map[string]string

	mu sync.Mutex
	// Guarded by mu.
	img     *metadata.Image
	part    metadata.Partition
	brokers map[int32]*testBroker
	calls   []alterCall
	// ineligible brokers make an ISR that adds them INELIGIBLE_REPLICA (fenced or in
	// controlled shutdown, as the controller sees them).
	ineligible map[int32]bool
}

// newCluster starts brokers ids, with partition t-0 placed as part.
func newCluster(t *testing.T, lag time.Duration, configs map[string]string, part metadata.Partition, ids ...int32) *testCluster {
	c := &testCluster{t: t, lag: lag, configs: configs, brokers: map[int32]*testBroker{}, part: part,
		img: &metadata.Image{Brokers: map[int32]metadata.Broker{}}}
	for _, id := range ids {
		c.start(id, storage.NewMemFS())
	}
	c.publish(func(*metadata.Partition) {})
	t.Cleanup(func() {
		for _, b := range c.snapshot() {
			c.stop(b.id)
		}
	})
	return c
}

func (c *testCluster) snapshot() []*testBroker {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*testBroker
	for _, b := range c.brokers {
		out = append(out, b)
	}
	return out
}

func (c *testCluster) broker(id int32) *testBroker {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.brokers[id]
}

// start opens broker id's manager on fs and its listener; publish makes the others see it.
func (c *testCluster) start(id int32, fs *storage.MemFS) *testBroker {
	t := c.t
	defaults := config.Default().TopicDefaults()
	logger := slog.New(slog.DiscardHandler)
	mgr, err := replica.NewManager(replica.Config{
		NodeID: id, LogDir: "/data", FS: fs, TopicDefaults: defaults, Logger: logger,
		InterBrokerListener: "PLAINTEXT",
		AlterPartition:      c.alterPartition,
		ReplicaFetchWaitMax: 100 * time.Millisecond,
		ReplicaFetchBackoff: 20 * time.Millisecond,
		ReplicaLagTimeMax:   c.lag,
	})
	if err != nil {
		t.Fatal(err)
	}
	reg := wire.NewRegistry()
	(&api.Handlers{NodeID: id, Replicas: mgr, Logger: logger}).Register(reg)
	srv, err := server.Listen(server.Config{Addr: "127.0.0.1:0", Registry: reg, Logger: logger, MaxRequestSize: 100 << 20})
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	b := &testBroker{id: id, fs: fs, mgr: mgr, srv: srv}
	c.mu.Lock()
	c.brokers[id] = b
	c.mu.Unlock()
	return b
}

func (c *testCluster) stop(id int32) *storage.MemFS {
	c.mu.Lock()
	b := c.brokers[id]
	delete(c.brokers, id)
	c.mu.Unlock()
	b.srv.Close()
	if err := b.mgr.Close(); err != nil {
		c.t.Errorf("closing broker %d: %v", id, err)
	}
	return b.fs
}

// publish changes the partition with fn, makes the next image (every started broker
// registered at its address; stopped ones keep their last registration) and applies it to
// every running broker.
func (c *testCluster) publish(fn func(*metadata.Partition)) {
	c.mu.Lock()
	fn(&c.part)
	img := c.imageLocked()
	brokers := make([]*testBroker, 0, len(c.brokers))
	for _, b := range c.brokers {
		brokers = append(brokers, b)
	}
	c.mu.Unlock()
	for _, b := range brokers {
		if err := b.mgr.Apply(img); err != nil {
			c.t.Errorf("broker %d: Apply: %v", b.id, err)
		}
	}
}

// applyOnly applies an image with fn's partition to broker id alone (a broker that believes
// something the others do not).
func (c *testCluster) applyOnly(id int32, fn func(*metadata.Partition)) {
	c.mu.Lock()
	saved := c.part
	saved.Replicas, saved.ISR = slices.Clone(saved.Replicas), slices.Clone(saved.ISR)
	fn(&c.part)
	img := c.imageLocked()
	c.part = saved
	b := c.brokers[id]
	c.mu.Unlock()
	if err := b.mgr.Apply(img); err != nil {
		c.t.Fatal(err)
	}
}

func (c *testCluster) imageLocked() *metadata.Image {
	brokers := map[int32]metadata.Broker{}
	for id, b := range c.img.Brokers {
		brokers[id] = b
	}
	for id, b := range c.brokers {
		host, port, _ := net.SplitHostPort(b.addr())
		p, _ := strconv.Atoi(port)
		brokers[id] = metadata.Broker{ID: id, Endpoints: []metadata.Endpoint{{Name: "PLAINTEXT", Host: host, Port: int32(p)}}}
	}
	part := c.part
	part.Replicas, part.ISR = slices.Clone(part.Replicas), slices.Clone(part.ISR)
	tp := &metadata.Topic{Name: topic, ID: topicID, Partitions: []metadata.Partition{part}, Configs: c.configs}
	c.img = &metadata.Image{Offset: c.img.Offset + 1, ControllerID: -1, NextProducerIDBroker: -1, Brokers: brokers,
		Topics: map[string]*metadata.Topic{topic: tp}, TopicsByID: map[metadata.UUID]*metadata.Topic{topicID: tp}}
	return c.img
}

// alterPartition is the controller's AlterPartition: it checks the epochs, commits the ISR
// into the next image and applies that image everywhere.
func (c *testCluster) alterPartition(ctx context.Context, tpc string, partition int32, leaderEpoch, partitionEpoch int32, isr []int32) (metadata.Partition, error) {
	c.mu.Lock()
	c.calls = append(c.calls, alterCall{leaderEpoch, partitionEpoch, slices.Clone(isr)})
	if tpc != topic || partition != 0 {
		c.mu.Unlock()
		return metadata.Partition{}, kerr.UnknownTopicOrPartition
	}
	if leaderEpoch != c.part.LeaderEpoch {
		c.mu.Unlock()
		return metadata.Partition{}, kerr.FencedLeaderEpoch
	}
	if partitionEpoch != c.part.Epoch {
		c.mu.Unlock()
		return metadata.Partition{}, kerr.InvalidUpdateVersion
	}
	for _, id := range isr {
		if c.ineligible[id] && !slices.Contains(c.part.ISR, id) {
			c.mu.Unlock()
			return metadata.Partition{}, kerr.IneligibleReplica
		}
	}
	c.mu.Unlock()
	var got metadata.Partition
	c.publish(func(p *metadata.Partition) {
		p.ISR = slices.Clone(isr)
		p.Epoch++
		got = *p
	})
	return got, nil
}

func (c *testCluster) alterCalls() []alterCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.calls)
}

func (c *testCluster) isr() []int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.part.ISR)
}

// client is a kgo client talking to one broker's listener directly, producing with acks
// (kgo sets every Produce request's acks from its config).
func client(t *testing.T, b *testBroker, acks int16) *kgo.Client {
	t.Helper()
	opts := []kgo.Opt{kgo.SeedBrokers(b.addr())}
	switch acks {
	case -1:
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case 1:
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func request[R kmsg.Response](t *testing.T, cl *kgo.Client, req kmsg.Request) R {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := cl.SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		t.Fatalf("%T: %v", req, err)
	}
	return resp.(R)
}

// produce sends one batch of n records to t-0, with cl's acks, and returns the partition's
// answer.
func produce(t *testing.T, cl *kgo.Client, timeout time.Duration, n int) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	recs := make([]records.Record, n)
	for i := range recs {
		recs[i] = records.Record{Key: []byte("k"), Value: []byte(fmt.Sprintf("value-%d", i))}
	}
	req := kmsg.NewPtrProduceRequest()
	req.TimeoutMillis = int32(timeout.Milliseconds())
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = records.BuildSimple(0, time.Now().UnixMilli(), recs...)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := request[*kmsg.ProduceResponse](t, cl, req)
	return resp.Topics[0].Partitions[0]
}

func produceOK(t *testing.T, cl *kgo.Client, n int) int64 {
	t.Helper()
	sp := produce(t, cl, 10*time.Second, n)
	if err := kerr.ErrorForCode(sp.ErrorCode); err != nil {
		t.Fatalf("produce: %v", err)
	}
	return sp.BaseOffset
}

// waitFor polls cond with a short backoff until it holds or 15s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for backoff := time.Millisecond; !cond(); backoff = min(2*backoff, 50*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(backoff)
	}
}

// committed reads a partition's whole log below its high watermark.
func committed(t *testing.T, p *replica.Partition) []byte {
	t.Helper()
	var out []byte
	for off := p.LogStartOffset(); off < p.HighWatermark(); {
		res, err := p.Read(off, 1<<20, true)
		if err != nil {
			t.Fatal(err)
		}
		data, err := res.Region.ReadBytes()
		if err != nil || len(data) == 0 {
			t.Fatalf("read at %d: %v", off, err)
		}
		for len(data) >= records.HeaderSize {
			h, _ := records.ParseHeader(data)
			if h.Size() > int64(len(data)) {
				break
			}
			out = append(out, data[:h.Size()]...)
			off = h.NextOffset()
			data = data[h.Size():]
		}
	}
	return out
}

func rf3(leader int32, epoch int32) metadata.Partition {
	return metadata.Partition{ID: 0, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}, Leader: leader, LeaderEpoch: epoch}
}
