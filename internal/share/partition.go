package share

import (
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// RecordState is the delivery state of one in-flight record, with Kafka's names and codes
// (RecordState.java; the codes are also what __share_group_state stores).
type RecordState int8

// Record states. A record is AVAILABLE to be acquired, ACQUIRED by one member until it
// acknowledges it or its lock expires, then ACKNOWLEDGED (processed) or ARCHIVED (rejected,
// a gap, or over the delivery limit). The last two are terminal.
const (
	Available    RecordState = 0
	Acquired     RecordState = 1
	Acknowledged RecordState = 2
	Archived     RecordState = 4
)

func (s RecordState) String() string {
	switch s {
	case Available:
		return "AVAILABLE"
	case Acquired:
		return "ACQUIRED"
	case Acknowledged:
		return "ACKNOWLEDGED"
	case Archived:
		return "ARCHIVED"
	}
	return "UNKNOWN"
}

func (s RecordState) terminal() bool { return s == Acknowledged || s == Archived }

// Acknowledgement types of ShareFetch and ShareAcknowledge (KIP-932; RENEW is KIP-1222).
const (
	AckGap     int8 = 0
	AckAccept  int8 = 1
	AckRelease int8 = 2
	AckReject  int8 = 3
	AckRenew   int8 = 4
)

// DLQ reasons: why a record left for the dead-letter topic.
const (
	ReasonRejected      = "rejected"
	ReasonDeliveryLimit = "delivery-limit"
)

// inFlight is the state of one record between the start offset and the end offset.
type inFlight struct {
	state         RecordState
	deliveryCount int16
	member        string    // the member holding it while ACQUIRED
	lockDeadline  time.Time // when the acquisition lock expires, while ACQUIRED
}

// Limits are the settings a share-partition obeys.
type Limits struct {
	LockDuration       time.Duration // group.share.record.lock.duration.ms
	DeliveryCountLimit int16         // group.share.delivery.count.limit
	MaxRecordLocks     int64         // group.share.partition.max.record.locks
}

// Archive reports one record that was archived because it was rejected or went over the
// delivery limit: what the dead-letter topic gets.
type Archive struct {
	Offset        int64
	DeliveryCount int16
	Reason        string
}

// AcquiredRange is a run of consecutive offsets acquired together with one delivery count.
type AcquiredRange struct {
	First, Last   int64
	DeliveryCount int16
}

// SharePartition is the share state of one topic-partition for one share group (Kafka's
// SharePartition): which records are in flight, in which state, for how many deliveries.
// It is not safe for concurrent use; the Manager guards each one with its own mutex.
//
// Invariants:
//   - startOffset <= endOffset, and endOffset - startOffset <= MaxRecordLocks after any
//     acquisition;
//   - every offset in records lies in [startOffset, endOffset);
//   - the record at startOffset, if any is tracked there, is not terminal (advance moves
//     past terminal records), so nothing below startOffset is ever delivered again.
//
// Offsets in [startOffset, endOffset) that records does not hold are offsets the log has no
// record for (compacted away, or a control batch): they are done.
type SharePartition struct {
	limits Limits
	// startOffset is the share-partition start offset (SPSO): every record below it is done.
	startOffset int64
	// endOffset is the next offset never yet acquired (Kafka's SPEO + 1).
	endOffset int64
	records   map[int64]*inFlight
}

// NewSharePartition returns a share-partition starting at offset start.
func NewSharePartition(start int64, limits Limits) *SharePartition {
	return &SharePartition{limits: limits, startOffset: start, endOffset: start, records: map[int64]*inFlight{}}
}

// StartOffset is the share-partition start offset.
func (sp *SharePartition) StartOffset() int64 { return sp.startOffset }

// EndOffset is the next offset never acquired.
func (sp *SharePartition) EndOffset() int64 { return sp.endOffset }

// State returns an offset's state and delivery count; offsets below the start offset, or
// untracked ones inside the window, are reported ACKNOWLEDGED (done), those at or past the
// end AVAILABLE.
func (sp *SharePartition) State(offset int64) (RecordState, int16) {
	if r := sp.records[offset]; r != nil {
		return r.state, r.deliveryCount
	}
	if offset >= sp.endOffset {
		return Available, 0
	}
	return Acknowledged, 0
}

// NextAcquirable is the lowest offset that may be acquired: an AVAILABLE in-flight record,
// or the end offset; ok is false when nothing in flight is available and the window is full.
func (sp *SharePartition) NextAcquirable() (int64, bool) {
	best := int64(-1)
	for off, r := range sp.records {
		if r.state == Available && (best < 0 || off < best) {
			best = off
		}
	}
	if best >= 0 {
		return best, true
	}
	return sp.endOffset, sp.endOffset-sp.startOffset < sp.limits.MaxRecordLocks
}

// ResetTo moves an empty share-partition (nothing in flight) to offset, used when the log
// start moves past the start offset.
func (sp *SharePartition) ResetTo(offset int64) {
	if offset <= sp.startOffset {
		return
	}
	for off := range sp.records {
		if off < offset {
			delete(sp.records, off)
		}
	}
	sp.startOffset = offset
	if sp.endOffset < offset {
		sp.endOffset = offset
	}
	sp.advance()
}

// Acquire acquires for member, at now, the acquirable offsets of [first, last] (the offsets
// of one batch read from the log), up to maxRecords of them; it returns the ranges acquired.
// A control batch's offsets (control set) are never delivered: they are marked done.
func (sp *SharePartition) Acquire(now time.Time, member string, first, last int64, control bool, maxRecords int) []AcquiredRange {
	var out []AcquiredRange
	if first > sp.endOffset && first <= sp.startOffset+sp.limits.MaxRecordLocks {
		// A hole in the log (compaction): its offsets have no records and are done.
		sp.endOffset = first
		sp.advance()
	}
	n := 0
	for off := max(first, sp.startOffset); off <= last && n < maxRecords; off++ {
		r := sp.records[off]
		switch {
		case r != nil && r.state != Available:
			continue
		case r == nil && off < sp.endOffset:
			continue // done
		case r == nil && off > sp.endOffset:
			return out // not contiguous with the end: leave it for a later read
		case r == nil:
			if sp.endOffset-sp.startOffset >= sp.limits.MaxRecordLocks {
				return out
			}
			sp.endOffset++
			if control {
				sp.advance()
				continue
			}
			r = &inFlight{}
			sp.records[off] = r
		}
		r.state, r.member, r.lockDeadline = Acquired, member, now.Add(sp.limits.LockDuration)
		r.deliveryCount++
		n++
		if k := len(out) - 1; k >= 0 && out[k].Last == off-1 && out[k].DeliveryCount == r.deliveryCount {
			out[k].Last = off
		} else {
			out = append(out, AcquiredRange{First: off, Last: off, DeliveryCount: r.deliveryCount})
		}
	}
	return out
}

// Acknowledge applies one acknowledgement batch of member: types has one type for the whole
// range or one per offset. Every offset must be ACQUIRED by member (a GAP may also name an
// offset with no record), else nothing changes and the error is INVALID_RECORD_STATE
// (INVALID_REQUEST for a malformed batch). Records archived by REJECT, or by RELEASE past the
// delivery limit, are returned for the dead-letter topic.
func (sp *SharePartition) Acknowledge(now time.Time, member string, first, last int64, types []int8) ([]Archive, error) {
	if last < first || len(types) == 0 || (len(types) != 1 && int64(len(types)) != last-first+1) {
		return nil, kerr.InvalidRequest
	}
	typeOf := func(off int64) int8 {
		if len(types) == 1 {
			return types[0]
		}
		return types[off-first]
	}
	// Check everything first, so that a bad batch changes nothing.
	for off := first; off <= last; off++ {
		t := typeOf(off)
		if t < AckGap || t > AckRenew {
			return nil, kerr.InvalidRequest
		}
		r := sp.records[off]
		if r == nil && t == AckGap && off < sp.endOffset {
			continue
		}
		if r == nil || r.state != Acquired || r.member != member {
			return nil, kerr.InvalidRecordState
		}
	}
	var archived []Archive
	for off := first; off <= last; off++ {
		r := sp.records[off]
		if r == nil {
			continue
		}
		switch typeOf(off) {
		case AckAccept:
			r.state = Acknowledged
		case AckGap:
			r.state = Archived
		case AckReject:
			r.state = Archived
			archived = append(archived, Archive{Offset: off, DeliveryCount: r.deliveryCount, Reason: ReasonRejected})
		case AckRelease:
			if a, ok := sp.releaseLocked(off, r); ok {
				archived = append(archived, a)
			}
		case AckRenew:
			r.lockDeadline = now.Add(sp.limits.LockDuration)
			continue
		}
		r.member, r.lockDeadline = "", time.Time{}
	}
	sp.advance()
	return archived, nil
}

// releaseLocked makes an acquired record available again, or archives it when it has been
// delivered DeliveryCountLimit times.
func (sp *SharePartition) releaseLocked(off int64, r *inFlight) (Archive, bool) {
	r.member, r.lockDeadline = "", time.Time{}
	if r.deliveryCount >= sp.limits.DeliveryCountLimit {
		r.state = Archived
		return Archive{Offset: off, DeliveryCount: r.deliveryCount, Reason: ReasonDeliveryLimit}, true
	}
	r.state = Available
	return Archive{}, false
}

// ReleaseMember releases every record member holds (the member left, or closed its share
// session).
func (sp *SharePartition) ReleaseMember(member string) []Archive {
	var archived []Archive
	for _, off := range sp.sortedOffsets() {
		if r := sp.records[off]; r.state == Acquired && r.member == member {
			if a, ok := sp.releaseLocked(off, r); ok {
				archived = append(archived, a)
			}
		}
	}
	sp.advance()
	return archived
}

// Holds reports whether member has any record acquired.
func (sp *SharePartition) Holds(member string) bool {
	for _, r := range sp.records {
		if r.state == Acquired && r.member == member {
			return true
		}
	}
	return false
}

// ExpireLocks releases, at now, every record whose acquisition lock has expired; changed
// reports whether any did.
func (sp *SharePartition) ExpireLocks(now time.Time) (archived []Archive, changed bool) {
	for _, off := range sp.sortedOffsets() {
		if r := sp.records[off]; r.state == Acquired && !now.Before(r.lockDeadline) {
			changed = true
			if a, ok := sp.releaseLocked(off, r); ok {
				archived = append(archived, a)
			}
		}
	}
	sp.advance()
	return archived, changed
}

// NextLockDeadline is the earliest acquisition lock deadline, zero when nothing is acquired.
func (sp *SharePartition) NextLockDeadline() time.Time {
	var next time.Time
	for _, r := range sp.records {
		if r.state == Acquired && (next.IsZero() || r.lockDeadline.Before(next)) {
			next = r.lockDeadline
		}
	}
	return next
}

// advance moves the start offset past terminal and untracked records, dropping them.
func (sp *SharePartition) advance() {
	for sp.startOffset < sp.endOffset {
		r := sp.records[sp.startOffset]
		if r != nil && !r.state.terminal() {
			return
		}
		delete(sp.records, sp.startOffset)
		sp.startOffset++
	}
}

func (sp *SharePartition) sortedOffsets() []int64 {
	out := make([]int64, 0, len(sp.records))
	for off := range sp.records {
		out = append(out, off)
	}
	slices.Sort(out)
	return out
}

// StateBatch is a run of consecutive tracked offsets with one state and delivery count, as
// __share_group_state stores them.
type StateBatch struct {
	First, Last   int64
	State         RecordState
	DeliveryCount int16
}

// Snapshot returns the durable state: the start and end offsets and the tracked records.
// An ACQUIRED record is written as AVAILABLE: acquisition locks do not survive a restart,
// so a record acquired but never acknowledged is delivered again, never lost.
func (sp *SharePartition) Snapshot() (start, end int64, batches []StateBatch) {
	for _, off := range sp.sortedOffsets() {
		r := sp.records[off]
		st := r.state
		if st == Acquired {
			st = Available
		}
		if k := len(batches) - 1; k >= 0 && batches[k].Last == off-1 && batches[k].State == st && batches[k].DeliveryCount == r.deliveryCount {
			batches[k].Last = off
			continue
		}
		batches = append(batches, StateBatch{First: off, Last: off, State: st, DeliveryCount: r.deliveryCount})
	}
	return sp.startOffset, sp.endOffset, batches
}

// Restore replaces the state with a snapshot's. Batches outside [start, end), or larger
// than the record-lock bound, are ignored: the state comes from disk and is not trusted.
func (sp *SharePartition) Restore(start, end int64, batches []StateBatch) {
	if end < start {
		end = start
	}
	sp.startOffset, sp.endOffset, sp.records = start, end, map[int64]*inFlight{}
	for _, b := range batches {
		if b.First < start || b.Last >= end || b.Last < b.First || b.Last-b.First >= sp.limits.MaxRecordLocks*4 {
			continue
		}
		st := b.State
		if st == Acquired {
			st = Available
		}
		for off := b.First; off <= b.Last; off++ {
			sp.records[off] = &inFlight{state: st, deliveryCount: b.DeliveryCount}
		}
	}
	sp.advance()
}

// Merge applies a ShareUpdate on top of the state: its batches overwrite the records they
// name, and the window moves forward to the update's (never back). Only replay uses it, for
// updates written by earlier versions: Gregor now writes snapshots only.
func (sp *SharePartition) Merge(start, end int64, batches []StateBatch) {
	if end > sp.endOffset {
		sp.endOffset = end
	}
	for _, b := range batches {
		if b.Last < b.First || b.Last-b.First >= sp.limits.MaxRecordLocks*4 {
			continue
		}
		st := b.State
		if st == Acquired {
			st = Available
		}
		for off := max(b.First, sp.startOffset); off <= b.Last && off < sp.endOffset; off++ {
			sp.records[off] = &inFlight{state: st, deliveryCount: b.DeliveryCount}
		}
	}
	if start > sp.startOffset {
		for off := range sp.records {
			if off < start {
				delete(sp.records, off)
			}
		}
		sp.startOffset = min(start, sp.endOffset)
	}
	sp.advance()
}

// Lag is the share-partition's lag against the high watermark hw, as KIP-1226 defines it:
// hw minus the start offset minus the records between them already done (ACKNOWLEDGED,
// ARCHIVED, or offsets the log holds no record for). That is the records below hw still to
// be delivered to completion: those in flight that are AVAILABLE or ACQUIRED, and those
// never acquired, from the end offset up to hw.
func (sp *SharePartition) Lag(hw int64) int64 {
	var n int64
	for off, r := range sp.records {
		if off < hw && !r.state.terminal() {
			n++
		}
	}
	return n + max(hw-max(sp.endOffset, sp.startOffset), 0)
}
