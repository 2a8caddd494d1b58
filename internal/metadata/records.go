package metadata

// The records the controller commits through Raft, modelled on Kafka's
// metadata/src/main/resources/common/metadata/*Record.json. Each record is a plain value; the
// only way to change an Image is to Apply records to it (see apply.go).
//
// Encoding (see codec.go) tags every record with its RecordType and a version. The rule for
// evolving a record: a new field whose zero value means "what older versions did" needs no new
// version (old decoders ignore unknown JSON fields, new decoders see the zero value in old
// entries); anything else bumps the version, and a decoder refuses versions newer than it knows
// rather than misreading them.

// RecordType names a record type in the log. The names are part of the on-disk format: never
// rename or reuse one.
type RecordType string

const (
	RecordCluster         RecordType = "cluster"
	RecordLeaderChange    RecordType = "leader_change"
	RecordBroker          RecordType = "broker"
	RecordTopic           RecordType = "topic"
	RecordPartition       RecordType = "partition"
	RecordPartitionChange RecordType = "partition_change"
	RecordConfig          RecordType = "config"
	RecordRemoveTopic     RecordType = "remove_topic"
	RecordProducerIDs     RecordType = "producer_ids"
	// The SCRAM credential records are in scram.go.
	RecordUserScramCredential       RecordType = "user_scram_credential"
	RecordRemoveUserScramCredential RecordType = "remove_user_scram_credential"
)

// Record is one metadata record. The set of implementations is closed (the unexported method
// is applyTo): every record type must be known to Apply and to the codec.
type Record interface {
	Type() RecordType
	applyTo(b *builder) error
}

// ClusterRecord sets the cluster id. The controller writes it once, when a cluster is new.
type ClusterRecord struct {
	ClusterID string `json:"clusterId"`
}

// LeaderChangeRecord says which node leads the controller quorum from this point of the log on.
// A new leader commits one before making any decision (Kafka's Raft layer writes a
// LeaderChangeMessage control record for the same reason), so Image.ControllerID is derived by
// replay like everything else.
type LeaderChangeRecord struct {
	LeaderID int32 `json:"leaderId"`
}

// BrokerRecord registers a broker or replaces its registration (an upsert; Kafka's
// RegisterBrokerRecord, plus fencing, which Kafka records separately).
type BrokerRecord struct {
	ID        int32      `json:"id"`
	Endpoints []Endpoint `json:"endpoints"`
	Rack      string     `json:"rack,omitempty"`
	Fenced    bool       `json:"fenced,omitempty"`
	// IncarnationID is the broker process's id for this start (zero in older entries).
	IncarnationID UUID `json:"incarnationId"`
	// Epoch is the broker epoch (Kafka's RegisterBrokerRecord.brokerEpoch). Zero (and absent
	// in older entries) makes the record a new registration: its epoch is the offset of the
	// log entry that holds it, known only once Raft commits it, so Apply assigns it (see
	// Image.ApplyAt). A record that changes an existing registration (fencing) or rebuilds one
	// (a snapshot) carries the epoch it keeps.
	Epoch int64 `json:"epoch,omitempty"`
}

// TopicRecord creates a topic with no partitions; PartitionRecords follow it.
type TopicRecord struct {
	Name string `json:"name"`
	ID   UUID   `json:"topicId"`
}

// PartitionRecord creates a partition, or replaces one wholesale.
//
// Partitions of a topic are created in order: Partition must be an existing partition's id or
// exactly the topic's current partition count.
type PartitionRecord struct {
	TopicID        UUID    `json:"topicId"`
	Partition      int32   `json:"partition"`
	Replicas       []int32 `json:"replicas"`
	ISR            []int32 `json:"isr"`
	Leader         int32   `json:"leader"`
	LeaderEpoch    int32   `json:"leaderEpoch"`
	PartitionEpoch int32   `json:"partitionEpoch"`
	// A reassignment in progress (see Partition); absent in older entries: none.
	AddingReplicas   []int32 `json:"addingReplicas,omitempty"`
	RemovingReplicas []int32 `json:"removingReplicas,omitempty"`
}

// PartitionChangeRecord changes some fields of a partition. A nil field is left as it is.
// Applying it always increments the partition epoch, and increments the leader epoch when the
// leader changes (Kafka's PartitionRegistration.merge).
type PartitionChangeRecord struct {
	TopicID   UUID    `json:"topicId"`
	Partition int32   `json:"partition"`
	Leader    *int32  `json:"leader,omitempty"` // -1: no leader
	ISR       []int32 `json:"isr"`              // nil: unchanged; empty: emptied
	Replicas  []int32 `json:"replicas"`         // nil: unchanged
	// AddingReplicas and RemovingReplicas start, change or (empty) end a reassignment; nil
	// (and absent in older entries): unchanged.
	AddingReplicas   []int32 `json:"addingReplicas"`
	RemovingReplicas []int32 `json:"removingReplicas"`
}

// ConfigResourceType is the kind of thing a config belongs to; the values are Kafka's
// ConfigResource.Type ids.
type ConfigResourceType int8

const (
	ConfigResourceTopic  ConfigResourceType = 2
	ConfigResourceBroker ConfigResourceType = 4
)

// ConfigRecord sets one config key of a topic or broker, or deletes it when Value is nil.
//
// For topics ResourceName is the topic name and the topic must exist. For brokers it is the
// broker id in decimal, or "" for the cluster-wide default (as in Kafka).
type ConfigRecord struct {
	ResourceType ConfigResourceType `json:"resourceType"`
	ResourceName string             `json:"resourceName"`
	Name         string             `json:"name"`
	Value        *string            `json:"value"`
}

// RemoveTopicRecord deletes a topic, its partitions and its configs.
type RemoveTopicRecord struct {
	TopicID UUID `json:"topicId"`
}

// ProducerIDsRecord hands the block of producer ids ending below NextProducerID to a broker
// (Kafka's ProducerIdsRecord). Blocks are handed out in order: the block starts at the
// previous record's NextProducerID (0 for the first), so ids are unique for the life of the
// cluster, across restarts, because the metadata log remembers the last block.
type ProducerIDsRecord struct {
	BrokerID       int32 `json:"brokerId"`
	NextProducerID int64 `json:"nextProducerId"`
}

func (ClusterRecord) Type() RecordType         { return RecordCluster }
func (LeaderChangeRecord) Type() RecordType    { return RecordLeaderChange }
func (BrokerRecord) Type() RecordType          { return RecordBroker }
func (TopicRecord) Type() RecordType           { return RecordTopic }
func (PartitionRecord) Type() RecordType       { return RecordPartition }
func (PartitionChangeRecord) Type() RecordType { return RecordPartitionChange }
func (ConfigRecord) Type() RecordType          { return RecordConfig }
func (RemoveTopicRecord) Type() RecordType     { return RecordRemoveTopic }
func (ProducerIDsRecord) Type() RecordType     { return RecordProducerIDs }
