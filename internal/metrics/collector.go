package metrics

import (
	"slices"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gregorhq/gregor/internal/group"
	"github.com/gregorhq/gregor/internal/lag"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/replica"
)

// Sources is what the Collector reads at scrape time. Any of Replicas, Groups and Lag may be
// nil; their metrics are then left out.
type Sources struct {
	NodeID   int32
	Replicas *replica.Manager
	// Image returns the current metadata image.
	Image func() *metadata.Image
	// MinInsyncReplicas is the broker's min.insync.replicas, for topics without an override.
	MinInsyncReplicas int32
	Groups            *group.Coordinator
	Lag               *lag.Evaluator
}

// Collector reads the log, replica, controller, group and lag metrics when scraped.
type Collector struct {
	src Sources
}

// NewCollector returns a Collector over src; register it on Metrics.Registry.
func NewCollector(src Sources) *Collector { return &Collector{src: src} }

var (
	tpLabels  = []string{"topic", "partition"}
	lagLabels = []string{"consumergroup", "topic", "partition"}

	descLogEnd    = prometheus.NewDesc("kafka_log_log_logendoffset", "The partition's log end offset.", tpLabels, nil)
	descLogStart  = prometheus.NewDesc("kafka_log_log_logstartoffset", "The partition's log start offset.", tpLabels, nil)
	descLogSize   = prometheus.NewDesc("kafka_log_log_size", "The size of the partition's log segments in bytes.", tpLabels, nil)
	descSegments  = prometheus.NewDesc("kafka_log_log_numlogsegments", "The number of segments of the partition's log.", tpLabels, nil)
	descLeaders   = prometheus.NewDesc("kafka_server_replicamanager_leadercount", "Partitions this broker leads.", nil, nil)
	descParts     = prometheus.NewDesc("kafka_server_replicamanager_partitioncount", "Partitions this broker hosts a replica of.", nil, nil)
	descUnderRepl = prometheus.NewDesc("kafka_server_replicamanager_underreplicatedpartitions", "Partitions this broker leads whose ISR is smaller than their replica set.", nil, nil)
	descUnderMin  = prometheus.NewDesc("kafka_server_replicamanager_underminisrpartitioncount", "Partitions this broker leads whose ISR is smaller than min.insync.replicas.", nil, nil)
	descOffline   = prometheus.NewDesc("kafka_controller_kafkacontroller_offlinepartitionscount", "Partitions without a leader (reported by the active controller).", nil, nil)
	descActive    = prometheus.NewDesc("kafka_controller_kafkacontroller_activecontrollercount", "1 on the node that leads the controller quorum, else 0.", nil, nil)
	descGroups    = prometheus.NewDesc("kafka_coordinator_group_groupmetadatamanager_numgroups", "Groups this broker coordinates, by state.", []string{"state"}, nil)
	descRebal     = prometheus.NewDesc("kafka_server_group_coordinator_metrics_group_rebalance_total", "Rebalances (new generations of classic groups) completed.", nil, nil)
	descCommitted = prometheus.NewDesc("kafka_consumergroup_current_offset", "The group's last committed offset.", lagLabels, nil)
	descLag       = prometheus.NewDesc("kafka_consumergroup_lag", "Records between the group's committed offset and the log end offset.", lagLabels, nil)
	descLagSec    = prometheus.NewDesc("kafka_consumergroup_lag_seconds", "Age of the first record the group has not consumed.", lagLabels, nil)
)

// classicStates are the group states always reported, so a dashboard sees zeros.
var classicStates = []string{"PreparingRebalance", "CompletingRebalance", "Stable", "Dead", "Empty"}

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLogEnd, descLogStart, descLogSize, descSegments, descLeaders, descParts,
		descUnderRepl, descUnderMin, descOffline, descActive, descGroups, descRebal, descCommitted, descLag, descLagSec} {
		ch <- d
	}
}

// Collect reads the current values.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if c.src.Replicas != nil {
		for _, p := range c.src.Replicas.Partitions() {
			part := strconv.Itoa(int(p.TP.Partition))
			gauge(descLogEnd, float64(p.LogEndOffset()), p.TP.Topic, part)
			gauge(descLogStart, float64(p.LogStartOffset()), p.TP.Topic, part)
			gauge(descLogSize, float64(p.Size()), p.TP.Topic, part)
			gauge(descSegments, float64(p.NumSegments()), p.TP.Topic, part)
		}
	}
	if c.src.Image != nil {
		c.collectImage(c.src.Image(), gauge)
	}
	if c.src.Groups != nil {
		counts := map[string]int{}
		for _, s := range classicStates {
			counts[s] = 0
		}
		_, groups := c.src.Groups.ListGroups(nil, nil)
		for _, g := range groups {
			counts[g.GroupState]++
		}
		for s, n := range counts {
			gauge(descGroups, float64(n), s)
		}
		ch <- prometheus.MustNewConstMetric(descRebal, prometheus.CounterValue, float64(c.src.Groups.Rebalances()))
	}
	if c.src.Lag != nil {
		for _, g := range c.src.Lag.Groups() {
			gs, ok := c.src.Lag.Evaluate(g)
			if !ok {
				continue
			}
			for _, p := range gs.Partitions {
				part := strconv.Itoa(int(p.Partition))
				gauge(descCommitted, float64(p.End.Offset), g, p.Topic, part)
				gauge(descLag, float64(p.CurrentLag), g, p.Topic, part)
				gauge(descLagSec, p.LagSeconds, g, p.Topic, part)
			}
		}
	}
}

// collectImage counts partitions from the metadata image: the ones this broker hosts and
// leads, and among those it leads the under-replicated and under-min-ISR ones; offline
// partitions are the active controller's to report, as in Kafka.
func (c *Collector) collectImage(img *metadata.Image, gauge func(*prometheus.Desc, float64, ...string)) {
	var leaders, hosted, underRepl, underMin, offline int
	for _, t := range img.Topics {
		minISR := c.src.MinInsyncReplicas
		if v, ok := t.Configs["min.insync.replicas"]; ok {
			if n, err := strconv.ParseInt(v, 10, 32); err == nil {
				minISR = int32(n)
			}
		}
		for _, p := range t.Partitions {
			if p.Leader < 0 {
				offline++
			}
			if slices.Contains(p.Replicas, c.src.NodeID) {
				hosted++
			}
			if p.Leader != c.src.NodeID {
				continue
			}
			leaders++
			if len(p.ISR) < len(p.Replicas) {
				underRepl++
			}
			if int32(len(p.ISR)) < minISR {
				underMin++
			}
		}
	}
	active := img.ControllerID == c.src.NodeID
	if !active {
		offline = 0
	}
	gauge(descLeaders, float64(leaders))
	gauge(descParts, float64(hosted))
	gauge(descUnderRepl, float64(underRepl))
	gauge(descUnderMin, float64(underMin))
	gauge(descOffline, float64(offline))
	gauge(descActive, map[bool]float64{true: 1}[active])
}
