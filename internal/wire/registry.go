package wire

import (
	"context"
	"fmt"
	"io"
	"net"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Request is one decoded request as a handler sees it.
type Request struct {
	Header Header
	Body   kmsg.Request
	// Remote is the client's address.
	Remote net.Addr
}

// Chunk is one piece of a pre-encoded response body: bytes, or a region of a file that the
// connection writer sends with sendfile when it can.
type Chunk struct {
	Bytes []byte
	// File, Pos and Size name a file region; used when Bytes is nil.
	File io.ReaderAt
	Pos  int64
	Size int64
}

// Len is the number of bytes the chunk puts on the wire.
func (c Chunk) Len() int64 {
	if c.File != nil {
		return c.Size
	}
	return int64(len(c.Bytes))
}

// Reply is a handler's answer. At most one of Msg, Chunks and Deferred is set; none when the
// request gets no response at all (a Produce with acks=0).
type Reply struct {
	Msg kmsg.Response
	// Deferred, when set, finishes the response later: the request's work is done (a Produce's
	// batches are appended) and only a wait remains (for the in-sync replicas). The
	// connection calls it on its writer, in request order, so that its reader goes on reading
	// and handling the connection's next requests meanwhile, as a client that pipelines
	// requests expects, while the responses still go out in request order. It must not use
	// the request's bytes (the frame may be reused) and must return a response.
	Deferred func() kmsg.Response
	// Chunks is a body already encoded for the request's version; Fetch uses it to send log
	// segments without copying them.
	Chunks []Chunk
	// Throttle, when positive, is how long the connection stays muted after this reply: the
	// server reads no further request from it until then (KIP-219). The handler also puts it
	// in the response's throttle_time_ms.
	Throttle time.Duration
}

// NoReply is the Reply of a request that gets no response.
var NoReply = Reply{}

// Handler serves one API. It returns an error only when the connection must be closed;
// everything a client can be told is an error code inside the reply.
type Handler func(ctx context.Context, req *Request) (Reply, error)

// API is one registered Kafka API: the versions Gregor serves and its handler.
type API struct {
	Key        kmsg.Key
	MinVersion int16
	MaxVersion int16
	Handle     Handler
	// BodyReleased says that neither the handler nor its reply keeps a reference to the
	// request's bytes once the reply is encoded, so that the connection may give the frame
	// buffer back to the pool (ReleaseFrame) for the next request. kmsg's decoding copies
	// strings but aliases byte fields (a Produce request's records), so only an API whose
	// handler is done with those when it returns may say so.
	BodyReleased bool
}

// RequestObserver is told of every request a handler served: its API key and how long the
// handler took (for a long-polling Fetch, the wait included, as Kafka's TotalTimeMs). It is
// called on the connection's goroutine and must be cheap.
type RequestObserver interface {
	ObserveRequest(key int16, d time.Duration)
}

// ReplyHook sees every successful handler's reply before it is sent, and may change it: the
// request-time quota sets the throttle of every response this way.
type ReplyHook func(ctx context.Context, req *Request, reply *Reply)

// Registry maps API keys to their handlers. It is filled at startup and read-only after.
type Registry struct {
	apis     map[int16]API
	observer RequestObserver
	hook     ReplyHook
}

// SetReplyHook makes fn see every reply a handler returns without error. Call it at startup,
// before serving.
func (r *Registry) SetReplyHook(fn ReplyHook) { r.hook = fn }

// SetObserver makes o see every request Dispatch hands to a handler. Call it at startup,
// before serving.
func (r *Registry) SetObserver(o RequestObserver) { r.observer = o }

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{apis: map[int16]API{}} }

// Register adds an API. Registering a key twice, or a version kmsg cannot encode, is a
// programming error and panics at startup.
func (r *Registry) Register(api API) {
	if _, dup := r.apis[api.Key.Int16()]; dup {
		panic(fmt.Sprintf("wire: api %v registered twice", api.Key))
	}
	req := kmsg.RequestForKey(api.Key.Int16())
	if req == nil || api.MaxVersion > req.MaxVersion() || api.MinVersion < 0 || api.MinVersion > api.MaxVersion {
		panic(fmt.Sprintf("wire: api %v: bad version range %d-%d", api.Key, api.MinVersion, api.MaxVersion))
	}
	r.apis[api.Key.Int16()] = api
}

// BodyReleased reports whether the API with key releases its request's bytes once its reply
// is encoded (API.BodyReleased).
func (r *Registry) BodyReleased(key int16) bool { return r.apis[key].BodyReleased }

// Versions lists the registered APIs in key order, as ApiVersions answers them.
func (r *Registry) Versions() []kmsg.ApiVersionsResponseApiKey {
	out := make([]kmsg.ApiVersionsResponseApiKey, 0, len(r.apis))
	for _, api := range r.apis {
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey = api.Key.Int16()
		k.MinVersion = api.MinVersion
		k.MaxVersion = api.MaxVersion
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ApiKey < out[j].ApiKey })
	return out
}

// Dispatch decodes the body of a request with header h and runs its handler. An unknown API,
// an unsupported version or an undecodable body is an error (close the connection), except for
// ApiVersions at a version above ours: Kafka answers that with a v0 response carrying
// UNSUPPORTED_VERSION and its version list, so the client can retry at a version it shares.
func (r *Registry) Dispatch(ctx context.Context, h Header, body []byte, remote net.Addr) (Reply, error) {
	api, ok := r.apis[h.APIKey]
	if !ok {
		return Reply{}, fmt.Errorf("%w: api key %d is not served", ErrMalformed, h.APIKey)
	}
	if h.APIVersion < api.MinVersion || h.APIVersion > api.MaxVersion {
		if api.Key == kmsg.ApiVersions && h.APIVersion > api.MaxVersion {
			resp := kmsg.NewPtrApiVersionsResponse()
			resp.Version = 0
			resp.ErrorCode = kerr.UnsupportedVersion.Code
			resp.ApiKeys = r.Versions()
			return Reply{Msg: resp}, nil
		}
		return Reply{}, fmt.Errorf("%w: %v v%d is not supported (%d-%d)", ErrMalformed, api.Key, h.APIVersion, api.MinVersion, api.MaxVersion)
	}
	req := kmsg.RequestForKey(h.APIKey)
	req.SetVersion(h.APIVersion)
	// Known weakness: kmsg loops over a body's tag count without stopping when the bytes run
	// out, so a forged count costs CPU (not memory) here. The header's tags are skipped by
	// skipTags, which is guarded.
	if err := req.ReadFrom(body); err != nil {
		return Reply{}, fmt.Errorf("%w: %v v%d body: %v", ErrMalformed, api.Key, h.APIVersion, err)
	}
	start := time.Now()
	ctx, _ = WithRequestTime(ctx, start)
	wreq := &Request{Header: h, Body: req, Remote: remote}
	reply, err := api.Handle(ctx, wreq)
	if err == nil && r.hook != nil {
		r.hook(ctx, wreq, &reply)
	}
	if d := reply.Deferred; d != nil && err == nil {
		// The time and the throttle are known when the response is: the observer sees the
		// wait (as Kafka's TotalTimeMs does), and the response carries the reply's throttle,
		// which the hook may have raised.
		throttle := reply.Throttle
		reply.Deferred = func() kmsg.Response {
			resp := d()
			resp.SetVersion(h.APIVersion)
			if tr, ok := resp.(kmsg.SetThrottleResponse); ok && throttle > 0 {
				if ms := int32(throttle / time.Millisecond); ms > currentThrottle(resp) {
					tr.SetThrottle(ms)
				}
			}
			if r.observer != nil {
				r.observer.ObserveRequest(h.APIKey, time.Since(start))
			}
			return resp
		}
		return reply, nil
	}
	if r.observer != nil {
		r.observer.ObserveRequest(h.APIKey, time.Since(start))
	}
	if reply.Msg != nil {
		reply.Msg.SetVersion(h.APIVersion)
	}
	return reply, err
}

// currentThrottle is the throttle_time_ms a response already carries, 0 for one without.
func currentThrottle(resp kmsg.Response) int32 {
	if tr, ok := resp.(kmsg.ThrottleResponse); ok {
		ms, _ := tr.Throttle()
		return ms
	}
	return 0
}

// AppendResponse appends a whole response frame (size, header, body) for a kmsg response to dst.
func AppendResponse(dst []byte, h Header, resp kmsg.Response) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = AppendResponseHeader(dst, h)
	dst = resp.AppendTo(dst)
	putSize(dst[start:], len(dst)-start-4)
	return dst
}

func putSize(b []byte, n int) {
	b[0], b[1], b[2], b[3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
}
