package share

import (
	"context"
	"strconv"
	"time"

	"github.com/gregorhq/gregor/internal/records"
	"github.com/gregorhq/gregor/internal/replica"
)

// The dead-letter topic (Gregor's take on KIP-1191). When group.share.dead.letter.topic names
// a topic, every record archived because a consumer rejected it (REJECT) or because it was
// delivered group.share.delivery.count.limit times without being accepted is produced to
// that topic: same key, value and headers, plus
//
//	gregor.dlq.reason          rejected | delivery-limit
//	gregor.dlq.topic           the topic it came from
//	gregor.dlq.partition       its partition (decimal)
//	gregor.dlq.offset          its offset (decimal)
//	gregor.dlq.delivery.count  how many times it was delivered (decimal)
//	gregor.dlq.group           the share group
//
// The topic is created with one partition when it does not exist. Writing to it is best
// effort: a failure is logged, and the record stays archived.

// dlqTimeout bounds creating the dead-letter topic.
const dlqTimeout = 10 * time.Second

// deadLetter produces archived records of e to the dead-letter topic, if one is configured.
// It is called without e.mu held.
func (m *Manager) deadLetter(e *entry, archived []Archive) {
	topic := m.cfg.Broker.GroupShareDeadLetterTopic
	if topic == "" || len(archived) == 0 || topic == e.topic {
		return
	}
	src, err := m.cfg.Replicas.Partition(e.topic, e.key.partition)
	if err != nil {
		m.log.Warn("dead-letter: source partition gone", "topic", e.topic, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), dlqTimeout)
	defer cancel()
	dst, err := m.ensureTopic(ctx, topic, 1, nil)
	if err != nil {
		m.log.Warn("dead-letter: topic unavailable", "topic", topic, "err", err)
		return
	}
	var out []records.Record
	for _, a := range archived {
		r, ok := readRecord(src, a.Offset)
		if !ok {
			continue // compacted or deleted meanwhile
		}
		hdr := func(k, v string) records.RecordHeader { return records.RecordHeader{Key: k, Value: []byte(v)} }
		r.Headers = append(r.Headers,
			hdr("gregor.dlq.reason", a.Reason),
			hdr("gregor.dlq.topic", e.topic),
			hdr("gregor.dlq.partition", strconv.Itoa(int(e.key.partition))),
			hdr("gregor.dlq.offset", strconv.FormatInt(a.Offset, 10)),
			hdr("gregor.dlq.delivery.count", strconv.Itoa(int(a.DeliveryCount))),
			hdr("gregor.dlq.group", e.key.group))
		out = append(out, records.Record{Key: r.Key, Value: r.Value, Headers: r.Headers})
	}
	if len(out) == 0 {
		return
	}
	batch := records.BuildSimple(0, m.clock.Now().UnixMilli(), out...)
	h, err := records.ParseHeader(batch)
	if err == nil {
		_, err = dst.Append(batch, h)
	}
	if err != nil {
		m.log.Warn("dead-letter: append failed", "topic", topic, "err", err)
	}
}

// readRecord returns the record at offset of a partition.
func readRecord(p *replica.Partition, offset int64) (records.Record, bool) {
	res, err := p.Read(offset, 1<<20, true)
	if err != nil {
		return records.Record{}, false
	}
	data, err := res.Region.ReadBytes()
	if err != nil {
		return records.Record{}, false
	}
	for len(data) > 0 {
		h, err := records.ParseHeader(data)
		if err != nil || h.Size() > int64(len(data)) {
			break
		}
		batch := data[:h.Size()]
		data = data[h.Size():]
		if h.Control() || offset < h.BaseOffset || offset > h.LastOffset() {
			continue
		}
		var found records.Record
		ok := false
		_ = records.ForEachRecord(batch, func(r records.Record) bool {
			if h.BaseOffset+int64(r.OffsetDelta) == offset {
				found, ok = r, true
				return false
			}
			return true
		})
		return found, ok
	}
	return records.Record{}, false
}
