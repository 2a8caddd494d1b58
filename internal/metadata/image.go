// Package metadata holds the cluster's metadata as the controller commits it: the record types
// that go through the Raft log, and the immutable Image that every component reads.
//
// State changes only by applying records: the controller turns a request into records, Raft
// commits them, and every node applies the same records, in log order, to its current Image to
// get the next one. An Image is never modified after it is published; readers may keep one for
// as long as they like.
package metadata

import (
	"sort"
)

// UUID is a 16-byte Kafka UUID (a topic id).
type UUID [16]byte

// Endpoint is one listener a broker advertises.
type Endpoint struct {
	Name string // listener name, as in advertised.listeners ("PLAINTEXT")
	Host string
	Port int32
}

// Broker is a registered broker.
type Broker struct {
	ID        int32
	Endpoints []Endpoint
	Rack      string
	Fenced    bool
	// IncarnationID is chosen by the broker process at each start; a registration with a new
	// one is a restart.
	IncarnationID UUID
	// Epoch is the broker epoch: the offset of the log entry of this registration (Kafka's
	// broker epoch). Heartbeats, AlterPartition and ISR expansions name it, and the controller
	// refuses a stale one with STALE_BROKER_EPOCH, so that a process of an older incarnation
	// (paused, then resumed after a replacement registered) cannot act for the broker.
	//
	// Invariant: Epoch > 0 for every registered broker.
	Epoch int64
}

// Partition is one partition's replica placement and leadership.
type Partition struct {
	ID          int32
	Replicas    []int32
	ISR         []int32
	Leader      int32 // -1 when there is none
	LeaderEpoch int32
	// Epoch counts changes to this partition's record (Kafka's partition epoch).
	Epoch int32
	// AddingReplicas and RemovingReplicas describe a reassignment in progress (Kafka's
	// adding_replicas / removing_replicas): Replicas holds the target replicas followed by
	// the ones being removed; the reassignment completes when every target replica is in
	// the ISR, and then Replicas becomes the target. Both are empty when none is running.
	//
	// Invariant: both are subsets of Replicas, and disjoint.
	AddingReplicas   []int32
	RemovingReplicas []int32
}

// Reassigning reports whether a reassignment of p is in progress.
func (p *Partition) Reassigning() bool {
	return len(p.AddingReplicas) > 0 || len(p.RemovingReplicas) > 0
}

// TargetReplicas is where a reassignment in progress takes p (Replicas without the ones
// being removed), or Replicas when none is.
func (p *Partition) TargetReplicas() []int32 {
	if len(p.RemovingReplicas) == 0 {
		return p.Replicas
	}
	out := make([]int32, 0, len(p.Replicas))
	for _, r := range p.Replicas {
		if !containsID(p.RemovingReplicas, r) {
			out = append(out, r)
		}
	}
	return out
}

// OriginalReplicas is where p was before a reassignment in progress (Replicas without the
// ones being added), or Replicas when none is.
func (p *Partition) OriginalReplicas() []int32 {
	if len(p.AddingReplicas) == 0 {
		return p.Replicas
	}
	out := make([]int32, 0, len(p.Replicas))
	for _, r := range p.Replicas {
		if !containsID(p.AddingReplicas, r) {
			out = append(out, r)
		}
	}
	return out
}

func containsID(ids []int32, id int32) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// Topic is a topic, its partitions (indexed by partition id) and its config overrides.
type Topic struct {
	Name       string
	ID         UUID
	Partitions []Partition
	// Configs holds only the topic-level overrides; defaults come from the broker config.
	Configs map[string]string
}

// Image is one immutable view of the cluster metadata, as of a Raft log index.
//
// Invariant: TopicsByID[t.ID] == Topics[t.Name] for every topic t.
type Image struct {
	// Offset is the Raft index of the last record applied.
	Offset    uint64
	ClusterID string
	// ControllerID is the node that leads the controller quorum as of this image, -1 if unknown.
	ControllerID int32
	Brokers      map[int32]Broker
	Topics       map[string]*Topic
	TopicsByID   map[UUID]*Topic
	// BrokerConfigs holds broker-level config overrides, keyed by broker id in decimal, with ""
	// for the cluster-wide default (Kafka's broker config resource names).
	BrokerConfigs map[string]map[string]string
	// NextProducerID is the first producer id no broker has been given yet: the end of the
	// last block a ProducerIDsRecord handed out (0 before any).
	NextProducerID int64
	// NextProducerIDBroker is the broker that got that block, -1 before any.
	NextProducerIDBroker int32
	// ScramCredentials holds every user's SCRAM credentials, one per user and mechanism.
	ScramCredentials map[ScramKey]ScramCredential
	// ACLs holds every ACL by id; nil when there are none. Immutable, replaced whole.
	ACLs *ACLSet
	// ClientQuotas holds the client quotas, by entity and key ("producer_byte_rate").
	ClientQuotas map[QuotaEntity]map[string]float64
}

// Empty returns the image before any record.
func Empty() *Image {
	return &Image{
		ControllerID:         -1,
		NextProducerIDBroker: -1,
		Brokers:              map[int32]Broker{},
		Topics:               map[string]*Topic{},
		TopicsByID:           map[UUID]*Topic{},
		BrokerConfigs:        map[string]map[string]string{},
		ScramCredentials:     map[ScramKey]ScramCredential{},
	}
}

// WithOffset returns a copy of img, sharing everything with it, whose Offset is offset. The
// FSM uses it for log entries that change nothing else.
func (img *Image) WithOffset(offset uint64) *Image {
	next := *img
	next.Offset = offset
	return &next
}

// TopicNames returns the names of all topics, sorted.
func (img *Image) TopicNames() []string {
	names := make([]string, 0, len(img.Topics))
	for n := range img.Topics {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Partition returns a topic's partition, if both exist.
func (img *Image) Partition(topic string, partition int32) (*Topic, *Partition, bool) {
	t, ok := img.Topics[topic]
	if !ok || partition < 0 || int(partition) >= len(t.Partitions) {
		return t, nil, false
	}
	return t, &t.Partitions[partition], true
}
