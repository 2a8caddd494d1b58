package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/admin"
	"github.com/gregorhq/gregor/internal/metadata"
)

// Page bounds of the paged lists.
const (
	defaultPageSize = 50
	maxPageSize     = 500
	// maxProblems bounds the partitions the overview lists by name; the counts are exact.
	maxProblems = 50
)

func (c *Console) writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		c.cfg.Logger.Debug("console: writing answer failed", "err", err)
	}
}

// apiError is every error answer: {"error": message}.
type apiError struct {
	Error string `json:"error"`
}

func (c *Console) fail(w http.ResponseWriter, code int, format string, args ...any) {
	c.writeJSON(w, code, apiError{Error: fmt.Sprintf(format, args...)})
}

// intParam reads an integer query parameter in [lo, hi]; def when absent. A message for a
// 400 when the value is not an integer or out of range.
func intParam(r *http.Request, name string, def, lo, hi int64) (int64, string) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, ""
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Sprintf("%s: %q is not an integer", name, s)
	}
	if v < lo || v > hi {
		return 0, fmt.Sprintf("%s: %d is outside [%d, %d]", name, v, lo, hi)
	}
	return v, ""
}

// page reads offset and limit; false after answering 400.
func (c *Console) paging(w http.ResponseWriter, r *http.Request) (offset, limit int, ok bool) {
	o, msg := intParam(r, "offset", 0, 0, 1<<31-1)
	if msg == "" {
		var l int64
		l, msg = intParam(r, "limit", defaultPageSize, 1, maxPageSize)
		limit = int(l)
	}
	if msg != "" {
		c.fail(w, http.StatusBadRequest, "%s", msg)
		return 0, 0, false
	}
	return int(o), limit, true
}

func window[T any](all []T, offset, limit int) []T {
	if offset >= len(all) {
		return all[:0]
	}
	return all[offset:min(offset+limit, len(all))]
}

// BrokerInfo is one broker of the overview.
type BrokerInfo struct {
	ID         int32    `json:"id"`
	Endpoints  []string `json:"endpoints"`
	Rack       string   `json:"rack,omitempty"`
	Fenced     bool     `json:"fenced"`
	Controller bool     `json:"controller"`
}

// PartitionProblem is a partition the overview names: offline (no leader) or
// under-replicated (ISR smaller than the replica set).
type PartitionProblem struct {
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	Leader    int32   `json:"leader"`
	Replicas  []int32 `json:"replicas"`
	ISR       []int32 `json:"isr"`
	State     string  `json:"state"`
}

// Cluster is the overview.
type Cluster struct {
	ClusterID       string             `json:"cluster_id"`
	ControllerID    int32              `json:"controller_id"`
	Brokers         []BrokerInfo       `json:"brokers"`
	Topics          int                `json:"topics"`
	Partitions      int                `json:"partitions"`
	UnderReplicated int                `json:"under_replicated"`
	Offline         int                `json:"offline"`
	Problems        []PartitionProblem `json:"problems"`
	// ProblemsTruncated: more partitions are offline or under-replicated than Problems lists.
	ProblemsTruncated bool `json:"problems_truncated"`
}

func partitionState(p *metadata.Partition) string {
	switch {
	case p.Leader < 0:
		return "offline"
	case len(p.ISR) < len(p.Replicas):
		return "under-replicated"
	}
	return "ok"
}

func (c *Console) cluster(w http.ResponseWriter, r *http.Request) {
	img := c.cfg.Image()
	out := Cluster{ClusterID: img.ClusterID, ControllerID: img.ControllerID, Brokers: []BrokerInfo{}, Problems: []PartitionProblem{}}
	for _, b := range img.Brokers {
		bi := BrokerInfo{ID: b.ID, Rack: b.Rack, Fenced: b.Fenced, Controller: b.ID == img.ControllerID, Endpoints: []string{}}
		for _, e := range b.Endpoints {
			bi.Endpoints = append(bi.Endpoints, fmt.Sprintf("%s://%s:%d", e.Name, e.Host, e.Port))
		}
		out.Brokers = append(out.Brokers, bi)
	}
	slices.SortFunc(out.Brokers, func(a, b BrokerInfo) int { return int(a.ID - b.ID) })
	// Counting is one pass over the partitions' placement (integers in memory), which stays
	// cheap at any size; only maxProblems of them are named.
	for _, name := range img.TopicNames() {
		t := img.Topics[name]
		out.Topics++
		for i := range t.Partitions {
			p := &t.Partitions[i]
			out.Partitions++
			st := partitionState(p)
			switch st {
			case "offline":
				out.Offline++
			case "under-replicated":
				out.UnderReplicated++
			default:
				continue
			}
			if len(out.Problems) == maxProblems {
				out.ProblemsTruncated = true
				continue
			}
			out.Problems = append(out.Problems, PartitionProblem{Topic: name, Partition: p.ID, Leader: p.Leader, Replicas: p.Replicas, ISR: p.ISR, State: st})
		}
	}
	c.writeJSON(w, http.StatusOK, out)
}

// TopicSummary is one row of the topic list.
type TopicSummary struct {
	Name              string `json:"name"`
	Internal          bool   `json:"internal"`
	Partitions        int    `json:"partitions"`
	ReplicationFactor int    `json:"replication_factor"`
	UnderReplicated   int    `json:"under_replicated"`
	Offline           int    `json:"offline"`
	// SizeBytes sums the partitions hosted on this broker.
	SizeBytes int64 `json:"size_bytes"`
	// BytesInPerSec is the bytes-in rate series, oldest first.
	BytesInPerSec []Point `json:"bytes_in_per_sec"`
}

// TopicList is a page of topics.
type TopicList struct {
	Total  int            `json:"total"`
	Offset int            `json:"offset"`
	Limit  int            `json:"limit"`
	Topics []TopicSummary `json:"topics"`
}

func (c *Console) summary(t *metadata.Topic) TopicSummary {
	s := TopicSummary{Name: t.Name, Internal: strings.HasPrefix(t.Name, "__"), Partitions: len(t.Partitions)}
	for i := range t.Partitions {
		p := &t.Partitions[i]
		s.ReplicationFactor = max(s.ReplicationFactor, len(p.Replicas))
		switch partitionState(p) {
		case "offline":
			s.Offline++
		case "under-replicated":
			s.UnderReplicated++
		}
		if rp, err := c.cfg.Replicas.Partition(t.Name, p.ID); err == nil {
			s.SizeBytes += rp.Size()
		}
	}
	s.BytesInPerSec = c.history.throughputOf(t.Name)
	return s
}

func (c *Console) topics(w http.ResponseWriter, r *http.Request) {
	offset, limit, ok := c.paging(w, r)
	if !ok {
		return
	}
	img := c.cfg.Image()
	names := img.TopicNames()
	if q := r.URL.Query().Get("q"); q != "" {
		names = slices.DeleteFunc(names, func(n string) bool { return !strings.Contains(n, q) })
	}
	out := TopicList{Total: len(names), Offset: offset, Limit: limit, Topics: []TopicSummary{}}
	for _, name := range window(names, offset, limit) {
		out.Topics = append(out.Topics, c.summary(img.Topics[name]))
	}
	c.writeJSON(w, http.StatusOK, out)
}

// PartitionInfo is one partition of a topic's page.
type PartitionInfo struct {
	Partition   int32   `json:"partition"`
	Leader      int32   `json:"leader"`
	LeaderEpoch int32   `json:"leader_epoch"`
	Replicas    []int32 `json:"replicas"`
	ISR         []int32 `json:"isr"`
	State       string  `json:"state"`
	// Hosted: this broker has a replica; the offsets and size are -1 otherwise.
	Hosted         bool  `json:"hosted"`
	LogStartOffset int64 `json:"log_start_offset"`
	HighWatermark  int64 `json:"high_watermark"`
	SizeBytes      int64 `json:"size_bytes"`
}

// TopicDetail is a topic's page.
type TopicDetail struct {
	TopicSummary
	ID string `json:"id"`
	// Configs are the topic's overrides; every other config is the broker's default.
	Configs          map[string]string `json:"configs"`
	PartitionsOffset int               `json:"partitions_offset"`
	PartitionsLimit  int               `json:"partitions_limit"`
	PartitionList    []PartitionInfo   `json:"partition_list"`
}

func (c *Console) topic(w http.ResponseWriter, r *http.Request) {
	offset, limit, ok := c.paging(w, r)
	if !ok {
		return
	}
	t := c.cfg.Image().Topics[r.PathValue("topic")]
	if t == nil {
		c.fail(w, http.StatusNotFound, "topic %q not found", r.PathValue("topic"))
		return
	}
	out := TopicDetail{
		TopicSummary: c.summary(t), ID: t.ID.String(), Configs: map[string]string{},
		PartitionsOffset: offset, PartitionsLimit: limit, PartitionList: []PartitionInfo{},
	}
	for k, v := range t.Configs {
		out.Configs[k] = v
	}
	for _, p := range window(t.Partitions, offset, limit) {
		pi := PartitionInfo{
			Partition: p.ID, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, Replicas: p.Replicas, ISR: p.ISR,
			State: partitionState(&p), LogStartOffset: -1, HighWatermark: -1, SizeBytes: -1,
		}
		if rp, err := c.cfg.Replicas.Partition(t.Name, p.ID); err == nil {
			pi.Hosted, pi.LogStartOffset, pi.HighWatermark, pi.SizeBytes = true, rp.LogStartOffset(), rp.HighWatermark(), rp.Size()
		}
		out.PartitionList = append(out.PartitionList, pi)
	}
	c.writeJSON(w, http.StatusOK, out)
}

// GroupSummary is one row of the group list.
type GroupSummary struct {
	Group string `json:"group"`
	// State is the coordinator's (Stable, Empty, ...); "" for a group known only by its
	// commits.
	State string `json:"state"`
	Type  string `json:"type"`
	// Status is the lag status (Burrow's, or STOPPED_GROWING); "" without commits seen.
	Status   string `json:"status"`
	TotalLag uint64 `json:"total_lag"`
}

// GroupList is a page of groups.
type GroupList struct {
	Total  int            `json:"total"`
	Offset int            `json:"offset"`
	Limit  int            `json:"limit"`
	Groups []GroupSummary `json:"groups"`
}

// knownGroups lists the groups of the coordinator and of the lag evaluator, sorted, with the
// coordinator's state and type of each.
func (c *Console) knownGroups() ([]string, map[string]kmsg.ListGroupsResponseGroup) {
	byName := map[string]kmsg.ListGroupsResponseGroup{}
	names := c.cfg.Lag.Groups()
	if c.cfg.Groups != nil {
		_, groups := c.cfg.Groups.ListGroups(nil, nil)
		for _, g := range groups {
			byName[g.Group] = g
			if !slices.Contains(names, g.Group) {
				names = append(names, g.Group)
			}
		}
	}
	slices.Sort(names)
	return names, byName
}

func (c *Console) groups(w http.ResponseWriter, r *http.Request) {
	offset, limit, ok := c.paging(w, r)
	if !ok {
		return
	}
	names, byName := c.knownGroups()
	out := GroupList{Total: len(names), Offset: offset, Limit: limit, Groups: []GroupSummary{}}
	for _, name := range window(names, offset, limit) {
		g := GroupSummary{Group: name, State: byName[name].GroupState, Type: byName[name].GroupType}
		if gs, ok := c.cfg.Lag.Evaluate(name); ok {
			gl := admin.GroupLagOf(gs)
			g.Status, g.TotalLag = gl.Status, gl.TotalLag
		}
		out.Groups = append(out.Groups, g)
	}
	c.writeJSON(w, http.StatusOK, out)
}

// Assigned is a member's partitions of one topic.
type Assigned struct {
	Topic      string  `json:"topic"`
	Partitions []int32 `json:"partitions"`
}

// Member is one member of a group.
type Member struct {
	MemberID   string     `json:"member_id"`
	InstanceID string     `json:"instance_id,omitempty"`
	ClientID   string     `json:"client_id"`
	ClientHost string     `json:"client_host"`
	Assignment []Assigned `json:"assignment"`
}

// GroupDetail is a group's page: members and the lag of a page of its partitions.
type GroupDetail struct {
	Group        string   `json:"group"`
	State        string   `json:"state"`
	Type         string   `json:"type"`
	ProtocolType string   `json:"protocol_type"`
	Protocol     string   `json:"protocol"`
	Members      []Member `json:"members"`
	// Lag is package admin's lag answer with Partitions cut to the page asked for; nil
	// without commits seen.
	Lag              *admin.GroupLag `json:"lag"`
	LagPartitions    int             `json:"lag_partitions"`
	PartitionsOffset int             `json:"partitions_offset"`
	PartitionsLimit  int             `json:"partitions_limit"`
}

func (c *Console) group(w http.ResponseWriter, r *http.Request) {
	offset, limit, ok := c.paging(w, r)
	if !ok {
		return
	}
	name := r.PathValue("group")
	names, byName := c.knownGroups()
	if !slices.Contains(names, name) {
		c.fail(w, http.StatusNotFound, "group %q not found", name)
		return
	}
	lg := byName[name]
	out := GroupDetail{Group: name, State: lg.GroupState, Type: lg.GroupType, ProtocolType: lg.ProtocolType,
		Members: []Member{}, PartitionsOffset: offset, PartitionsLimit: limit}
	if c.cfg.Groups != nil {
		out.Members, out.Protocol = c.members(name, lg.GroupType)
	}
	if gs, ok := c.cfg.Lag.Evaluate(name); ok {
		gl := admin.GroupLagOf(gs)
		out.LagPartitions = len(gl.Partitions)
		gl.Partitions = window(gl.Partitions, offset, limit)
		out.Lag = &gl
	}
	c.writeJSON(w, http.StatusOK, out)
}

// members describes a group's members: a classic group's assignment is decoded from the
// consumer protocol's bytes (other protocols show none); a consumer group's (KIP-848) names
// topics by id; a share group's (KIP-932) members may share partitions.
func (c *Console) members(name, typ string) ([]Member, string) {
	out := []Member{}
	if typ == "consumer" {
		d := c.cfg.Groups.ConsumerGroupDescribe(name)
		img := c.cfg.Image()
		for _, m := range d.Members {
			mm := Member{MemberID: m.MemberID, ClientID: m.ClientID, ClientHost: m.ClientHost, Assignment: []Assigned{}}
			if m.InstanceID != nil {
				mm.InstanceID = *m.InstanceID
			}
			for _, tp := range m.Assignment.TopicPartitions {
				topic := tp.Topic
				if t := img.TopicsByID[metadata.UUID(tp.TopicID)]; t != nil {
					topic = t.Name
				}
				mm.Assignment = append(mm.Assignment, Assigned{Topic: topic, Partitions: slices.Sorted(slices.Values(tp.Partitions))})
			}
			out = append(out, mm)
		}
		return out, "consumer"
	}
	if typ == "share" {
		d := c.cfg.Groups.ShareGroupDescribe(name)
		for _, m := range d.Members {
			mm := Member{MemberID: m.MemberID, ClientID: m.ClientID, ClientHost: m.ClientHost, Assignment: []Assigned{}}
			for _, tp := range m.Assignment.TopicPartitions {
				mm.Assignment = append(mm.Assignment, Assigned{Topic: tp.Topic, Partitions: slices.Sorted(slices.Values(tp.Partitions))})
			}
			out = append(out, mm)
		}
		return out, d.Assignor
	}
	d := c.cfg.Groups.DescribeGroup(name)
	for _, m := range d.Members {
		mm := Member{MemberID: m.MemberID, ClientID: m.ClientID, ClientHost: m.ClientHost, Assignment: []Assigned{}}
		if m.InstanceID != nil {
			mm.InstanceID = *m.InstanceID
		}
		if d.ProtocolType == "consumer" && len(m.MemberAssignment) > 0 {
			var a kmsg.ConsumerMemberAssignment
			if err := a.ReadFrom(m.MemberAssignment); err == nil {
				for _, t := range a.Topics {
					mm.Assignment = append(mm.Assignment, Assigned{Topic: t.Topic, Partitions: slices.Sorted(slices.Values(t.Partitions))})
				}
			}
		}
		out = append(out, mm)
	}
	return out, d.Protocol
}

// LagHistory is a group's total lag series.
type LagHistory struct {
	Group      string `json:"group"`
	IntervalMs int64  `json:"interval_ms"`
	// Points are the samples of the last hour, oldest first, then the lag now.
	Points []Point `json:"points"`
}

func (c *Console) lagHistory(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("group")
	gs, ok := c.cfg.Lag.Evaluate(name)
	if !ok {
		if names, _ := c.knownGroups(); !slices.Contains(names, name) {
			c.fail(w, http.StatusNotFound, "group %q not found", name)
			return
		}
	}
	out := LagHistory{Group: name, IntervalMs: c.cfg.LagSampleInterval.Milliseconds(), Points: c.history.lagOf(name)}
	if ok {
		out.Points = append(out.Points, Point{T: c.cfg.Now().UnixMilli(), V: float64(gs.TotalLag)})
	}
	c.writeJSON(w, http.StatusOK, out)
}
