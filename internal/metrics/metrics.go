// Package metrics exposes a broker's metrics for Prometheus, each node on its own registry
// (never the global one, so that several nodes in one process do not collide).
//
// Names are Kafka's JMX names in Prometheus style (domain_type_name, lower case, counters
// ending in _total, durations in seconds), with Kafka's tags as labels:
//
//	kafka_network_requestmetrics_requests_total{request}        RequestMetrics RequestsPerSec
//	kafka_network_requestmetrics_totaltime_seconds{request}     RequestMetrics TotalTimeMs (histogram)
//	kafka_server_brokertopicmetrics_bytesin_total{topic}        BrokerTopicMetrics BytesInPerSec
//	kafka_server_brokertopicmetrics_messagesin_total{topic}     BrokerTopicMetrics MessagesInPerSec
//	kafka_server_brokertopicmetrics_bytesout_total{topic}       BrokerTopicMetrics BytesOutPerSec
//	kafka_log_log_logendoffset{topic,partition}                 Log LogEndOffset
//	kafka_log_log_logstartoffset{topic,partition}               Log LogStartOffset
//	kafka_log_log_size{topic,partition}                         Log Size (bytes)
//	kafka_log_log_numlogsegments{topic,partition}               Log NumLogSegments
//	kafka_server_replicamanager_leadercount                     ReplicaManager LeaderCount
//	kafka_server_replicamanager_partitioncount                  ReplicaManager PartitionCount
//	kafka_server_replicamanager_underreplicatedpartitions       ReplicaManager UnderReplicatedPartitions
//	kafka_server_replicamanager_underminisrpartitioncount       ReplicaManager UnderMinIsrPartitionCount
//	kafka_controller_kafkacontroller_offlinepartitionscount     KafkaController OfflinePartitionsCount
//	kafka_controller_kafkacontroller_activecontrollercount      KafkaController ActiveControllerCount
//	kafka_coordinator_group_groupmetadatamanager_numgroups{state}  GroupMetadataManager NumGroups<State>
//	kafka_server_group_coordinator_metrics_group_rebalance_total   group-coordinator-metrics group-rebalance-count
//
// Kafka has no broker metric for consumer lag; those follow kafka_exporter's names:
//
//	kafka_consumergroup_current_offset{consumergroup,topic,partition}  last committed offset
//	kafka_consumergroup_lag{consumergroup,topic,partition}             lag in records
//	kafka_consumergroup_lag_seconds{consumergroup,topic,partition}     age of the first unconsumed record
//
// The request and per-topic counters are counted on the request path (request counters are
// created per API up front, so counting allocates nothing); everything else is read at
// scrape time by a Collector, with no bookkeeping on the hot path.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// maxKey bounds the API keys the request metrics have children for.
const maxKey = 128

// Metrics is one node's registry and the metrics counted on the request path.
type Metrics struct {
	// Registry holds every metric of the node; /metrics serves it.
	Registry *prometheus.Registry

	// requests and latency are indexed by API key; nil for keys kmsg does not know.
	requests [maxKey]prometheus.Counter
	latency  [maxKey]prometheus.Observer

	bytesIn, messagesIn, bytesOut *prometheus.CounterVec
}

// New returns a node's metrics on a new registry, with Go's runtime and process collectors.
func New() *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kafka_network_requestmetrics_requests_total",
		Help: "Requests served, by API.",
	}, []string{"request"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "kafka_network_requestmetrics_totaltime_seconds",
		Help:    "Time from a request's decoding to its handler's answer, by API (long-poll waits included).",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"request"})
	for k := range int16(maxKey) {
		name := kmsg.NameForKey(k)
		if name == "" || kmsg.RequestForKey(k) == nil {
			continue
		}
		m.requests[k] = requests.WithLabelValues(name)
		m.latency[k] = latency.WithLabelValues(name)
	}
	m.bytesIn = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kafka_server_brokertopicmetrics_bytesin_total",
		Help: "Record batch bytes appended by producers, by topic.",
	}, []string{"topic"})
	m.messagesIn = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kafka_server_brokertopicmetrics_messagesin_total",
		Help: "Records appended by producers, by topic.",
	}, []string{"topic"})
	m.bytesOut = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kafka_server_brokertopicmetrics_bytesout_total",
		Help: "Record batch bytes sent in fetch responses, by topic.",
	}, []string{"topic"})
	m.Registry.MustRegister(requests, latency, m.bytesIn, m.messagesIn, m.bytesOut,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveRequest counts one served request (wire.RequestObserver).
func (m *Metrics) ObserveRequest(key int16, d time.Duration) {
	if key < 0 || key >= maxKey || m.requests[key] == nil {
		return
	}
	m.requests[key].Inc()
	m.latency[key].Observe(d.Seconds())
}

// RecordsIn counts one produced batch (api.TopicMetrics).
func (m *Metrics) RecordsIn(topic string, bytes, records int64) {
	m.bytesIn.WithLabelValues(topic).Add(float64(bytes))
	m.messagesIn.WithLabelValues(topic).Add(float64(records))
}

// BytesOut counts fetched bytes (api.TopicMetrics).
func (m *Metrics) BytesOut(topic string, bytes int64) {
	m.bytesOut.WithLabelValues(topic).Add(float64(bytes))
}

// TopicBytesIn is each topic's bytes-in counter now (the console samples it for its
// throughput sparklines). Topics nothing was produced to since start are absent.
func (m *Metrics) TopicBytesIn() map[string]float64 {
	ch := make(chan prometheus.Metric, 64)
	go func() {
		m.bytesIn.Collect(ch)
		close(ch)
	}()
	out := map[string]float64{}
	for pm := range ch {
		var d dto.Metric
		if err := pm.Write(&d); err != nil || d.Counter == nil {
			continue
		}
		for _, l := range d.GetLabel() {
			if l.GetName() == "topic" {
				out[l.GetValue()] = d.Counter.GetValue()
			}
		}
	}
	return out
}
