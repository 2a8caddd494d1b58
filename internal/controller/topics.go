package controller

import (
	"context"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/metadata"
)

// maxPartitionsPerRequest bounds how many partitions one request may create, so that a request
// cannot make an arbitrarily large Raft entry (Kafka bounds a user operation to 10,000
// records).
const maxPartitionsPerRequest = 10000

// TopicSpec is one topic to create.
type TopicSpec struct {
	Name              string
	NumPartitions     int32 // -1: Config.DefaultPartitions
	ReplicationFactor int16 // -1: Config.DefaultReplicationFactor
	// Assignments, when not empty, gives each partition's replicas (partition ids 0..n-1); then
	// NumPartitions and ReplicationFactor must be -1.
	Assignments map[int32][]int32
	Configs     map[string]*string
}

// TopicResult is the outcome for one TopicSpec.
type TopicResult struct {
	Name string
	ID   metadata.UUID // zero unless created (also zero when validateOnly)
	// Err is nil or a *kerr.Error; Message details it for the client (may be empty).
	Err               error
	Message           string
	NumPartitions     int32
	ReplicationFactor int16
}

// DeleteResult is the outcome for one topic to delete.
type DeleteResult struct {
	Name    string
	ID      metadata.UUID
	Err     error // nil or a *kerr.Error
	Message string
}

// PartitionsSpec asks for a topic to have Count partitions in all.
type PartitionsSpec struct {
	Topic string
	Count int32
	// Assignments, when not nil, gives the replicas of each new partition, in order; there must
	// be one per new partition.
	Assignments [][]int32
}

// PartitionsResult is the outcome for one PartitionsSpec.
type PartitionsResult struct {
	Topic   string
	Err     error // nil or a *kerr.Error
	Message string
}

// createTopics creates topics on the active controller, as Kafka's CreateTopics does, and
// returns one result per spec in order. The topics that pass validation are created together, in one Raft entry. With
// validateOnly nothing is created, but the results say what would have been.
//
// Duplicate names in one call all fail with INVALID_REQUEST (Kafka answers once per distinct
// name; the API layer may fold them). If the commit fails, the topics that would have been
// created carry its error (NOT_CONTROLLER, or REQUEST_TIMED_OUT when ctx ends first, in which
// case they may still be created).
func (c *Controller) createTopics(ctx context.Context, specs []TopicSpec, validateOnly bool) []TopicResult {
	var results []TopicResult
	err := c.decide(ctx, func(img *metadata.Image) []metadata.Record {
		var recs []metadata.Record
		recs, results = c.planCreateTopics(img, specs)
		if validateOnly {
			for i := range results {
				results[i].ID = metadata.ZeroUUID
			}
			return nil
		}
		return recs
	})
	if results == nil {
		results = make([]TopicResult, len(specs))
		for i, s := range specs {
			results[i].Name = s.Name
		}
	}
	if err != nil {
		code, msg := toKafka(err)
		for i := range results {
			if results[i].Err == nil {
				results[i] = TopicResult{Name: results[i].Name, Err: code, Message: msg}
			}
		}
	}
	return results
}

// planCreateTopics decides a CreateTopics against img: the records to commit and the results.
// The checks come in Kafka's order: duplicates in the request, name, existence, collision,
// configs, then partitions and replication.
func (c *Controller) planCreateTopics(img *metadata.Image, specs []TopicSpec) ([]metadata.Record, []TopicResult) {
	results := make([]TopicResult, len(specs))
	counts := map[string]int{}
	for _, s := range specs {
		counts[s.Name]++
	}
	// collisions maps the unified name of each topic with '.' or '_' to the topic, including
	// those created earlier in this request.
	collisions := map[string]string{}
	for name := range img.Topics {
		if hasCollisionChars(name) {
			collisions[unifyCollisionChars(name)] = name
		}
	}
	brokers := usableBrokers(img)
	budget := maxPartitionsPerRequest
	var recs []metadata.Record
	for i, s := range specs {
		r := &results[i]
		r.Name = s.Name
		setErr := func(err error) { r.Err, r.Message = toKafka(err) }
		if counts[s.Name] > 1 {
			setErr(fail(kerr.InvalidRequest, "Duplicate topic name."))
			continue
		}
		if err := ValidateTopicName(s.Name); err != nil {
			setErr(fail(kerr.InvalidTopicException, err.Error()))
			continue
		}
		if _, ok := img.Topics[s.Name]; ok {
			setErr(fail(kerr.TopicAlreadyExists, fmt.Sprintf("Topic '%s' already exists.", s.Name)))
			continue
		}
		if hasCollisionChars(s.Name) {
			if other, ok := collisions[unifyCollisionChars(s.Name)]; ok {
				setErr(fail(kerr.InvalidTopicException, fmt.Sprintf("Topic '%s' collides with existing topic: %s", s.Name, other)))
				continue
			}
		}
		configRecs, err := c.topicConfigRecords(s.Name, s.Configs)
		if err != nil {
			setErr(err)
			continue
		}
		parts, err := c.planNewTopicPartitions(img, brokers, s)
		if err != nil {
			setErr(err)
			continue
		}
		if len(parts) > budget {
			setErr(fail(kerr.PolicyViolation, fmt.Sprintf(
				"Unable to perform excessively large batch operation: at most %d partitions may be created in one request.", maxPartitionsPerRequest)))
			continue
		}
		budget -= len(parts)

		id := metadata.RandomUUID()
		recs = append(recs, metadata.TopicRecord{Name: s.Name, ID: id})
		for pid, p := range parts {
			p.TopicID, p.Partition = id, int32(pid)
			recs = append(recs, p)
		}
		recs = append(recs, configRecs...)
		if hasCollisionChars(s.Name) {
			collisions[unifyCollisionChars(s.Name)] = s.Name
		}
		r.ID = id
		r.NumPartitions = int32(len(parts))
		r.ReplicationFactor = int16(len(parts[0].Replicas))
	}
	return recs, results
}

// topicConfigRecords validates a new topic's configs and returns the records that set them,
// sorted by name.
func (c *Controller) topicConfigRecords(topic string, configs map[string]*string) ([]metadata.Record, error) {
	var recs []metadata.Record
	for _, k := range sortedKeys(configs) {
		v := configs[k]
		if v == nil {
			return nil, fail(kerr.InvalidConfig, "Null value not supported for topic configs: "+k)
		}
		if c.cfg.ValidateTopicConfig != nil {
			if err := c.cfg.ValidateTopicConfig(k, v); err != nil {
				return nil, fail(kerr.InvalidConfig, err.Error())
			}
		}
		val := *v
		recs = append(recs, metadata.ConfigRecord{
			ResourceType: metadata.ConfigResourceTopic, ResourceName: topic, Name: k, Value: &val,
		})
	}
	return recs, nil
}

// planNewTopicPartitions returns the PartitionRecords (without topic id and partition index)
// of a new topic, from its manual assignment or by placement.
func (c *Controller) planNewTopicPartitions(img *metadata.Image, brokers []metadata.Broker, s TopicSpec) ([]metadata.PartitionRecord, error) {
	if len(s.Assignments) > 0 {
		if s.ReplicationFactor != -1 {
			return nil, fail(kerr.InvalidRequest, "A manual partition assignment was specified, but replication factor was not set to -1.")
		}
		if s.NumPartitions != -1 {
			return nil, fail(kerr.InvalidRequest, "A manual partition assignment was specified, but numPartitions was not set to -1.")
		}
		if len(s.Assignments) > maxPartitionsPerRequest {
			return nil, fail(kerr.PolicyViolation, "Unable to perform excessively large batch operation.")
		}
		parts := make([]metadata.PartitionRecord, len(s.Assignments))
		rf := 0
		for pid := range int32(len(s.Assignments)) {
			replicas, ok := s.Assignments[pid]
			if !ok {
				return nil, fail(kerr.InvalidReplicaAssignment, "partitions should be a consecutive 0-based integer sequence")
			}
			p, err := manualPartition(img, pid, replicas, rf)
			if err != nil {
				return nil, err
			}
			rf = len(replicas)
			parts[pid] = p
		}
		return parts, nil
	}
	if s.ReplicationFactor < -1 || s.ReplicationFactor == 0 {
		return nil, fail(kerr.InvalidReplicationFactor, "Replication factor must be larger than 0, or -1 to use the default value.")
	}
	if s.NumPartitions < -1 || s.NumPartitions == 0 {
		return nil, fail(kerr.InvalidPartitions, "Number of partitions was set to an invalid non-positive value.")
	}
	n, rf := s.NumPartitions, s.ReplicationFactor
	if n == -1 {
		n = c.cfg.DefaultPartitions
	}
	if rf == -1 {
		rf = c.cfg.DefaultReplicationFactor
	}
	if n > maxPartitionsPerRequest {
		return nil, fail(kerr.PolicyViolation, fmt.Sprintf(
			"Unable to perform excessively large batch operation: at most %d partitions may be created in one request.", maxPartitionsPerRequest))
	}
	placements, err := c.placer.place(brokers, 0, n, rf)
	if err != nil {
		return nil, err
	}
	return newPartitions(placements), nil
}

// newPartitions turns placements into partition records: ISR = replicas, leader = the first
// replica, epochs 0.
func newPartitions(placements [][]int32) []metadata.PartitionRecord {
	parts := make([]metadata.PartitionRecord, len(placements))
	for i, r := range placements {
		parts[i] = metadata.PartitionRecord{Replicas: r, ISR: slices.Clone(r), Leader: r[0]}
	}
	return parts
}

// manualPartition validates a manual assignment of one partition (Kafka's
// validateManualPartitionAssignment) and returns its record: the ISR is the unfenced replicas,
// the leader the first of them. rf, when not 0, is the replication factor it must have.
func manualPartition(img *metadata.Image, pid int32, replicas []int32, rf int) (metadata.PartitionRecord, error) {
	var p metadata.PartitionRecord
	if len(replicas) == 0 {
		return p, fail(kerr.InvalidReplicaAssignment, "The manual partition assignment includes an empty replica list.")
	}
	seen := map[int32]bool{}
	var isr []int32
	for _, b := range replicas {
		if seen[b] {
			return p, fail(kerr.InvalidReplicaAssignment, fmt.Sprintf(
				"The manual partition assignment includes the broker %d more than once.", b))
		}
		seen[b] = true
		reg, ok := img.Brokers[b]
		if !ok {
			return p, fail(kerr.InvalidReplicaAssignment, fmt.Sprintf(
				"The manual partition assignment includes broker %d, but no such broker is registered.", b))
		}
		if !reg.Fenced {
			isr = append(isr, b)
		}
	}
	if rf != 0 && len(replicas) != rf {
		return p, fail(kerr.InvalidReplicaAssignment, fmt.Sprintf(
			"The manual partition assignment includes a partition with %d replica(s), but this is not consistent with previous partitions, which have %d replica(s).",
			len(replicas), rf))
	}
	if len(isr) == 0 {
		return p, fail(kerr.InvalidReplicaAssignment, fmt.Sprintf(
			"All brokers specified in the manual partition assignment for partition %d are fenced.", pid))
	}
	return metadata.PartitionRecord{Replicas: slices.Clone(replicas), ISR: isr, Leader: isr[0]}, nil
}

// deleteTopics deletes topics by name and by id. The results come in request order: names
// first, then ids. An unknown name is UNKNOWN_TOPIC_OR_PARTITION, an unknown id
// UNKNOWN_TOPIC_ID; a name or id given twice, or a name whose topic is also given by id, is
// INVALID_REQUEST. The topics found are removed together, in one Raft entry.
func (c *Controller) deleteTopics(ctx context.Context, names []string, ids []metadata.UUID) []DeleteResult {
	var results []DeleteResult
	err := c.decide(ctx, func(img *metadata.Image) []metadata.Record {
		var recs []metadata.Record
		recs, results = planDeleteTopics(img, names, ids)
		return recs
	})
	if results == nil {
		for _, n := range names {
			results = append(results, DeleteResult{Name: n})
		}
		for _, id := range ids {
			results = append(results, DeleteResult{ID: id})
		}
	}
	if err != nil {
		code, msg := toKafka(err)
		for i := range results {
			if results[i].Err == nil {
				results[i].Err, results[i].Message = code, msg
			}
		}
	}
	return results
}

func planDeleteTopics(img *metadata.Image, names []string, ids []metadata.UUID) ([]metadata.Record, []DeleteResult) {
	results := make([]DeleteResult, 0, len(names)+len(ids))
	nameCount := map[string]int{}
	for _, n := range names {
		nameCount[n]++
	}
	idCount := map[metadata.UUID]int{}
	for _, id := range ids {
		idCount[id]++
	}
	var recs []metadata.Record
	for _, n := range names {
		r := DeleteResult{Name: n}
		t, ok := img.Topics[n]
		switch {
		case nameCount[n] > 1:
			r.Err, r.Message = kerr.InvalidRequest, "Duplicate topic name."
		case !ok:
			r.Err = kerr.UnknownTopicOrPartition
		case idCount[t.ID] > 0:
			r.ID = t.ID
			r.Err, r.Message = kerr.InvalidRequest, "The provided topic name maps to an ID that was already supplied."
		default:
			r.ID = t.ID
			recs = append(recs, metadata.RemoveTopicRecord{TopicID: t.ID})
		}
		results = append(results, r)
	}
	for _, id := range ids {
		r := DeleteResult{ID: id}
		t, ok := img.TopicsByID[id]
		switch {
		case idCount[id] > 1:
			r.Err, r.Message = kerr.InvalidRequest, "Duplicate topic id."
		case id == metadata.ZeroUUID:
			r.Err, r.Message = kerr.InvalidRequest, "Invalid topic id "+id.String()
		case !ok:
			r.Err = kerr.UnknownTopicID
		default:
			r.Name = t.Name
			recs = append(recs, metadata.RemoveTopicRecord{TopicID: t.ID})
		}
		results = append(results, r)
	}
	return recs, results
}

// createPartitions adds partitions to existing topics, as Kafka's CreatePartitions does, and
// returns one result per spec in order. With validateOnly nothing changes.
func (c *Controller) createPartitions(ctx context.Context, specs []PartitionsSpec, validateOnly bool) []PartitionsResult {
	var results []PartitionsResult
	err := c.decide(ctx, func(img *metadata.Image) []metadata.Record {
		var recs []metadata.Record
		recs, results = c.planCreatePartitions(img, specs)
		if validateOnly {
			return nil
		}
		return recs
	})
	if results == nil {
		results = make([]PartitionsResult, len(specs))
		for i, s := range specs {
			results[i].Topic = s.Topic
		}
	}
	if err != nil {
		code, msg := toKafka(err)
		for i := range results {
			if results[i].Err == nil {
				results[i].Err, results[i].Message = code, msg
			}
		}
	}
	return results
}

func (c *Controller) planCreatePartitions(img *metadata.Image, specs []PartitionsSpec) ([]metadata.Record, []PartitionsResult) {
	results := make([]PartitionsResult, len(specs))
	counts := map[string]int{}
	for _, s := range specs {
		counts[s.Topic]++
	}
	brokers := usableBrokers(img)
	budget := maxPartitionsPerRequest
	var recs []metadata.Record
	for i, s := range specs {
		results[i].Topic = s.Topic
		if counts[s.Topic] > 1 {
			results[i].Err, results[i].Message = kerr.InvalidRequest, "Duplicate topic name."
			continue
		}
		parts, err := c.planNewPartitions(img, brokers, s, budget)
		if err != nil {
			results[i].Err, results[i].Message = toKafka(err)
			continue
		}
		budget -= len(parts)
		recs = append(recs, parts...)
	}
	return recs, results
}

func (c *Controller) planNewPartitions(img *metadata.Image, brokers []metadata.Broker, s PartitionsSpec, budget int) ([]metadata.Record, error) {
	t, ok := img.Topics[s.Topic]
	if !ok {
		return nil, fail(kerr.UnknownTopicOrPartition, "")
	}
	cur := int32(len(t.Partitions))
	switch {
	case s.Count == cur:
		return nil, fail(kerr.InvalidPartitions, fmt.Sprintf("Topic already has %d partition(s).", cur))
	case s.Count < cur:
		return nil, fail(kerr.InvalidPartitions, fmt.Sprintf(
			"The topic %s currently has %d partition(s); %d would not be an increase.", s.Topic, cur, s.Count))
	case cur == 0:
		return nil, fail(kerr.UnknownServerError, fmt.Sprintf("Invalid state: topic %s appears to have no partitions.", s.Topic))
	}
	additional := s.Count - cur
	if int(additional) > budget {
		return nil, fail(kerr.PolicyViolation, fmt.Sprintf(
			"Unable to perform excessively large batch operation: at most %d partitions may be created in one request.", maxPartitionsPerRequest))
	}
	rf := len(t.Partitions[0].Replicas)
	var parts []metadata.PartitionRecord
	if s.Assignments != nil {
		if len(s.Assignments) != int(additional) {
			return nil, fail(kerr.InvalidReplicaAssignment, fmt.Sprintf(
				"Attempted to add %d additional partition(s), but only %d assignment(s) were specified.", additional, len(s.Assignments)))
		}
		for i, replicas := range s.Assignments {
			p, err := manualPartition(img, cur+int32(i), replicas, rf)
			if err != nil {
				return nil, err
			}
			parts = append(parts, p)
		}
	} else {
		placements, err := c.placer.place(brokers, cur, additional, int16(rf))
		if err != nil {
			return nil, err
		}
		parts = newPartitions(placements)
	}
	recs := make([]metadata.Record, len(parts))
	for i, p := range parts {
		p.TopicID, p.Partition = t.ID, cur+int32(i)
		recs[i] = p
	}
	return recs, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
