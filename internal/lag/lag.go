// Package lag evaluates consumer lag the way Burrow does, inside the group coordinator's
// process: the coordinator tells the Evaluator of every durable offset commit (no second read
// of __consumer_offsets), and the Evaluator keeps, per group and partition, a sliding window
// of the last lag.window.size commits, each with the partition's log-end offset (high
// watermark) at commit time and so the lag then.
//
// A partition's status follows Burrow's rules (github.com/linkedin/Burrow,
// core/internal/evaluator), applied only while the current lag is above zero and the lag was
// above zero at every commit of the window (a window that reached zero lag is OK):
//
//	REWIND  the committed offset went backwards between two commits of the window
//	STOP    the last commit is older than the window's span (now - last > last - first)
//	STALL   the committed offset did not move across the window
//	WARN    the lag never decreased across the window
//	OK      otherwise
//
// A group's status is its worst partition's, with STOP, STALL and REWIND reported as ERR (as
// Burrow does); maxlag is the partition with the largest current lag, totallag the sum.
//
// Beyond Burrow, each partition has a lag in seconds: now minus the timestamp of the first
// record the group has not consumed (the base timestamp of the batch at the committed
// offset, read from that batch's header alone), and LagGrowing: the current lag is above the
// lag at the last commit. A STOP partition whose lag grows is a consumer that is gone while
// producers are not; Gregor's own API reports it as STOPPED_GROWING.
package lag

import (
	"encoding/json"
	"slices"
	"sync"
	"time"
)

// Status is a partition's or a group's status, numbered as Burrow's StatusConstant.
type Status int

// The statuses, in Burrow's order: a larger value is worse.
const (
	NotFound Status = iota
	OK
	Warning
	Error
	Stop
	Stall
	Rewind
)

var statusNames = [...]string{"NOTFOUND", "OK", "WARN", "ERR", "STOP", "STALL", "REWIND"}

// String is Burrow's name of the status.
func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "UNKNOWN"
}

// MarshalJSON writes the status by name, as Burrow does.
func (s Status) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON reads a status name.
func (s *Status) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		return err
	}
	*s = Status(max(slices.Index(statusNames[:], name), 0))
	return nil
}

// Offsets is what the Evaluator reads from the partitions this broker hosts.
type Offsets interface {
	// LogEndOffset is the offset a consumer can reach (the high watermark); false when the
	// partition is not hosted here.
	LogEndOffset(topic string, partition int32) (int64, bool)
	// BatchTimestampAt is the base timestamp (ms) of the batch holding offset; false when
	// there is none below the high watermark.
	BatchTimestampAt(topic string, partition int32, offset int64) (int64, bool)
}

// Config configures an Evaluator.
type Config struct {
	// WindowSize is lag.window.size: commits kept per group partition; at least 2.
	WindowSize int
	Offsets    Offsets
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Commit is one commit of a window, in Burrow's ConsumerOffset shape.
type Commit struct {
	Offset int64 `json:"offset"`
	// Timestamp is when the offset was committed, ms since the epoch.
	Timestamp int64 `json:"timestamp"`
	// ObservedAt is when the Evaluator saw the commit, ms since the epoch.
	ObservedAt int64 `json:"observedAt"`
	// Lag is the log-end offset at commit time minus Offset, at least 0.
	Lag int64 `json:"lag"`
}

// PartitionStatus is one partition's evaluation, in Burrow's JSON shape.
type PartitionStatus struct {
	Topic      string  `json:"topic"`
	Partition  int32   `json:"partition"`
	Owner      string  `json:"owner"`
	ClientID   string  `json:"client_id"`
	Status     Status  `json:"status"`
	Start      *Commit `json:"start"`
	End        *Commit `json:"end"`
	CurrentLag uint64  `json:"current_lag"`
	Complete   float32 `json:"complete"`

	// Gregor's own, not in Burrow's JSON.
	LogEndOffset int64   `json:"-"`
	LagSeconds   float64 `json:"-"`
	LagGrowing   bool    `json:"-"`
}

// GroupStatus is a group's evaluation, in Burrow's JSON shape.
type GroupStatus struct {
	Cluster         string             `json:"cluster"`
	Group           string             `json:"group"`
	Status          Status             `json:"status"`
	Complete        float32            `json:"complete"`
	Partitions      []*PartitionStatus `json:"partitions"`
	TotalPartitions int                `json:"partition_count"`
	Maxlag          *PartitionStatus   `json:"maxlag"`
	TotalLag        uint64             `json:"totallag"`
}

type topicPartition struct {
	topic     string
	partition int32
}

// window is one group partition's last commits, oldest first.
// Invariant: len(commits) <= the Evaluator's WindowSize.
type window struct {
	commits []Commit
}

// Evaluator keeps the commit windows and evaluates them on demand.
type Evaluator struct {
	cfg Config

	mu sync.Mutex
	// Guarded by mu.
	groups map[string]map[topicPartition]*window
}

// New returns an Evaluator with no commits seen.
func New(cfg Config) *Evaluator {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.WindowSize = max(cfg.WindowSize, 2)
	return &Evaluator{cfg: cfg, groups: map[string]map[topicPartition]*window{}}
}

// Observe records a durable commit; it has the group coordinator's OnOffsetCommit signature.
// The lag recorded with it is the partition's log-end offset now minus offset; a partition
// not hosted here counts lag 0.
func (e *Evaluator) Observe(group, topic string, partition int32, offset int64, at time.Time) {
	c := Commit{Offset: offset, Timestamp: at.UnixMilli(), ObservedAt: e.cfg.Now().UnixMilli()}
	if leo, ok := e.cfg.Offsets.LogEndOffset(topic, partition); ok {
		c.Lag = max(leo-offset, 0)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	parts := e.groups[group]
	if parts == nil {
		parts = map[topicPartition]*window{}
		e.groups[group] = parts
	}
	w := parts[topicPartition{topic, partition}]
	if w == nil {
		w = &window{commits: make([]Commit, 0, e.cfg.WindowSize)}
		parts[topicPartition{topic, partition}] = w
	}
	if len(w.commits) == e.cfg.WindowSize {
		copy(w.commits, w.commits[1:])
		w.commits = w.commits[:len(w.commits)-1]
	}
	w.commits = append(w.commits, c)
}

// Forget drops a group's windows (the group was deleted).
func (e *Evaluator) Forget(group string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.groups, group)
}

// Groups lists, sorted, the groups with at least one commit seen.
func (e *Evaluator) Groups() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]string, 0, len(e.groups))
	for g := range e.groups {
		out = append(out, g)
	}
	slices.Sort(out)
	return out
}

// Evaluate evaluates a group's partitions now, sorted by topic and partition; false when no
// commit of the group was seen.
func (e *Evaluator) Evaluate(group string) (*GroupStatus, bool) {
	e.mu.Lock()
	parts := e.groups[group]
	if parts == nil {
		e.mu.Unlock()
		return nil, false
	}
	type entry struct {
		tp      topicPartition
		commits []Commit
	}
	entries := make([]entry, 0, len(parts))
	for tp, w := range parts {
		entries = append(entries, entry{tp, slices.Clone(w.commits)})
	}
	e.mu.Unlock()
	// The partitions are read without e.mu: a header read may touch the disk.

	slices.SortFunc(entries, func(a, b entry) int {
		if a.tp.topic != b.tp.topic {
			if a.tp.topic < b.tp.topic {
				return -1
			}
			return 1
		}
		return int(a.tp.partition - b.tp.partition)
	})
	now := e.cfg.Now()
	gs := &GroupStatus{Cluster: Cluster, Group: group, Status: OK, TotalPartitions: len(entries)}
	complete := 0
	for _, en := range entries {
		ps := e.evaluatePartition(en.tp, en.commits, now)
		gs.Partitions = append(gs.Partitions, ps)
		gs.TotalLag += ps.CurrentLag
		worst := ps.Status
		if worst > Error {
			worst = Error
		}
		gs.Status = max(gs.Status, worst)
		if gs.Maxlag == nil || ps.CurrentLag > gs.Maxlag.CurrentLag {
			gs.Maxlag = ps
		}
		if ps.Complete == 1 {
			complete++
		}
	}
	if len(entries) > 0 {
		gs.Complete = float32(complete) / float32(len(entries))
	}
	return gs, true
}

// Cluster is the one cluster name the Burrow-compatible API knows.
const Cluster = "local"

func (e *Evaluator) evaluatePartition(tp topicPartition, commits []Commit, now time.Time) *PartitionStatus {
	ps := &PartitionStatus{Topic: tp.topic, Partition: tp.partition, Status: OK, LogEndOffset: -1}
	ps.Complete = float32(len(commits)) / float32(e.cfg.WindowSize)
	start, end := commits[0], commits[len(commits)-1]
	ps.Start, ps.End = &start, &end
	current := end.Lag
	if leo, ok := e.cfg.Offsets.LogEndOffset(tp.topic, tp.partition); ok {
		ps.LogEndOffset = leo
		current = max(leo-end.Offset, 0)
	}
	ps.CurrentLag = uint64(current)
	ps.LagGrowing = current > end.Lag
	if current > 0 {
		if ts, ok := e.cfg.Offsets.BatchTimestampAt(tp.topic, tp.partition, end.Offset); ok {
			ps.LagSeconds = max(float64(now.UnixMilli()-ts)/1000, 0)
		}
	}
	ps.Status = evaluate(commits, current, now.UnixMilli())
	return ps
}

// evaluate applies Burrow's rules to a window (oldest first) given the current lag.
func evaluate(commits []Commit, currentLag, nowMs int64) Status {
	if currentLag == 0 || slices.ContainsFunc(commits, func(c Commit) bool { return c.Lag == 0 }) {
		return OK
	}
	first, last := commits[0], commits[len(commits)-1]
	switch {
	case rewound(commits):
		return Rewind
	case nowMs-last.Timestamp > last.Timestamp-first.Timestamp:
		return Stop
	case stalled(commits):
		return Stall
	case lagNotDecreasing(commits):
		return Warning
	}
	return OK
}

func rewound(cs []Commit) bool {
	for i := 1; i < len(cs); i++ {
		if cs[i].Offset < cs[i-1].Offset {
			return true
		}
	}
	return false
}

func stalled(cs []Commit) bool {
	for i := 1; i < len(cs); i++ {
		if cs[i].Offset != cs[i-1].Offset {
			return false
		}
	}
	return true
}

func lagNotDecreasing(cs []Commit) bool {
	for i := 1; i < len(cs); i++ {
		if cs[i].Lag < cs[i-1].Lag {
			return false
		}
	}
	return true
}
