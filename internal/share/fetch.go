package share

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/records"
	"github.com/gregorhq/gregor/internal/replica"
	"github.com/gregorhq/gregor/internal/wire"
)

// Share session epochs with a meaning of their own (KIP-932).
const (
	openSessionEpoch  int32 = 0  // opens a new session (a full request)
	closeSessionEpoch int32 = -1 // the final request: acknowledges, fetches nothing, closes
)

func codeOf(err error) int16 {
	if err == nil {
		return 0
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	return kerr.UnknownServerError.Code
}

// beginSession checks a request's session epoch against member's session, applies the
// request's partitions (adds, then forgets), and moves the epoch on. It returns the session's
// partitions after the request, and whether the session was closed by it.
func (m *Manager) beginSession(group, member string, epoch int32, add, forget []tidp) (map[tidp]struct{}, bool, error) {
	k := sessionKey{group, member}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.sessions[k]
	switch {
	case epoch == openSessionEpoch:
		s = &session{parts: map[tidp]struct{}{}}
		m.sessions[k] = s
	case s == nil:
		return nil, false, kerr.ShareSessionNotFound
	case epoch == closeSessionEpoch:
		delete(m.sessions, k)
		return s.parts, true, nil
	case epoch != s.epoch:
		return nil, false, kerr.InvalidShareSessionEpoch
	}
	for _, tp := range add {
		s.parts[tp] = struct{}{}
	}
	for _, tp := range forget {
		delete(s.parts, tp)
	}
	s.epoch++
	if s.epoch <= 0 { // wraps to 1, as Kafka's does
		s.epoch = 1
	}
	parts := make(map[tidp]struct{}, len(s.parts))
	for tp := range s.parts {
		parts[tp] = struct{}{}
	}
	return parts, false, nil
}

// checkMember answers UNKNOWN_MEMBER_ID for a member the group coordinator does not know.
func (m *Manager) checkMember(group, member string, parts []tidp) error {
	if m.cfg.Members == nil || len(parts) == 0 {
		return nil
	}
	tp := parts[0]
	isMember, _, err := m.cfg.Members.ShareMember(group, member, tp.topicID, tp.partition)
	if err != nil {
		return nil // the coordinator is elsewhere or loading: it cannot tell
	}
	if !isMember {
		return kerr.UnknownMemberID
	}
	return nil
}

// ackBatch is one acknowledgement batch of a request.
type ackBatch struct {
	first, last int64
	types       []int8
}

// acknowledge applies the acknowledgement batches of one partition.
func (m *Manager) acknowledge(group, member string, tp tidp, batches []ackBatch) error {
	e, _, err := m.entryFor(group, tp.topicID, tp.partition)
	if err != nil {
		return err
	}
	now := m.clock.Now()
	var archived []Archive
	e.mu.Lock()
	changed, released := false, false
	for _, b := range batches {
		f, l, types := b.first, b.last, b.types
		a, aerr := e.sp.Acknowledge(now, member, f, l, types)
		if aerr != nil {
			err = aerr
			continue
		}
		archived = append(archived, a...)
		for _, t := range types {
			released = released || t == AckRelease
		}
		changed = true
	}
	var w *replica.PendingWrite
	if changed {
		w = m.afterChangeLocked(e, released)
	}
	e.mu.Unlock()
	m.deadLetter(e, archived)
	// The acknowledgement counts only once its state is committed (see waitDurable).
	if werr := waitDurable(w); werr != nil {
		return werr
	}
	return err
}

// ShareFetch serves a ShareFetch: the session, piggy-backed acknowledgements, then records
// acquired for the member, long-polling up to MaxWaitMillis for MinBytes. The response is
// complete but for the throttle time and node endpoints.
func (m *Manager) ShareFetch(ctx context.Context, req *kmsg.ShareFetchRequest) *kmsg.ShareFetchResponse {
	resp := kmsg.NewPtrShareFetchResponse()
	resp.Version = req.Version
	resp.AcquisitionLockTimeoutMillis = int32(m.limits.LockDuration.Milliseconds())
	fail := func(err error) *kmsg.ShareFetchResponse {
		resp.ErrorCode = codeOf(err)
		return resp
	}
	if req.GroupID == nil || *req.GroupID == "" || req.MemberID == nil || *req.MemberID == "" {
		return fail(kerr.InvalidRequest)
	}
	group, member := *req.GroupID, *req.MemberID
	var add, forget, requested []tidp
	acks := map[tidp][]ackBatch{}
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			tp := tidp{t.TopicID, p.Partition}
			add = append(add, tp)
			requested = append(requested, tp)
			for _, b := range p.AcknowledgementBatches {
				acks[tp] = append(acks[tp], ackBatch{b.FirstOffset, b.LastOffset, b.AcknowledgeTypes})
			}
		}
	}
	for _, t := range req.ForgottenTopicsData {
		for _, p := range t.Partitions {
			forget = append(forget, tidp{t.TopicID, p})
		}
	}
	if req.ShareSessionEpoch == openSessionEpoch && len(acks) > 0 {
		return fail(kerr.InvalidRequest) // a new session has nothing to acknowledge yet
	}
	if req.ShareSessionEpoch != closeSessionEpoch {
		if err := m.checkMember(group, member, requested); err != nil {
			return fail(err)
		}
	}
	parts, closed, err := m.beginSession(group, member, req.ShareSessionEpoch, add, forget)
	if err != nil {
		return fail(err)
	}
	out := newPartitionResponses()
	for tp, bs := range acks {
		r := out.get(tp)
		r.AcknowledgeErrorCode = codeOf(m.acknowledge(group, member, tp, bs))
	}
	for _, tp := range requested {
		out.get(tp)
	}
	if closed {
		m.releaseMember(group, member, parts)
		resp.Topics = out.topics()
		return resp
	}
	m.fetchInto(ctx, req, group, member, parts, out)
	resp.Topics = out.topics()
	return resp
}

// fetchInto acquires records of the session's partitions for member, waiting up to the
// request's max wait for min bytes.
func (m *Manager) fetchInto(ctx context.Context, req *kmsg.ShareFetchRequest, group, member string, parts map[tidp]struct{}, out *partitionResponses) {
	deadline := time.NewTimer(time.Duration(max(req.MaxWaitMillis, 0)) * time.Millisecond)
	defer deadline.Stop()
	maxRecords := int(req.MaxRecords)
	if maxRecords <= 0 {
		maxRecords = 500 // KIP-1206's default; v0 requests have no MaxRecords
	}
	maxBytes := int64(req.MaxBytes)
	if maxBytes <= 0 {
		maxBytes = 50 << 20
	}
	var hosted []*replica.Partition
	for {
		avail := m.availableChan()
		var got int64
		hosted = hosted[:0]
		for tp := range parts {
			e, p, err := m.entryFor(group, tp.topicID, tp.partition)
			if err != nil {
				r := out.get(tp)
				r.ErrorCode = codeOf(err)
				continue
			}
			hosted = append(hosted, p)
			if got >= maxBytes || maxRecords <= 0 {
				continue
			}
			batches, ranges, n, size := m.acquire(e, p, member, maxRecords, maxBytes-got)
			if len(ranges) == 0 {
				continue
			}
			r := out.get(tp)
			r.Records = append(r.Records, batches...)
			for _, a := range ranges {
				ar := kmsg.NewShareFetchResponseTopicPartitionAcquiredRecord()
				ar.FirstOffset, ar.LastOffset, ar.DeliveryCount = a.First, a.Last, a.DeliveryCount
				r.AcquiredRecords = append(r.AcquiredRecords, ar)
			}
			maxRecords -= n
			got += size
		}
		if got > 0 {
			// Kafka answers as soon as it acquired something, even below min bytes:
			// acquired records held back would only run down their locks.
			return
		}
		w := replica.NewWaiter(hosted)
		waitStart := time.Now()
		select {
		case <-w.C():
		case <-avail:
		case <-deadline.C:
			w.Close()
			wire.Waited(ctx, waitStart)
			return
		case <-ctx.Done():
			w.Close()
			wire.Waited(ctx, waitStart)
			return
		}
		w.Close()
		// The long poll is not handler time (the request-time quota).
		wire.Waited(ctx, waitStart)
	}
}

// acquire reads the partition's log from the first acquirable offset and acquires what it
// can for member. It returns the whole batches that hold acquired records, the acquired
// ranges, how many records and how many bytes.
func (m *Manager) acquire(e *entry, p *replica.Partition, member string, maxRecords int, maxBytes int64) ([]byte, []AcquiredRange, int, int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	// Acquiring a control batch or a hole, or the log start moving, moves the start offset.
	defer m.reportLocked(e)
	if ls := p.LogStartOffset(); ls > e.sp.StartOffset() {
		e.sp.ResetTo(ls)
	}
	from, ok := e.sp.NextAcquirable()
	if !ok || from >= p.HighWatermark() {
		return nil, nil, 0, 0
	}
	res, err := p.Read(from, maxBytes, true)
	if err != nil {
		return nil, nil, 0, 0
	}
	data, err := res.Region.ReadBytes()
	if err != nil {
		return nil, nil, 0, 0
	}
	now := m.clock.Now()
	var out []byte
	var ranges []AcquiredRange
	n := 0
	for len(data) > 0 && n < maxRecords {
		h, err := records.ParseHeader(data)
		if err != nil || h.Size() > int64(len(data)) {
			break
		}
		batch := data[:h.Size()]
		data = data[h.Size():]
		got := e.sp.Acquire(now, member, h.BaseOffset, h.LastOffset(), h.Control(), maxRecords-n)
		if len(got) == 0 {
			continue
		}
		for _, a := range got {
			n += int(a.Last - a.First + 1)
		}
		ranges = append(ranges, got...)
		out = append(out, batch...)
	}
	if n > 0 {
		m.armTimerLocked(e)
	}
	return out, ranges, n, int64(len(out))
}

// ShareAcknowledge serves a ShareAcknowledge. The response is complete but for the throttle
// time and node endpoints.
func (m *Manager) ShareAcknowledge(req *kmsg.ShareAcknowledgeRequest) *kmsg.ShareAcknowledgeResponse {
	resp := kmsg.NewPtrShareAcknowledgeResponse()
	resp.Version = req.Version
	resp.AcquisitionLockTimeoutMillis = int32(m.limits.LockDuration.Milliseconds())
	if req.GroupID == nil || *req.GroupID == "" || req.MemberID == nil || *req.MemberID == "" {
		resp.ErrorCode = kerr.InvalidRequest.Code
		return resp
	}
	group, member := *req.GroupID, *req.MemberID
	if req.ShareSessionEpoch == openSessionEpoch {
		resp.ErrorCode = kerr.InvalidShareSessionEpoch.Code // acknowledging needs a session
		return resp
	}
	var tps []tidp
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			tps = append(tps, tidp{t.TopicID, p.Partition})
		}
	}
	// A closing request is served even once the member has left the group: what it
	// acknowledges and releases is still acquired under its id.
	if req.ShareSessionEpoch != closeSessionEpoch {
		if err := m.checkMember(group, member, tps); err != nil {
			resp.ErrorCode = codeOf(err)
			return resp
		}
	}
	parts, closed, err := m.beginSession(group, member, req.ShareSessionEpoch, nil, nil)
	if err != nil {
		resp.ErrorCode = codeOf(err)
		return resp
	}
	for _, t := range req.Topics {
		rt := kmsg.NewShareAcknowledgeResponseTopic()
		rt.TopicID = t.TopicID
		for _, p := range t.Partitions {
			var bs []ackBatch
			for _, b := range p.AcknowledgementBatches {
				bs = append(bs, ackBatch{b.FirstOffset, b.LastOffset, b.AcknowledgeTypes})
			}
			rp := kmsg.NewShareAcknowledgeResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = codeOf(m.acknowledge(group, member, tidp{t.TopicID, p.Partition}, bs))
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	if closed {
		m.releaseMember(group, member, parts)
	}
	return resp
}

// partitionResponses collects ShareFetch partition responses by topic, in first-use order.
type partitionResponses struct {
	order []tidp
	parts map[tidp]*kmsg.ShareFetchResponseTopicPartition
}

func newPartitionResponses() *partitionResponses {
	return &partitionResponses{parts: map[tidp]*kmsg.ShareFetchResponseTopicPartition{}}
}

func (o *partitionResponses) get(tp tidp) *kmsg.ShareFetchResponseTopicPartition {
	if r := o.parts[tp]; r != nil {
		return r
	}
	r := kmsg.NewShareFetchResponseTopicPartition()
	r.Partition = tp.partition
	r.CurrentLeader.LeaderID, r.CurrentLeader.LeaderEpoch = -1, -1
	o.parts[tp] = &r
	o.order = append(o.order, tp)
	return &r
}

func (o *partitionResponses) topics() []kmsg.ShareFetchResponseTopic {
	var out []kmsg.ShareFetchResponseTopic
	idx := map[[16]byte]int{}
	for _, tp := range o.order {
		i, ok := idx[tp.topicID]
		if !ok {
			i = len(out)
			idx[tp.topicID] = i
			t := kmsg.NewShareFetchResponseTopic()
			t.TopicID = tp.topicID
			out = append(out, t)
		}
		out[i].Partitions = append(out[i].Partitions, *o.parts[tp])
	}
	return out
}
