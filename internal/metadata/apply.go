package metadata

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
)

// Apply is ApplyAt for the entry right after img (offset img.Offset+1), except that it
// leaves Offset as it was. Tests and tools that build images use it.
func (img *Image) Apply(recs []Record) (*Image, error) {
	return img.apply(recs, img.Offset+1)
}

// ApplyAt returns the image that results from applying recs, the log entry at offset, to img,
// with Offset set to offset. A BrokerRecord without an epoch (a new registration) takes
// offset as its broker epoch.
func (img *Image) ApplyAt(recs []Record, offset uint64) (*Image, error) {
	next, err := img.apply(recs, offset)
	if err != nil {
		return nil, err
	}
	next.Offset = offset
	return next, nil
}

// apply returns the image that results from applying recs, in order, to img. The batch is
// atomic: on the first record that does not fit the image (an unknown topic id, a partition that
// breaks an invariant, ...) Apply returns an error and no image.
//
// Apply never modifies img or anything reachable from it (copy on write: the maps and the topics
// that the batch changes are copied, the rest is shared). The returned *Image is always a fresh
// struct, so its caller may set Offset on it before publishing it. apply leaves Offset as it
// was; offset is the log offset the batch is applied as (the epoch of new registrations).
func (img *Image) apply(recs []Record, offset uint64) (*Image, error) {
	next := *img
	b := &builder{img: &next, offset: offset, ownedTopics: map[*Topic]bool{}, ownedConfigs: map[string]bool{}}
	for i, r := range recs {
		if r == nil {
			return nil, fmt.Errorf("metadata: record %d is nil", i)
		}
		if err := r.applyTo(b); err != nil {
			return nil, fmt.Errorf("metadata: record %d (%s): %w", i, r.Type(), err)
		}
	}
	// An image built as a literal may have nil maps; the result never does.
	if next.Brokers == nil {
		next.Brokers = map[int32]Broker{}
	}
	if next.Topics == nil {
		next.Topics = map[string]*Topic{}
	}
	if next.TopicsByID == nil {
		next.TopicsByID = map[UUID]*Topic{}
	}
	if next.BrokerConfigs == nil {
		next.BrokerConfigs = map[string]map[string]string{}
	}
	if next.ScramCredentials == nil {
		next.ScramCredentials = map[ScramKey]ScramCredential{}
	}
	return &next, nil
}

// builder is the image under construction during one Apply. Everything reachable from img that
// is not recorded as owned here is shared with the previous image and must be copied before it
// is changed.
type builder struct {
	img *Image
	// offset is the log offset of the batch being applied.
	offset uint64

	brokersOwned       bool
	topicsOwned        bool // Topics and TopicsByID
	brokerConfigsOwned bool // the outer BrokerConfigs map
	scramOwned         bool // ScramCredentials
	aclsOwned          bool // ACLs, replaced by a new set on the first change
	quotasOwned        bool // the outer ClientQuotas map
	// ownedQuotas are the ClientQuotas inner maps created or copied by this batch.
	ownedQuotas map[QuotaEntity]bool
	// ownedTopics are topics created or copied by this batch. Their Partitions slice and Configs
	// map are owned too; the Replicas and ISR slices inside partitions never are (they are
	// replaced, never changed in place).
	ownedTopics map[*Topic]bool
	// ownedConfigs are the BrokerConfigs inner maps created or copied by this batch.
	ownedConfigs map[string]bool
}

func (b *builder) brokers() map[int32]Broker {
	if !b.brokersOwned {
		b.img.Brokers = maps.Clone(b.img.Brokers)
		if b.img.Brokers == nil {
			b.img.Brokers = map[int32]Broker{}
		}
		b.brokersOwned = true
	}
	return b.img.Brokers
}

func (b *builder) ownTopicMaps() {
	if b.topicsOwned {
		return
	}
	b.img.Topics = maps.Clone(b.img.Topics)
	if b.img.Topics == nil {
		b.img.Topics = map[string]*Topic{}
	}
	b.img.TopicsByID = maps.Clone(b.img.TopicsByID)
	if b.img.TopicsByID == nil {
		b.img.TopicsByID = map[UUID]*Topic{}
	}
	b.topicsOwned = true
}

// mutableTopic returns a copy of the topic with id that this batch may change, installed in
// the image under construction.
func (b *builder) mutableTopic(id UUID) (*Topic, error) {
	t, ok := b.img.TopicsByID[id]
	if !ok {
		return nil, fmt.Errorf("unknown topic id %s", id)
	}
	if b.ownedTopics[t] {
		return t, nil
	}
	nt := &Topic{
		Name:       t.Name,
		ID:         t.ID,
		Partitions: slices.Clone(t.Partitions),
		Configs:    maps.Clone(t.Configs),
	}
	b.ownTopicMaps()
	b.img.Topics[nt.Name] = nt
	b.img.TopicsByID[nt.ID] = nt
	b.ownedTopics[nt] = true
	return nt, nil
}

func (r ClusterRecord) applyTo(b *builder) error {
	if r.ClusterID == "" {
		return errors.New("empty cluster id")
	}
	if b.img.ClusterID != "" && b.img.ClusterID != r.ClusterID {
		return fmt.Errorf("cluster id is already %q, cannot become %q", b.img.ClusterID, r.ClusterID)
	}
	b.img.ClusterID = r.ClusterID
	return nil
}

func (r LeaderChangeRecord) applyTo(b *builder) error {
	if r.LeaderID < -1 {
		return fmt.Errorf("invalid leader id %d", r.LeaderID)
	}
	b.img.ControllerID = r.LeaderID
	return nil
}

func (r BrokerRecord) applyTo(b *builder) error {
	if r.ID < 0 {
		return fmt.Errorf("invalid broker id %d", r.ID)
	}
	epoch := r.Epoch
	switch {
	case epoch < 0:
		return fmt.Errorf("broker %d: invalid broker epoch %d", r.ID, epoch)
	case epoch == 0:
		// A new registration: the epoch is where it is in the log. The offset is at least 1
		// (Raft indexes start there), so the invariant Epoch > 0 holds.
		epoch = int64(max(b.offset, 1))
	}
	b.brokers()[r.ID] = Broker{
		ID:        r.ID,
		Endpoints: slices.Clone(r.Endpoints),
		Rack:      r.Rack,
		Fenced:    r.Fenced,

		IncarnationID: r.IncarnationID,
		Epoch:         epoch,
	}
	return nil
}

func (r TopicRecord) applyTo(b *builder) error {
	switch {
	case r.Name == "":
		return errors.New("empty topic name")
	case r.ID == ZeroUUID:
		return fmt.Errorf("topic %q has the zero topic id", r.Name)
	}
	if _, ok := b.img.Topics[r.Name]; ok {
		return fmt.Errorf("topic %q already exists", r.Name)
	}
	if t, ok := b.img.TopicsByID[r.ID]; ok {
		return fmt.Errorf("topic id %s already belongs to topic %q", r.ID, t.Name)
	}
	b.ownTopicMaps()
	t := &Topic{Name: r.Name, ID: r.ID, Configs: map[string]string{}}
	b.img.Topics[t.Name] = t
	b.img.TopicsByID[t.ID] = t
	b.ownedTopics[t] = true
	return nil
}

func (r PartitionRecord) applyTo(b *builder) error {
	t, err := b.mutableTopic(r.TopicID)
	if err != nil {
		return err
	}
	if r.Partition < 0 || int(r.Partition) > len(t.Partitions) {
		return fmt.Errorf("topic %q has %d partition(s); cannot create partition %d",
			t.Name, len(t.Partitions), r.Partition)
	}
	p := Partition{
		ID:          r.Partition,
		Replicas:    slices.Clone(r.Replicas),
		ISR:         slices.Clone(r.ISR),
		Leader:      r.Leader,
		LeaderEpoch: r.LeaderEpoch,
		Epoch:       r.PartitionEpoch,

		AddingReplicas:   slices.Clone(r.AddingReplicas),
		RemovingReplicas: slices.Clone(r.RemovingReplicas),
	}
	if err := checkPartition(p); err != nil {
		return fmt.Errorf("%s-%d: %w", t.Name, r.Partition, err)
	}
	if int(r.Partition) == len(t.Partitions) {
		t.Partitions = append(t.Partitions, p)
	} else {
		t.Partitions[r.Partition] = p
	}
	return nil
}

func (r PartitionChangeRecord) applyTo(b *builder) error {
	t, err := b.mutableTopic(r.TopicID)
	if err != nil {
		return err
	}
	if r.Partition < 0 || int(r.Partition) >= len(t.Partitions) {
		return fmt.Errorf("topic %q has no partition %d", t.Name, r.Partition)
	}
	p := t.Partitions[r.Partition]
	if r.Replicas != nil {
		p.Replicas = slices.Clone(r.Replicas)
	}
	if r.ISR != nil {
		p.ISR = slices.Clone(r.ISR)
	}
	if r.AddingReplicas != nil {
		p.AddingReplicas = nonEmpty(r.AddingReplicas)
	}
	if r.RemovingReplicas != nil {
		p.RemovingReplicas = nonEmpty(r.RemovingReplicas)
	}
	if r.Leader != nil && *r.Leader != p.Leader {
		p.Leader = *r.Leader
		p.LeaderEpoch++
	}
	p.Epoch++
	if err := checkPartition(p); err != nil {
		return fmt.Errorf("%s-%d: %w", t.Name, r.Partition, err)
	}
	t.Partitions[r.Partition] = p
	return nil
}

// nonEmpty clones ids, nil when empty (an ended reassignment leaves no trace).
func nonEmpty(ids []int32) []int32 {
	if len(ids) == 0 {
		return nil
	}
	return slices.Clone(ids)
}

// checkPartition checks a partition's invariants:
//   - Replicas is not empty, has no duplicates and no negative broker id;
//   - AddingReplicas and RemovingReplicas are disjoint subsets of Replicas;
//   - ISR is a subset of Replicas, without duplicates;
//   - Leader is -1 or a member of the ISR;
//   - the epochs are not negative.
func checkPartition(p Partition) error {
	if len(p.Replicas) == 0 {
		return errors.New("no replicas")
	}
	seen := make(map[int32]bool, len(p.Replicas))
	for _, r := range p.Replicas {
		if r < 0 {
			return fmt.Errorf("invalid replica %d", r)
		}
		if seen[r] {
			return fmt.Errorf("replica %d listed twice", r)
		}
		seen[r] = true
	}
	adding := make(map[int32]bool, len(p.AddingReplicas))
	for _, r := range p.AddingReplicas {
		if !seen[r] || adding[r] {
			return fmt.Errorf("adding replica %d is not a replica or listed twice", r)
		}
		adding[r] = true
	}
	removing := make(map[int32]bool, len(p.RemovingReplicas))
	for _, r := range p.RemovingReplicas {
		if !seen[r] || adding[r] || removing[r] {
			return fmt.Errorf("removing replica %d is not a replica, is also being added, or is listed twice", r)
		}
		removing[r] = true
	}
	inISR := make(map[int32]bool, len(p.ISR))
	for _, r := range p.ISR {
		if !seen[r] {
			return fmt.Errorf("ISR member %d is not a replica", r)
		}
		if inISR[r] {
			return fmt.Errorf("ISR member %d listed twice", r)
		}
		inISR[r] = true
	}
	if p.Leader != -1 && !inISR[p.Leader] {
		return fmt.Errorf("leader %d is not in the ISR %v", p.Leader, p.ISR)
	}
	if p.LeaderEpoch < 0 || p.Epoch < 0 {
		return fmt.Errorf("negative epoch (leader epoch %d, partition epoch %d)", p.LeaderEpoch, p.Epoch)
	}
	return nil
}

func (r ConfigRecord) applyTo(b *builder) error {
	if r.Name == "" {
		return errors.New("empty config name")
	}
	switch r.ResourceType {
	case ConfigResourceTopic:
		t, ok := b.img.Topics[r.ResourceName]
		if !ok {
			return fmt.Errorf("config %s for unknown topic %q", r.Name, r.ResourceName)
		}
		t, err := b.mutableTopic(t.ID)
		if err != nil {
			return err
		}
		if t.Configs == nil {
			t.Configs = map[string]string{}
		}
		setOrDelete(t.Configs, r.Name, r.Value)
		return nil
	case ConfigResourceBroker:
		if r.ResourceName != "" {
			id, err := strconv.ParseInt(r.ResourceName, 10, 32)
			if err != nil || id < 0 || strconv.FormatInt(id, 10) != r.ResourceName {
				return fmt.Errorf("invalid broker config resource name %q", r.ResourceName)
			}
		}
		if !b.brokerConfigsOwned {
			b.img.BrokerConfigs = maps.Clone(b.img.BrokerConfigs)
			if b.img.BrokerConfigs == nil {
				b.img.BrokerConfigs = map[string]map[string]string{}
			}
			b.brokerConfigsOwned = true
		}
		m := b.img.BrokerConfigs[r.ResourceName]
		if !b.ownedConfigs[r.ResourceName] {
			m = maps.Clone(m)
			if m == nil {
				m = map[string]string{}
			}
			b.ownedConfigs[r.ResourceName] = true
		}
		setOrDelete(m, r.Name, r.Value)
		if len(m) == 0 {
			delete(b.img.BrokerConfigs, r.ResourceName)
		} else {
			b.img.BrokerConfigs[r.ResourceName] = m
		}
		return nil
	default:
		return fmt.Errorf("unknown config resource type %d", r.ResourceType)
	}
}

func setOrDelete(m map[string]string, k string, v *string) {
	if v == nil {
		delete(m, k)
	} else {
		m[k] = *v
	}
}

func (r RemoveTopicRecord) applyTo(b *builder) error {
	t, ok := b.img.TopicsByID[r.TopicID]
	if !ok {
		return fmt.Errorf("unknown topic id %s", r.TopicID)
	}
	b.ownTopicMaps()
	delete(b.img.Topics, t.Name)
	delete(b.img.TopicsByID, t.ID)
	delete(b.ownedTopics, t)
	return nil
}

func (r ProducerIDsRecord) applyTo(b *builder) error {
	// Invariant: NextProducerID only grows, so no id is handed out twice.
	if r.NextProducerID <= b.img.NextProducerID {
		return fmt.Errorf("next producer id %d is not above %d", r.NextProducerID, b.img.NextProducerID)
	}
	if r.BrokerID < 0 {
		return fmt.Errorf("invalid broker id %d", r.BrokerID)
	}
	b.img.NextProducerID = r.NextProducerID
	b.img.NextProducerIDBroker = r.BrokerID
	return nil
}

// Records returns records that, applied to Empty(), rebuild img (all but Offset). Snapshots are
// written this way.
func (img *Image) Records() []Record {
	var recs []Record
	if img.ClusterID != "" {
		recs = append(recs, ClusterRecord{ClusterID: img.ClusterID})
	}
	if img.ControllerID != -1 {
		recs = append(recs, LeaderChangeRecord{LeaderID: img.ControllerID})
	}
	ids := slices.Sorted(maps.Keys(img.Brokers))
	for _, id := range ids {
		br := img.Brokers[id]
		recs = append(recs, BrokerRecord{ID: br.ID, Endpoints: br.Endpoints, Rack: br.Rack, Fenced: br.Fenced, IncarnationID: br.IncarnationID, Epoch: br.Epoch})
	}
	for _, res := range slices.Sorted(maps.Keys(img.BrokerConfigs)) {
		recs = appendConfigRecords(recs, ConfigResourceBroker, res, img.BrokerConfigs[res])
	}
	if img.NextProducerID > 0 {
		recs = append(recs, ProducerIDsRecord{BrokerID: img.NextProducerIDBroker, NextProducerID: img.NextProducerID})
	}
	recs = appendScramRecords(recs, img.ScramCredentials)
	recs = appendACLRecords(recs, img.ACLs)
	recs = appendQuotaRecords(recs, img.ClientQuotas)
	for _, name := range img.TopicNames() {
		t := img.Topics[name]
		recs = append(recs, TopicRecord{Name: t.Name, ID: t.ID})
		for _, p := range t.Partitions {
			recs = append(recs, PartitionRecord{
				TopicID: t.ID, Partition: p.ID, Replicas: p.Replicas, ISR: p.ISR,
				Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.Epoch,
				AddingReplicas: p.AddingReplicas, RemovingReplicas: p.RemovingReplicas,
			})
		}
		recs = appendConfigRecords(recs, ConfigResourceTopic, t.Name, t.Configs)
	}
	return recs
}

func appendConfigRecords(recs []Record, typ ConfigResourceType, name string, m map[string]string) []Record {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := m[k]
		recs = append(recs, ConfigRecord{ResourceType: typ, ResourceName: name, Name: k, Value: &v})
	}
	return recs
}
