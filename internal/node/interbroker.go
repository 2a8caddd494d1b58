package node

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/metadata"
)

// Requests from this broker to other brokers (transaction markers, KIP-890 verification) go
// to their endpoint on inter.broker.listener.name, through one kgo client per broker, reused
// for every request and replaced when the broker's endpoint changes (a restart on another
// port). A request is sent to the client's seed broker directly: kgo would otherwise route
// WriteTxnMarkers and AddPartitionsToTxn by its own metadata, which is the image's anyway.

// interBrokerRequestTimeout bounds one request to another broker: a broker that is paused
// or gone answers nothing, and the caller retries (against a new leader, by then).
const interBrokerRequestTimeout = 10 * time.Second

// interBroker is the pool of clients to the other brokers.
type interBroker struct {
	nodeID   int32
	listener string
	opts     []kgo.Opt // security (TLS, SASL) of the inter-broker listener
	image    func() *metadata.Image

	mu sync.Mutex
	// Guarded by mu.
	clients map[int32]*brokerClient
	closed  bool
}

// brokerClient is the client to one broker at one address.
type brokerClient struct {
	addr string
	cl   *kgo.Client
}

// errNoEndpoint means the image has no inter-broker endpoint for a broker.
var errNoEndpoint = errors.New("broker has no endpoint on the inter-broker listener")

// errClosed means the node is closing.
var errClosed = errors.New("node closing")

func newInterBroker(nodeID int32, listener string, opts []kgo.Opt, image func() *metadata.Image) *interBroker {
	return &interBroker{nodeID: nodeID, listener: listener, opts: opts, image: image, clients: map[int32]*brokerClient{}}
}

// endpoint is broker id's inter-broker address in img, "" when it has none.
func (ib *interBroker) endpoint(img *metadata.Image, id int32) string {
	b, ok := img.Brokers[id]
	if !ok {
		return ""
	}
	for _, e := range b.Endpoints {
		if e.Name == ib.listener {
			return net.JoinHostPort(e.Host, strconv.Itoa(int(e.Port)))
		}
	}
	return ""
}

// client returns the client to broker id at its address in the current image.
func (ib *interBroker) client(id int32) (*kgo.Client, error) {
	addr := ib.endpoint(ib.image(), id)
	if addr == "" {
		return nil, errNoEndpoint
	}
	ib.mu.Lock()
	defer ib.mu.Unlock()
	if ib.closed {
		return nil, errClosed
	}
	if bc := ib.clients[id]; bc != nil {
		if bc.addr == addr {
			return bc.cl, nil
		}
		bc.cl.Close() // the broker moved: its requests in flight fail and are retried
		delete(ib.clients, id)
	}
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(addr),
		kgo.ClientID("gregor-broker-" + strconv.Itoa(int(ib.nodeID))),
		kgo.RequestRetries(0),
	}, ib.opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	ib.clients[id] = &brokerClient{addr: addr, cl: cl}
	return cl, nil
}

// request sends req to broker id and waits for its answer (at most
// interBrokerRequestTimeout).
func (ib *interBroker) request(ctx context.Context, id int32, req kmsg.Request) (kmsg.Response, error) {
	cl, err := ib.client(id)
	if err != nil {
		return nil, err
	}
	seeds := cl.SeedBrokers()
	if len(seeds) == 0 {
		return nil, errNoEndpoint
	}
	ctx, cancel := context.WithTimeout(ctx, interBrokerRequestTimeout)
	defer cancel()
	return seeds[0].Request(ctx, req)
}

// close closes every client; requests in flight fail.
func (ib *interBroker) close() {
	ib.mu.Lock()
	ib.closed = true
	all := ib.clients
	ib.clients = nil
	ib.mu.Unlock()
	for _, bc := range all {
		bc.cl.Close()
	}
}

// sendQueue batches what many callers send to one destination, as Kafka's
// TransactionMarkerChannelManager and AddPartitionsToTxnManager do: entries queue up while a
// request is in flight and all go out in the next one. At most one sender goroutine runs per
// queue; it starts with the first entry and ends when the queue is empty.
//
// Lock order: the owner's mu (held while adding, so that its close can wait for the senders
// with no add racing it) before sendQueue.mu.
type sendQueue[E any] struct {
	// flush sends a batch; it runs on the sender goroutine, with no lock held.
	flush func(batch []E)
	wg    *sync.WaitGroup // the owner's, so that its close can wait for senders

	mu sync.Mutex
	// Guarded by mu.
	pending []E
	running bool
}

// add queues e and starts a sender if none runs.
func (q *sendQueue[E]) add(e E) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pending = append(q.pending, e)
	if q.running {
		return
	}
	q.running = true
	q.wg.Add(1)
	go q.run()
}

func (q *sendQueue[E]) run() {
	defer q.wg.Done()
	for {
		q.mu.Lock()
		batch := q.pending
		q.pending = nil
		if len(batch) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		q.flush(batch)
	}
}
