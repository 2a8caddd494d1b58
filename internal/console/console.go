// Package console is the web console on the admin listener: one page (plain HTML, CSS and JS,
// embedded, working offline) and the JSON endpoints it reads.
//
//	GET /                                                        the page (hash routes: #/topics, #/groups/{g}, ...)
//	GET /console/{file}                                          its stylesheet and script
//	GET /api/v1/cluster                                          brokers, controller, partitions under-replicated or offline
//	GET /api/v1/topics?q=&offset=&limit=                         a page of topics, with sizes and bytes-in rate series
//	GET /api/v1/topics/{topic}?offset=&limit=                    a topic: configs, rate series, a page of its partitions
//	GET /api/v1/topics/{topic}/partitions/{p}/records?offset=&count=  the record browser
//	GET /api/v1/groups?offset=&limit=                            a page of consumer groups, with lag status
//	GET /api/v1/groups/{group}                                   members, assignment, lag per partition
//	GET /api/v1/groups/{group}/lag/history                       total lag samples of the last hour, and now
//
// (GET /api/v1/groups/{group}/lag is package admin's.) Every list is paged, so a request's
// work is proportional to what the page shows, not to the cluster's partition count.
//
// The charts read in-memory rings that a sampler fills: every topic's bytes-in counter every
// TopicSampleInterval (5 s; 60 samples), every group's total lag every LagSampleInterval
// (10 s; 360 samples, an hour). Nothing is persisted; a restarted node starts with empty
// charts.
package console

import (
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gregorhq/gregor/internal/group"
	"github.com/gregorhq/gregor/internal/lag"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/replica"
)

// Defaults of Config.
const (
	DefaultTopicSampleInterval = 5 * time.Second
	DefaultTopicSamples        = 60
	DefaultLagSampleInterval   = 10 * time.Second
	DefaultLagSamples          = 360
)

// Config configures a Console. Image, Replicas and Lag are required.
type Config struct {
	// Image returns the current metadata image.
	Image    func() *metadata.Image
	Replicas *replica.Manager
	// Groups is the group coordinator, for group states and members; may be nil.
	Groups *group.Coordinator
	Lag    *lag.Evaluator
	// BytesIn returns each topic's bytes-in counter; nil leaves the throughput charts empty.
	BytesIn func() map[string]float64

	TopicSampleInterval time.Duration
	TopicSamples        int
	LagSampleInterval   time.Duration
	LagSamples          int
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
}

// Console serves the web console and samples the series its charts draw.
type Console struct {
	cfg     Config
	history *history

	started  atomic.Bool
	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

// New returns a Console; Start begins sampling.
func New(cfg Config) *Console {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.TopicSampleInterval <= 0 {
		cfg.TopicSampleInterval = DefaultTopicSampleInterval
	}
	if cfg.TopicSamples <= 0 {
		cfg.TopicSamples = DefaultTopicSamples
	}
	if cfg.LagSampleInterval <= 0 {
		cfg.LagSampleInterval = DefaultLagSampleInterval
	}
	if cfg.LagSamples <= 0 {
		cfg.LagSamples = DefaultLagSamples
	}
	return &Console{
		cfg:     cfg,
		history: newHistory(cfg.TopicSamples, cfg.LagSamples),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
}

// Register adds the console's routes to mux (admin.Config.Console).
func (c *Console) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", c.page)
	mux.Handle("GET /console/", http.StripPrefix("/console/", http.HandlerFunc(c.asset)))
	mux.HandleFunc("GET /api/v1/cluster", c.cluster)
	mux.HandleFunc("GET /api/v1/topics", c.topics)
	mux.HandleFunc("GET /api/v1/topics/{topic}", c.topic)
	mux.HandleFunc("GET /api/v1/topics/{topic}/partitions/{partition}/records", c.records)
	mux.HandleFunc("GET /api/v1/groups", c.groups)
	mux.HandleFunc("GET /api/v1/groups/{group}", c.group)
	mux.HandleFunc("GET /api/v1/groups/{group}/lag/history", c.lagHistory)
}

// Start takes a first sample and starts the sampler; Close stops it.
func (c *Console) Start() {
	c.SampleTopics()
	c.SampleLag()
	c.started.Store(true)
	go c.sampleLoop()
}

// Close stops the sampler (if started) and waits for it.
func (c *Console) Close() {
	c.stopOnce.Do(func() { close(c.stop) })
	if c.started.Load() {
		<-c.done
	}
}

func (c *Console) sampleLoop() {
	defer close(c.done)
	topics := time.NewTicker(c.cfg.TopicSampleInterval)
	defer topics.Stop()
	lags := time.NewTicker(c.cfg.LagSampleInterval)
	defer lags.Stop()
	for {
		select {
		case <-topics.C:
			c.SampleTopics()
		case <-lags.C:
			c.SampleLag()
		case <-c.stop:
			return
		}
	}
}

// SampleTopics records one sample of every topic's bytes-in counter (the sampler calls it;
// exported for tests driving a clock).
func (c *Console) SampleTopics() {
	if c.cfg.BytesIn == nil {
		return
	}
	img := c.cfg.Image()
	c.history.sampleTopics(c.cfg.Now(), c.cfg.BytesIn(), func(t string) bool { return img.Topics[t] != nil })
}

// SampleLag records one sample of every known group's total lag.
func (c *Console) SampleLag() {
	groups := c.cfg.Lag.Groups()
	now := c.cfg.Now()
	for _, g := range groups {
		if gs, ok := c.cfg.Lag.Evaluate(g); ok {
			c.history.sampleLag(now, g, gs.TotalLag)
		}
	}
	c.history.forgetGroupsExcept(groups)
}
