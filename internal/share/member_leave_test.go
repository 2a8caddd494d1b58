package share_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// rawShareMember is a share group member driven by hand-built requests, so that a test
// decides exactly which requests it sends (a kgo share consumer closes its share session
// before it leaves, which releases its records by itself).
type rawShareMember struct {
	t              *testing.T
	cl             *kgo.Client
	group, id      string
	topicID        [16]byte
	epoch, session int32
}

func newRawShareMember(t *testing.T, addr, group, id, topic string) *rawShareMember {
	t.Helper()
	cl := client(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topics, err := kadm.NewClient(cl).ListTopics(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	m := &rawShareMember{t: t, cl: cl, group: group, id: id, topicID: topics[topic].ID}
	waitFor(t, "member "+id+" joined", 20*time.Second, func() bool {
		return m.heartbeat(0, []string{topic}) == 0
	})
	return m
}

// heartbeat sends a ShareGroupHeartbeat with epoch and returns its error code.
func (m *rawShareMember) heartbeat(epoch int32, topics []string) int16 {
	req := kmsg.NewPtrShareGroupHeartbeatRequest()
	req.GroupID, req.MemberID, req.MemberEpoch, req.SubscribedTopicNames = m.group, m.id, epoch, topics
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, m.cl)
	if err != nil {
		m.t.Fatal(err)
	}
	if resp.ErrorCode == 0 {
		m.epoch = resp.MemberEpoch
	}
	return resp.ErrorCode
}

// fetch sends a ShareFetch of partition 0 in the member's session and returns the acquired
// ranges.
func (m *rawShareMember) fetch() []kmsg.ShareFetchResponseTopicPartitionAcquiredRecord {
	return m.fetchN(100)
}

// fetchN is fetch acquiring at most maxRecords records.
func (m *rawShareMember) fetchN(maxRecords int32) []kmsg.ShareFetchResponseTopicPartitionAcquiredRecord {
	code, out := m.tryFetchN(maxRecords)
	if code != 0 {
		m.t.Fatalf("ShareFetch of %s: %v", m.id, kerr.ErrorForCode(code))
	}
	return out
}

// tryFetch is fetch, returning the response's error code.
func (m *rawShareMember) tryFetch() (int16, []kmsg.ShareFetchResponseTopicPartitionAcquiredRecord) {
	return m.tryFetchN(100)
}

func (m *rawShareMember) tryFetchN(maxRecords int32) (int16, []kmsg.ShareFetchResponseTopicPartitionAcquiredRecord) {
	req := kmsg.NewPtrShareFetchRequest()
	req.GroupID, req.MemberID = &m.group, &m.id
	req.ShareSessionEpoch, req.MaxWaitMillis, req.MinBytes, req.MaxBytes, req.MaxRecords = m.session, 50, 1, 1<<20, maxRecords
	req.BatchSize = maxRecords
	rt := kmsg.NewShareFetchRequestTopic()
	rt.TopicID = m.topicID
	rt.Partitions = []kmsg.ShareFetchRequestTopicPartition{{Partition: 0}}
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, m.cl)
	if err != nil {
		m.t.Fatal(err)
	}
	if resp.ErrorCode != 0 {
		return resp.ErrorCode, nil
	}
	m.session++
	var out []kmsg.ShareFetchResponseTopicPartitionAcquiredRecord
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out = append(out, p.AcquiredRecords...)
		}
	}
	return 0, out
}

// ack acknowledges offsets [first, last] of partition 0 with one type, in the member's
// session (ShareAcknowledge).
func (m *rawShareMember) ack(first, last int64, typ int8) {
	m.t.Helper()
	req := kmsg.NewPtrShareAcknowledgeRequest()
	req.GroupID, req.MemberID, req.ShareSessionEpoch = &m.group, &m.id, m.session
	rt := kmsg.NewShareAcknowledgeRequestTopic()
	rt.TopicID = m.topicID
	rp := kmsg.NewShareAcknowledgeRequestTopicPartition()
	rp.Partition = 0
	b := kmsg.NewShareAcknowledgeRequestTopicPartitionAcknowledgementBatch()
	b.FirstOffset, b.LastOffset, b.AcknowledgeTypes = first, last, []int8{typ}
	rp.AcknowledgementBatches = append(rp.AcknowledgementBatches, b)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, m.cl)
	if err != nil {
		m.t.Fatal(err)
	}
	if resp.ErrorCode != 0 {
		m.t.Fatalf("ShareAcknowledge of %s: %v", m.id, kerr.ErrorForCode(resp.ErrorCode))
	}
	m.session++
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
		m.t.Fatalf("acknowledging [%d, %d] by %s: %v", first, last, m.id, kerr.ErrorForCode(code))
	}
}

func countAcquired(rs []kmsg.ShareFetchResponseTopicPartitionAcquiredRecord) int64 {
	var n int64
	for _, r := range rs {
		n += r.LastOffset - r.FirstOffset + 1
	}
	return n
}

// A member that leaves its share group releases what it holds there and then, not when its
// acquisition locks expire (a minute here, far longer than the test waits), and its share
// session ends with it.
func TestShareMemberLeaveReleasesItsRecords(t *testing.T) {
	n := shareNode(t, "group.share.record.lock.duration.ms", "60000")
	createTopic(t, n.Addr(), "leave", 1)
	produce(t, client(t, n.Addr()), "leave", 0, 10)

	a := newRawShareMember(t, n.Addr(), "gl", "member-a", "leave")
	b := newRawShareMember(t, n.Addr(), "gl", "member-b", "leave")
	var held int64
	waitFor(t, "a acquires every record", 20*time.Second, func() bool {
		held += countAcquired(a.fetch())
		return held == 10
	})
	if got := countAcquired(b.fetch()); got != 0 {
		t.Fatalf("b acquired %d records a holds", got)
	}
	if code := a.heartbeat(-1, nil); code != 0 {
		t.Fatalf("leave: %v", kerr.ErrorForCode(code))
	}
	var got int64
	waitFor(t, "b acquires the records a held when it left", 20*time.Second, func() bool {
		got += countAcquired(b.fetch())
		return got == 10
	})
	// Back in the group, a's old session is gone: only a new one (epoch 0) is served.
	if code := a.heartbeat(0, []string{"leave"}); code != 0 {
		t.Fatalf("rejoin: %v", kerr.ErrorForCode(code))
	}
	if code, _ := a.tryFetch(); code != kerr.ShareSessionNotFound.Code {
		t.Fatalf("ShareFetch in the session of before the leave: %v, want SHARE_SESSION_NOT_FOUND", kerr.ErrorForCode(code))
	}
}
