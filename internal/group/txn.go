package group

// Transactional offsets (KIP-98, consume-transform-produce): a transactional producer commits
// its consumer group's offsets with TxnOffsetCommit as part of its transaction. They are
// written at once, as one transactional batch of the producer in the group's
// __consumer_offsets partition, but stay pending (invisible to OffsetFetch) until the
// transaction coordinator writes the transaction's marker to that partition: on COMMIT they
// become the group's offsets, on ABORT they are dropped. Replay does the same from the log:
// transactional batches go to pending, markers complete them, so a restart or a move of the
// partition keeps the result.

import (
	"context"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/coordinator"
	"github.com/gregorhq/gregor/internal/group/consumergroup"
	"github.com/gregorhq/gregor/internal/records"
	"github.com/gregorhq/gregor/internal/replica"
)

// openTxns indexes, per producer id, the groups of a shard that hold pending offsets of the
// producer (Kafka's openGroupsForProducer), so a marker visits only those groups.
//
// mu is a leaf lock: it is taken after the shard's lock and Group.mu, and nothing is locked
// while it is held. An entry is added under the group's mu before its batch is appended (so a marker
// written after the batch finds the group) and removed under the group's mu once the group
// holds nothing of the producer; a stale entry costs a visit, never a missed one.
type openTxns struct {
	mu         sync.Mutex
	byProducer map[int64]map[string]bool // guarded by mu
}

func newOpenTxns() *openTxns { return &openTxns{byProducer: map[int64]map[string]bool{}} }

func (o *openTxns) reset() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.byProducer = map[int64]map[string]bool{}
}

func (o *openTxns) add(producerID int64, group string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	gs := o.byProducer[producerID]
	if gs == nil {
		gs = map[string]bool{}
		o.byProducer[producerID] = gs
	}
	gs[group] = true
}

func (o *openTxns) remove(producerID int64, group string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if gs := o.byProducer[producerID]; gs != nil {
		delete(gs, group)
		if len(gs) == 0 {
			delete(o.byProducer, producerID)
		}
	}
}

// groups returns a copy of the groups indexed under producerID.
func (o *openTxns) groups(producerID int64) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]string, 0, len(o.byProducer[producerID]))
	for g := range o.byProducer[producerID] {
		out = append(out, g)
	}
	return out
}

// txnMarker is a transaction marker in a __consumer_offsets partition.
type txnMarker struct {
	producerID int64
	commit     bool
	offset     int64 // the marker's offset
}

// markerType decodes a control record's key: commit for a COMMIT marker, !commit for an
// ABORT; ok is false for other control records and keys that do not decode.
func markerType(key []byte) (commit, ok bool) {
	k := kmsg.NewControlRecordKey()
	if err := k.ReadFrom(key); err != nil {
		return false, false
	}
	switch k.Type {
	case kmsg.ControlRecordKeyTypeCommit:
		return true, true
	case kmsg.ControlRecordKeyTypeAbort:
		return false, true
	}
	return false, false
}

// onTxnMarker is the replica manager's listener for markers written to __consumer_offsets
// (registered in New). It must be called without the partition's locks held: it takes the
// group locks, which a TxnOffsetCommit holds while it appends to the partition.
func (c *Coordinator) onTxnMarker(partition int32, m replica.TxnMarker, offset int64) {
	s, ok := c.rt.Shard(partition)
	if !ok {
		return // not led here: the leader's replay reads the marker
	}
	s.Lock()
	var committed []groupCommit
	switch s.StateLocked() {
	case coordinator.Unloaded:
	case coordinator.Loading:
		s.markersWhileLoading = append(s.markersWhileLoading, txnMarker{producerID: m.ProducerID, commit: m.Commit, offset: offset})
	default:
		committed = completeTxn(s, s.groups, m.ProducerID, m.Commit, offset)
	}
	s.Unlock()
	c.notifyCommits(committed)
}

// groupCommit is an offset of a group that became committed.
type groupCommit struct {
	group, topic string
	partition    int32
	o            offset
}

// notifyCommits tells OnOffsetCommit of offsets a transaction's commit made committed, as
// OffsetCommit does of its own. It is called with no lock held.
func (c *Coordinator) notifyCommits(committed []groupCommit) {
	if len(committed) == 0 || c.cfg.OnOffsetCommit == nil {
		return
	}
	for _, gc := range committed {
		c.cfg.OnOffsetCommit(gc.group, gc.topic, gc.partition, gc.o.offset, time.UnixMilli(gc.o.commitTimestamp))
	}
}

// completeTxn ends producerID's transaction in the groups of a shard, for a marker at
// markerOffset, and returns the offsets that became committed. The caller holds the shard's
// lock, or owns groups (replay).
func completeTxn(s *shard, groups map[string]*Group, producerID int64, commit bool, markerOffset int64) []groupCommit {
	var committed []groupCommit
	for _, id := range s.txns.groups(producerID) {
		g := groups[id]
		if g == nil {
			s.txns.remove(producerID, id)
			continue
		}
		g.mu.Lock()
		remain, done := g.completeTxnLocked(producerID, commit, markerOffset)
		if !remain {
			s.txns.remove(producerID, id)
		}
		g.mu.Unlock()
		committed = append(committed, done...)
	}
	return committed
}

// completeTxnLocked applies a marker of producerID at markerOffset to the group's pending
// offsets of that producer written before it: on commit each becomes the partition's offset
// unless a commit written later is already there (Kafka's rule: the later record wins); on
// abort it is dropped. It reports whether offsets of the producer remain pending (written
// after the marker, for its next transaction), and the offsets that became committed.
func (g *Group) completeTxnLocked(producerID int64, commit bool, markerOffset int64) (remain bool, committed []groupCommit) {
	pending := g.pendingTxn[producerID]
	for t, ps := range pending {
		for p, o := range ps {
			if o.recordOffset >= markerOffset {
				continue
			}
			delete(ps, p)
			if cur, ok := g.offsets[t][p]; commit && (!ok || o.recordOffset > cur.recordOffset) {
				g.setOffsetLocked(t, p, o)
				committed = append(committed, groupCommit{g.id, t, p, o})
			}
		}
		if len(ps) == 0 {
			delete(pending, t)
		}
	}
	if len(pending) == 0 {
		delete(g.pendingTxn, producerID)
		return false, committed
	}
	return true, committed
}

// addPendingTxnLocked records a pending offset of producerID, and indexes the group under it.
func (g *Group) addPendingTxnLocked(producerID int64, topic string, partition int32, o offset) {
	if g.pendingTxn == nil {
		g.pendingTxn = map[int64]map[string]map[int32]offset{}
	}
	byTopic := g.pendingTxn[producerID]
	if byTopic == nil {
		byTopic = map[string]map[int32]offset{}
		g.pendingTxn[producerID] = byTopic
	}
	ps := byTopic[topic]
	if ps == nil {
		ps = map[int32]offset{}
		byTopic[topic] = ps
	}
	ps[partition] = o
	g.s.txns.add(producerID, g.id)
}

// deletePendingTxnLocked drops the pending offsets of a partition, of every producer (a
// tombstone was written for it). The index keeps its entries; the next marker cleans them.
func (g *Group) deletePendingTxnLocked(topic string, partition int32) {
	for pid, byTopic := range g.pendingTxn {
		if ps := byTopic[topic]; ps != nil {
			delete(ps, partition)
			if len(ps) == 0 {
				delete(byTopic, topic)
			}
		}
		if len(byTopic) == 0 {
			delete(g.pendingTxn, pid)
		}
	}
}

// pendingTxnTopicsLocked lists, sorted, the topics with pending offsets of any producer.
func (g *Group) pendingTxnTopicsLocked() []string {
	set := map[string]bool{}
	for _, byTopic := range g.pendingTxn {
		for t := range byTopic {
			set[t] = true
		}
	}
	return sortedKeys(set)
}

// pendingTxnPartitionsLocked lists, sorted, the partitions of topic with pending offsets of
// any producer.
func (g *Group) pendingTxnPartitionsLocked(topic string) []int32 {
	set := map[int32]offset{}
	for _, byTopic := range g.pendingTxn {
		for p, o := range byTopic[topic] {
			set[p] = o
		}
	}
	return sortedPartitions(set)
}

// hasPendingTxnLocked reports whether a partition has pending offsets of any producer.
func (g *Group) hasPendingTxnLocked(topic string, partition int32) bool {
	for _, byTopic := range g.pendingTxn {
		if _, ok := byTopic[topic][partition]; ok {
			return true
		}
	}
	return false
}

// TxnOffsetCommit writes offsets of a transaction: one transactional batch of the producer,
// pending until the transaction's marker. Validation is Kafka's for transactional commits: a
// group that does not exist is created (as an offsets-only group) only for generation -1,
// else ILLEGAL_GENERATION; member id, generation and group instance id (v3+) are checked only
// when sent, and a group in a rebalance takes the commit.
func (c *Coordinator) TxnOffsetCommit(ctx context.Context, req *kmsg.TxnOffsetCommitRequest) *kmsg.TxnOffsetCommitResponse {
	resp := kmsg.NewPtrTxnOffsetCommitResponse()
	for _, rt := range req.Topics {
		st := kmsg.NewTxnOffsetCommitResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			sp.Partition = rp.Partition
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	setAll := func(code int16) *kmsg.TxnOffsetCommitResponse {
		for i := range resp.Topics {
			for j := range resp.Topics[i].Partitions {
				if resp.Topics[i].Partitions[j].ErrorCode == 0 {
					resp.Topics[i].Partitions[j].ErrorCode = code
				}
			}
		}
		return resp
	}
	if req.Group == "" {
		return setAll(kerr.InvalidGroupID.Code)
	}
	if req.ProducerID < 0 || req.ProducerEpoch < 0 {
		return setAll(kerr.InvalidProducerIDMapping.Code)
	}
	generation, memberID, instanceID := req.Generation, req.MemberID, req.InstanceID
	if req.Version < 3 {
		generation, memberID, instanceID = -1, "", nil // fields of v3+
	}
	g, err := c.group(req.Group, generation < 0)
	if err != nil {
		return setAll(errCode(err))
	}
	if g == nil {
		return setAll(kerr.IllegalGeneration.Code)
	}
	if err := g.validateTxnCommitLocked(memberID, instanceID, generation, req.Version); err != nil {
		g.mu.Unlock()
		code, _ := consumergroup.ErrorCode(err)
		return setAll(code)
	}
	now := c.clock.Now().UnixMilli()
	maxMeta := int(c.cfg.Broker.OffsetMetadataMaxBytes)
	type commit struct {
		topic     string
		partition int32
		o         offset
	}
	var commits []commit
	var recs []records.Record
	for i, rt := range req.Topics {
		for j, rp := range rt.Partitions {
			meta := ""
			if rp.Metadata != nil {
				meta = *rp.Metadata
			}
			if len(meta) > maxMeta {
				resp.Topics[i].Partitions[j].ErrorCode = kerr.OffsetMetadataTooLarge.Code
				continue
			}
			o := offset{offset: rp.Offset, leaderEpoch: -1, metadata: meta, commitTimestamp: now, expireTimestamp: -1}
			if req.Version >= 2 {
				o.leaderEpoch = rp.LeaderEpoch
			}
			commits = append(commits, commit{rt.Topic, rp.Partition, o})
			recs = append(recs, offsetCommitRecord(req.Group, rt.Topic, rp.Partition, offsetValue(o)))
		}
	}
	var next int64
	if len(recs) > 0 {
		// Indexed before the append: a marker written right after the batch must find the
		// group (it then waits for g.mu, and so for the pending offsets below).
		g.s.txns.add(req.ProducerID, g.id)
		next, err = g.s.log.AppendTransactional(req.ProducerID, req.ProducerEpoch, recs)
		if err != nil {
			g.mu.Unlock()
			return setAll(txnAppendErrorCode(err))
		}
		base := next - int64(len(recs))
		for i, cm := range commits {
			cm.o.recordOffset = base + int64(i)
			g.addPendingTxnLocked(req.ProducerID, cm.topic, cm.partition, cm.o)
		}
	}
	l := g.s.log
	g.mu.Unlock()
	if err := c.waitCommitted(ctx, l, next); err != nil {
		return setAll(errCode(err))
	}
	return resp
}

// validateTxnCommitLocked is Kafka's validateOffsetCommit of a group, in its transactional
// mode.
func (g *Group) validateTxnCommitLocked(memberID string, instanceID *string, generation int32, version int16) error {
	if g.state == Dead {
		return kerr.CoordinatorNotAvailable
	}
	if g.consumer != nil {
		err := g.consumer.ValidateOffsetCommit(memberID, instanceID, generation, true, version)
		if code, _ := consumergroup.ErrorCode(err); code == kerr.StaleMemberEpoch.Code {
			// The transactional API has no STALE_MEMBER_EPOCH: its clients know the
			// generation's error.
			return kerr.IllegalGeneration
		}
		return err
	}
	if generation < 0 && g.state == Empty {
		return nil
	}
	if generation >= 0 || memberID != "" || instanceID != nil {
		if err := g.validateMemberLocked(memberID, instanceID); err != nil {
			return err
		}
		if generation != g.generation {
			return kerr.IllegalGeneration
		}
	}
	// Unlike OffsetCommit, a commit without member fields is taken from a group with members
	// (TxnOffsetCommit v0-v2 have none), and one during a rebalance too.
	return nil
}

// txnAppendErrorCode is the answer for a failed transactional append: the producer's epoch
// errors as they are, a partition that moved as NOT_COORDINATOR, the rest as
// COORDINATOR_NOT_AVAILABLE (the client retries).
func txnAppendErrorCode(err error) int16 {
	ke, ok := err.(*kerr.Error)
	if !ok {
		return kerr.CoordinatorNotAvailable.Code
	}
	switch ke {
	case kerr.InvalidProducerEpoch, kerr.ProducerFenced, kerr.InvalidTxnState, kerr.InvalidProducerIDMapping,
		kerr.TransactionCoordinatorFenced:
		return ke.Code
	case kerr.NotLeaderForPartition, kerr.KafkaStorageError:
		return kerr.NotCoordinator.Code
	}
	return kerr.CoordinatorNotAvailable.Code
}
