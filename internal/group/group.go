package group

import (
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/group/consumergroup"
	"github.com/gregorhq/gregor/internal/group/sharegroup"
	"github.com/gregorhq/gregor/internal/records"
)

// State is a classic group's state, by Kafka's names.
type State string

// Classic group states. Empty: no members (offsets may remain). PreparingRebalance: members
// are (re)joining. CompletingRebalance: joined, waiting for the leader's assignment in
// SyncGroup. Stable: assigned. Dead: deleted, or its partition unloaded.
const (
	Empty               State = "Empty"
	PreparingRebalance  State = "PreparingRebalance"
	CompletingRebalance State = "CompletingRebalance"
	Stable              State = "Stable"
	Dead                State = "Dead"
)

// Group types, as ListGroups v5 reports them.
const (
	TypeClassic  = "classic"
	TypeConsumer = "consumer"
	TypeShare    = "share"
)

// Group is one group and its committed offsets.
type Group struct {
	id string
	s  *shard
	c  *Coordinator

	mu sync.Mutex
	// Fields guarded by mu.
	state          State
	stateTimestamp time.Time // when state last changed; Empty groups' offsets expire from it
	protocolType   string    // "" for a group that only commits offsets
	protocol       *string   // the selected protocol; nil unless a generation is in progress
	generation     int32
	leader         string // "" when there is none
	members        map[string]*member
	// static maps group.instance.id to the member id currently holding it.
	// Invariant: static[*m.instanceID] == m.id for every static member m.
	static map[string]string
	// pending holds member ids handed out with MEMBER_ID_REQUIRED (KIP-394) that have not
	// joined yet, with the timer that forgets them.
	pending map[string]func() bool
	// initialDelay is set while the first rebalance of an empty group waits
	// group.initial.rebalance.delay.ms for more members; joinTimerSeq invalidates older timers.
	initialDelay     bool
	initialRemaining time.Duration
	newMemberJoined  bool
	joinTimerStop    func() bool
	joinTimerSeq     int
	offsets          map[string]map[int32]offset
	// pendingTxn holds, per producer id, the offsets of TxnOffsetCommits whose transaction
	// has not ended (Kafka's pending transactional offsets): invisible to OffsetFetch, they
	// become offsets on a COMMIT marker and are dropped on an ABORT (see txn.go).
	// Invariant: no empty inner map; every producer id here has this group in the shard's
	// txns index.
	pendingTxn map[int64]map[string]map[int32]offset
	// consumer is set when the group is a KIP-848 consumer group: it then answers for the
	// membership, and the classic fields above stay at their empty values (state Empty,
	// no members). consumerTimerStop cancels its one session/rebalance timer, and
	// consumerTimerSeq invalidates timers that fired after being replaced.
	consumer          *consumergroup.Group
	consumerTimerStop func() bool
	consumerTimerSeq  int
	// share is set when the group is a KIP-932 share group (see share.go); like a
	// consumer group, it leaves the classic fields empty, and its session timer uses
	// consumerTimerStop and consumerTimerSeq.
	share *sharegroup.Group
	// shareStoredEpoch is the share group epoch last written to the log (a
	// ShareGroupMetadata record), 0 before the first.
	shareStoredEpoch int32
}

// member is one classic group member.
type member struct {
	id               string
	instanceID       *string
	clientID         string
	clientHost       string
	sessionTimeout   time.Duration
	rebalanceTimeout time.Duration
	protocolType     string
	protocols        []kmsg.JoinGroupRequestProtocol
	assignment       []byte
	// joinCh is set while a JoinGroup of this member waits for the rebalance to complete, syncCh
	// while a SyncGroup waits for the leader's assignment; each has room for its one reply.
	joinCh chan *kmsg.JoinGroupResponse
	syncCh chan *kmsg.SyncGroupResponse
	// sessionStop cancels the session timer; sessionSeq invalidates fired timers.
	sessionStop func() bool
	sessionSeq  int
}

// offset is one committed offset.
type offset struct {
	offset          int64
	leaderEpoch     int32
	metadata        string
	commitTimestamp int64 // ms
	expireTimestamp int64 // ms; -1 when the commit set none
	// recordOffset is where its record is in __consumer_offsets: a transaction's offset
	// replaces a committed one at its commit only if its record is the later one.
	recordOffset int64
}

func (c *Coordinator) newGroup(s *shard, id string) *Group {
	return &Group{
		id:             id,
		s:              s,
		c:              c,
		state:          Empty,
		stateTimestamp: c.clock.Now(),
		members:        map[string]*member{},
		static:         map[string]string{},
		pending:        map[string]func() bool{},
		offsets:        map[string]map[int32]offset{},
	}
}

func (g *Group) transitionLocked(s State) {
	g.state = s
	g.stateTimestamp = g.c.clock.Now()
}

// metadataValueLocked is the group's GroupMetadataValue as of now.
func (g *Group) metadataValueLocked() *kmsg.GroupMetadataValue {
	v := kmsg.NewGroupMetadataValue()
	v.Version = groupMetadataValueVersion
	v.ProtocolType = g.protocolType
	v.Generation = g.generation
	v.Protocol = g.protocol
	if g.leader != "" {
		leader := g.leader
		v.Leader = &leader
	}
	v.CurrentStateTimestamp = g.stateTimestamp.UnixMilli()
	for _, id := range g.memberIDsLocked() {
		m := g.members[id]
		vm := kmsg.NewGroupMetadataValueMember()
		vm.MemberID = m.id
		vm.InstanceID = m.instanceID
		vm.ClientID = m.clientID
		vm.ClientHost = m.clientHost
		vm.RebalanceTimeoutMillis = int32(m.rebalanceTimeout / time.Millisecond)
		vm.SessionTimeoutMillis = int32(m.sessionTimeout / time.Millisecond)
		vm.Subscription = m.metadataFor(g.protocol)
		vm.Assignment = m.assignment
		v.Members = append(v.Members, vm)
	}
	return &v
}

// storeLocked writes the group's metadata and returns the offset after the write.
func (g *Group) storeLocked() (int64, error) {
	return g.s.log.Append([]records.Record{groupMetadataRecord(g.id, g.metadataValueLocked())})
}

// memberIDsLocked lists member ids in a stable order.
func (g *Group) memberIDsLocked() []string {
	ids := make([]string, 0, len(g.members))
	for id := range g.members {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// metadataFor is the member's metadata for protocol name p (nil when it does not support it).
func (m *member) metadataFor(p *string) []byte {
	if p == nil {
		return nil
	}
	for _, pr := range m.protocols {
		if pr.Name == *p {
			return pr.Metadata
		}
	}
	return nil
}

// applyRecord replays one record, at recordOffset, into the shard's groups (loading).
// producerID is that of a transactional batch's producer, -1 for other records.
func (c *Coordinator) applyRecord(s *shard, groups map[string]*Group, d decodedRecord, recordOffset, producerID int64) {
	if d.shareGroup != nil {
		c.applyShareGroupRecord(s, groups, *d.shareGroup, d.shareEpoch)
		return
	}
	var id string
	if d.offsetKey != nil {
		id = d.offsetKey.Group
	} else {
		id = d.groupKey.Group
	}
	g := groups[id]
	if g == nil {
		if d.offsetValue == nil && d.groupValue == nil {
			return
		}
		g = c.newGroup(s, id)
		groups[id] = g
	}
	switch {
	case d.offsetKey != nil && d.offsetValue == nil:
		// A tombstone deletes the partition's offset, pending ones included (as the
		// coordinator does when it writes one).
		g.deleteOffsetLocked(d.offsetKey.Topic, d.offsetKey.Partition)
		g.deletePendingTxnLocked(d.offsetKey.Topic, d.offsetKey.Partition)
	case d.offsetKey != nil:
		v := d.offsetValue
		o := offset{offset: v.Offset, leaderEpoch: v.LeaderEpoch, metadata: v.Metadata, commitTimestamp: v.CommitTimestamp, expireTimestamp: -1, recordOffset: recordOffset}
		if v.Version == 0 {
			o.leaderEpoch = -1
		}
		if v.Version == 1 {
			o.expireTimestamp = v.ExpireTimestamp
		}
		if producerID >= 0 {
			g.addPendingTxnLocked(producerID, d.offsetKey.Topic, d.offsetKey.Partition, o)
			break
		}
		g.setOffsetLocked(d.offsetKey.Topic, d.offsetKey.Partition, o)
	case d.groupValue == nil:
		// The group was deleted; its offsets were deleted by their own tombstones.
		g.protocolType, g.protocol, g.leader, g.generation = "", nil, "", 0
		g.members, g.static = map[string]*member{}, map[string]string{}
		if len(g.offsets) == 0 && len(g.pendingTxn) == 0 {
			delete(groups, id)
		}
	default:
		v := d.groupValue
		g.protocolType, g.protocol, g.generation = v.ProtocolType, v.Protocol, v.Generation
		g.leader = ""
		if v.Leader != nil {
			g.leader = *v.Leader
		}
		g.members, g.static = map[string]*member{}, map[string]string{}
		for _, vm := range v.Members {
			m := &member{
				id: vm.MemberID, instanceID: vm.InstanceID, clientID: vm.ClientID, clientHost: vm.ClientHost,
				sessionTimeout:   time.Duration(vm.SessionTimeoutMillis) * time.Millisecond,
				rebalanceTimeout: time.Duration(vm.RebalanceTimeoutMillis) * time.Millisecond,
				protocolType:     v.ProtocolType,
				assignment:       vm.Assignment,
			}
			if v.Protocol != nil {
				m.protocols = []kmsg.JoinGroupRequestProtocol{{Name: *v.Protocol, Metadata: vm.Subscription}}
			}
			g.members[m.id] = m
			if m.instanceID != nil {
				g.static[*m.instanceID] = m.id
			}
		}
		g.state = Empty
		if len(g.members) > 0 {
			g.state = Stable
		}
		if v.CurrentStateTimestamp > 0 {
			g.stateTimestamp = time.UnixMilli(v.CurrentStateTimestamp)
		}
	}
}

// afterLoadLocked starts the session timers of a loaded group's members, as Kafka does: they
// must heartbeat to the new coordinator within their session timeout.
func (g *Group) afterLoadLocked() {
	for _, m := range g.members {
		g.scheduleSessionLocked(m)
	}
}

// replay reads a partition's log into a fresh set of groups, and the shard's index of open
// transactions, and returns the offset after the last batch read.
func (c *Coordinator) replay(s *shard, l PartitionLog) (map[string]*Group, int64, error) {
	groups := map[string]*Group{}
	s.txns.reset()
	next, err := l.Replay(func(b LogBatch) {
		if b.Control {
			if len(b.Records) == 0 {
				return
			}
			r := b.Records[0]
			commit, ok := markerType(r.Key)
			if !ok {
				return // not a transaction marker
			}
			completeTxn(s, groups, b.ProducerID, commit, r.Offset) // replay: a commit already seen, not told again
			return
		}
		producerID := int64(-1)
		if b.Transactional {
			producerID = b.ProducerID
		}
		for _, r := range b.Records {
			d, err := decodeRecord(r.Key, r.Value)
			if err == errSkipRecord {
				continue
			}
			if err != nil {
				c.log.Warn("skipping undecodable __consumer_offsets record", "partition", s.Partition(), "offset", r.Offset, "err", err)
				continue
			}
			c.applyRecord(s, groups, d, r.Offset, producerID)
		}
	})
	return groups, next, err
}

// shutdownLocked makes the group Dead: waiting requests get code, timers stop.
func (g *Group) shutdownLocked(code int16) {
	g.transitionLocked(Dead)
	g.stopJoinTimerLocked()
	g.stopConsumerTimerLocked()
	for id, stop := range g.pending {
		stop()
		delete(g.pending, id)
	}
	for _, m := range g.members {
		g.stopSessionLocked(m)
		g.failWaitersLocked(m, code)
	}
}

// failWaitersLocked answers m's waiting JoinGroup and SyncGroup with code.
func (g *Group) failWaitersLocked(m *member, code int16) {
	if m.joinCh != nil {
		resp := kmsg.NewPtrJoinGroupResponse()
		resp.ErrorCode, resp.MemberID, resp.Generation = code, m.id, -1
		m.joinCh <- resp
		m.joinCh = nil
	}
	if m.syncCh != nil {
		resp := kmsg.NewPtrSyncGroupResponse()
		resp.ErrorCode = code
		m.syncCh <- resp
		m.syncCh = nil
	}
}

func (g *Group) setOffsetLocked(topic string, partition int32, o offset) {
	ps := g.offsets[topic]
	if ps == nil {
		ps = map[int32]offset{}
		g.offsets[topic] = ps
	}
	ps[partition] = o
}

func (g *Group) deleteOffsetLocked(topic string, partition int32) {
	if ps := g.offsets[topic]; ps != nil {
		delete(ps, partition)
		if len(ps) == 0 {
			delete(g.offsets, topic)
		}
	}
}
