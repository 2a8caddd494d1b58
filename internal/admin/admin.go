// Package admin serves a node's admin HTTP listener (admin.listeners): Prometheus metrics, a
// Burrow-compatible consumer lag API, and Gregor's own lag API.
//
//	GET /metrics                                     Prometheus exposition of the node's registry
//	GET /v3/kafka                                    Burrow: clusters (one, "local")
//	GET /v3/kafka/local                              Burrow: the cluster's module detail
//	GET /v3/kafka/local/consumer                     Burrow: consumer groups
//	GET /v3/kafka/local/consumer/{group}/status      Burrow: group status, partitions not OK only
//	GET /v3/kafka/local/consumer/{group}/lag         Burrow: group status, every partition
//	GET /v3/kafka/local/topic                        Burrow: topics
//	GET /v3/kafka/local/topic/{topic}                Burrow: the topic's log-end offset per partition
//	GET /api/v1/groups/{group}/lag                   Gregor: group status with lag in seconds
//	GET /  and /api/v1/...                           the web console (Config.Console), when set
//
// The Burrow answers use Burrow's JSON field names and messages, so tools written for Burrow
// read them unchanged.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gregorhq/gregor/internal/lag"
)

// Topics is what the topic endpoints read.
type Topics interface {
	// TopicNames lists the cluster's topics.
	TopicNames() []string
	// TopicOffsets is the log-end offset of each partition of topic (-1 for one not hosted
	// here); false when the topic does not exist.
	TopicOffsets(topic string) ([]int64, bool)
}

// Config configures a Server.
type Config struct {
	// Addr is host:port to listen on; port 0 picks a free one.
	Addr     string
	Gatherer prometheus.Gatherer
	Lag      *lag.Evaluator
	Topics   Topics
	// Groups lists the groups the coordinator knows (with or without commits seen); may be nil.
	Groups func() []string
	// Console, when set, adds the web console's page and JSON endpoints to the listener's
	// routes (package console; kept behind an interface so that console may reuse this
	// package's answers).
	Console interface{ Register(mux *http.ServeMux) }
	// Pprof serves Go's runtime profiles under /debug/pprof/ (admin.pprof.enable), and turns
	// on the sampling of the mutex and block profiles, which cost a little on every
	// contended lock and blocking channel operation, so they run only when asked for.
	Pprof  bool
	Logger *slog.Logger
}

// Server is a running admin listener.
type Server struct {
	cfg  Config
	ln   net.Listener
	http *http.Server
	done chan struct{}
}

// Listen binds the admin listener and starts serving.
func Listen(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, ln: ln, done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /v3/kafka", s.clusters)
	mux.HandleFunc("GET /v3/kafka/{cluster}", s.cluster)
	mux.HandleFunc("GET /v3/kafka/{cluster}/consumer", s.consumers)
	mux.HandleFunc("GET /v3/kafka/{cluster}/consumer/{group}/status", s.groupStatus(false))
	mux.HandleFunc("GET /v3/kafka/{cluster}/consumer/{group}/lag", s.groupStatus(true))
	mux.HandleFunc("GET /v3/kafka/{cluster}/topic", s.topics)
	mux.HandleFunc("GET /v3/kafka/{cluster}/topic/{topic}", s.topic)
	mux.HandleFunc("GET /api/v1/groups/{group}/lag", s.gregorLag)
	if cfg.Console != nil {
		cfg.Console.Register(mux)
	}
	if cfg.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
		enableContentionProfiles()
	}
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.done)
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			cfg.Logger.Error("admin listener failed", "err", err)
		}
	}()
	return s, nil
}

// Contention sampling of a node with admin.pprof.enable: one contended lock in
// mutexProfileFraction is recorded, and blocking events are sampled about once per
// blockProfileRate nanoseconds blocked. Both are process-wide and stay on once set.
const (
	mutexProfileFraction = 100
	blockProfileRate     = 10_000
)

// enableContentionProfiles turns on the mutex and block profiles (/debug/pprof/mutex and
// /debug/pprof/block), which record nothing unless sampling is on.
func enableContentionProfiles() {
	if runtime.SetMutexProfileFraction(-1) == 0 {
		runtime.SetMutexProfileFraction(mutexProfileFraction)
	}
	runtime.SetBlockProfileRate(blockProfileRate)
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops the listener, letting requests in flight finish for a few seconds.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	<-s.done
	return err
}

// requestInfo is Burrow's "request" object of every answer.
type requestInfo struct {
	URL  string `json:"url"`
	Host string `json:"host"`
}

func (s *Server) reply(w http.ResponseWriter, r *http.Request, code int, body map[string]any) {
	body["request"] = requestInfo{URL: r.URL.Path, Host: r.Host}
	if _, ok := body["error"]; !ok {
		body["error"] = code != http.StatusOK
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if err := json.NewEncoder(w).Encode(body); err != nil {
		s.cfg.Logger.Debug("admin: writing answer failed", "err", err)
	}
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request, msg string) {
	s.reply(w, r, http.StatusNotFound, map[string]any{"message": msg})
}

// knownCluster answers 404 for any cluster but the local one.
func (s *Server) knownCluster(w http.ResponseWriter, r *http.Request) bool {
	if r.PathValue("cluster") != lag.Cluster {
		s.notFound(w, r, "cluster not found")
		return false
	}
	return true
}

func (s *Server) clusters(w http.ResponseWriter, r *http.Request) {
	s.reply(w, r, http.StatusOK, map[string]any{"message": "cluster list returned", "clusters": []string{lag.Cluster}})
}

func (s *Server) cluster(w http.ResponseWriter, r *http.Request) {
	if !s.knownCluster(w, r) {
		return
	}
	host := r.Host
	module := map[string]any{
		"class-name": "kafka", "servers": []string{host}, "client-profile": map[string]any{"name": "gregor"},
		"topic-refresh": 0, "offset-refresh": 0,
	}
	s.reply(w, r, http.StatusOK, map[string]any{"message": "cluster module detail returned", "module": module})
}

func (s *Server) groupNames() []string {
	names := s.cfg.Lag.Groups()
	if s.cfg.Groups != nil {
		for _, g := range s.cfg.Groups() {
			if !slices.Contains(names, g) {
				names = append(names, g)
			}
		}
	}
	slices.Sort(names)
	return names
}

func (s *Server) consumers(w http.ResponseWriter, r *http.Request) {
	if !s.knownCluster(w, r) {
		return
	}
	s.reply(w, r, http.StatusOK, map[string]any{"message": "consumer list returned", "consumers": s.groupNames()})
}

// groupStatus is Burrow's /status (all false: only the partitions that are not OK, as
// Burrow's evaluator without ShowAll) and /lag (every partition).
func (s *Server) groupStatus(all bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.knownCluster(w, r) {
			return
		}
		gs, ok := s.cfg.Lag.Evaluate(r.PathValue("group"))
		if !ok {
			s.notFound(w, r, "cluster or consumer not found")
			return
		}
		if !all {
			kept := gs.Partitions[:0:0]
			for _, p := range gs.Partitions {
				if p.Status != lag.OK {
					kept = append(kept, p)
				}
			}
			gs.Partitions = kept
		}
		s.reply(w, r, http.StatusOK, map[string]any{"message": "consumer status returned", "status": gs})
	}
}

func (s *Server) topics(w http.ResponseWriter, r *http.Request) {
	if !s.knownCluster(w, r) {
		return
	}
	names := s.cfg.Topics.TopicNames()
	slices.Sort(names)
	s.reply(w, r, http.StatusOK, map[string]any{"message": "topic list returned", "topics": names})
}

func (s *Server) topic(w http.ResponseWriter, r *http.Request) {
	if !s.knownCluster(w, r) {
		return
	}
	offsets, ok := s.cfg.Topics.TopicOffsets(r.PathValue("topic"))
	if !ok {
		s.notFound(w, r, "topic not found")
		return
	}
	s.reply(w, r, http.StatusOK, map[string]any{"message": "topic offsets returned", "offsets": offsets})
}

// PartitionLag is one partition in Gregor's own lag answer.
type PartitionLag struct {
	Topic           string     `json:"topic"`
	Partition       int32      `json:"partition"`
	Status          lag.Status `json:"status"`
	CommittedOffset int64      `json:"committed_offset"`
	LogEndOffset    int64      `json:"log_end_offset"`
	Lag             uint64     `json:"lag"`
	LagSeconds      float64    `json:"lag_seconds"`
	// LagGrowing: the lag now is above the lag at the last commit.
	LagGrowing bool `json:"lag_growing"`
}

// GroupLag is Gregor's own lag answer.
type GroupLag struct {
	Group string `json:"group"`
	// Status is Burrow's group status, or STOPPED_GROWING when a partition stopped
	// committing (STOP) while its lag grows: a consumer gone while producers are not.
	Status        string         `json:"status"`
	TotalLag      uint64         `json:"total_lag"`
	MaxLagSeconds float64        `json:"max_lag_seconds"`
	Partitions    []PartitionLag `json:"partitions"`
}

// StatusStoppedGrowing is GroupLag.Status for a group that stopped committing while its
// lag grows.
const StatusStoppedGrowing = "STOPPED_GROWING"

// GroupLagOf turns an evaluation into Gregor's lag answer.
func GroupLagOf(gs *lag.GroupStatus) GroupLag {
	out := GroupLag{Group: gs.Group, Status: gs.Status.String(), TotalLag: gs.TotalLag, Partitions: []PartitionLag{}}
	for _, p := range gs.Partitions {
		out.Partitions = append(out.Partitions, PartitionLag{
			Topic: p.Topic, Partition: p.Partition, Status: p.Status, CommittedOffset: p.End.Offset,
			LogEndOffset: p.LogEndOffset, Lag: p.CurrentLag, LagSeconds: p.LagSeconds, LagGrowing: p.LagGrowing,
		})
		out.MaxLagSeconds = max(out.MaxLagSeconds, p.LagSeconds)
		if p.Status == lag.Stop && p.LagGrowing {
			out.Status = StatusStoppedGrowing
		}
	}
	return out
}

func (s *Server) gregorLag(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	gs, ok := s.cfg.Lag.Evaluate(r.PathValue("group"))
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]string{"error": "group not found"})
		return
	}
	json.NewEncoder(w).Encode(GroupLagOf(gs))
}
