package api

// Produce, versions 3-11 (RecordBatch v2 only; older message formats are not served).
//
//	v0-v2: advertised in ApiVersions but refused: every partition gets UNSUPPORTED_VERSION.
//	       Kafka 4 does the same (KAFKA-18659): librdkafka up to 2.11 sends gzip, snappy and
//	       lz4 batches only to a broker whose Produce range includes v0, and silently
//	       downgrades them to uncompressed otherwise.
//
//	v3: transactional id; record batches (magic 2)
//	v4: no change
//	v5: log start offset in the response
//	v6-v7: no change
//	v8: per-record errors and an error message in the response
//	v9: flexible
//	v10: current leader and node endpoints tags (KIP-951); not sent yet
//	v11: TRANSACTION_ABORTABLE may be answered (KIP-890), where older versions get INVALID_TXN_STATE
//
// A transactional batch in a request without a transactional id is
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED for every partition, as in Kafka; the first
// transactional batch of a transaction in a partition is verified with the transaction
// coordinator first (KIP-890 part 1, see produce_verify.go).
//
// Authorization: WRITE on each topic (else TOPIC_AUTHORIZATION_FAILED), and WRITE on the
// transactional id of a transactional request (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED
// for every partition). Idempotent writes are authorized where Kafka does, at
// InitProducerId. The appended bytes count against the client's producer_byte_rate quota
// (quota.go): the response carries the throttle time and the connection is muted for it.
//
// acks=0 gets no response; acks=1 is answered once the leader has the batch; acks=-1 (all)
// once every in-sync replica has it (the high watermark passed it), which on a single node
// is at once. acks=-1 needs min.insync.replicas in the ISR before the append
// (NOT_ENOUGH_REPLICAS), and still when the high watermark reaches the batch
// (NOT_ENOUGH_REPLICAS_AFTER_APPEND); a batch the ISR does not have within timeout_ms gets
// REQUEST_TIMED_OUT. A partition this broker does not lead is NOT_LEADER_OR_FOLLOWER.
//
// Timestamps: on a CreateTime topic every record's timestamp must lie within
// [now - message.timestamp.before.max.ms, now + message.timestamp.after.max.ms], else the
// partition gets INVALID_TIMESTAMP (Kafka's LogValidator). Records of compressed batches are
// decompressed (bounded, see produce_records.go) and checked one by one like the others.
// LogAppendTime topics are not checked: the broker sets the time.

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/records"
	"github.com/gregorhq/gregor/internal/replica"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerProduce(reg *wire.Registry) {
	// The records are written to the log (or re-encoded into a new buffer) before the
	// handler returns, and the response holds nothing of the request: the frame may be reused.
	reg.Register(wire.API{Key: kmsg.Produce, MinVersion: 0, MaxVersion: 11, Handle: h.produce, BodyReleased: true})
}

// minProduceVersion is the first Produce version served: the first with RecordBatch v2.
const minProduceVersion = 3

func (h *Handlers) produce(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.ProduceRequest)
	resp := kmsg.NewPtrProduceResponse()
	badAcks := req.Acks != 0 && req.Acks != 1 && req.Acks != -1
	// A transactional batch needs the transactional id its producer belongs to; Kafka answers
	// a request without one, whole, as not authorized for it.
	noTxnID := req.TransactionID == nil && hasTransactionalBatch(req)
	// Authorization, as Kafka's handleProduceRequest: WRITE on the transactional id for a
	// transactional request (the whole request fails without it), WRITE on each topic.
	if req.TransactionID != nil && hasTransactionalBatch(req) &&
		!h.allowed(ctx, r, auth.OpWrite, metadata.ACLResourceTransactionalID, *req.TransactionID) {
		noTxnID = true
	}
	var bytes int64
	// acks=all writes wait for the ISR after every partition is appended; where is each
	// one's response partition (topic index, partition index).
	var pending []*replica.PendingWrite
	var pendingAt [][2]int
	for _, rt := range req.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic = rt.Topic
		writable := h.allowedTopic(ctx, r, auth.OpWrite, rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.BaseOffset, sp.LogAppendTime, sp.LogStartOffset = -1, -1, -1
			var err error
			switch {
			case req.Version < minProduceVersion:
				err = kerr.UnsupportedVersion
			case badAcks:
				err = kerr.InvalidRequiredAcks
			case noTxnID:
				err = kerr.TransactionalIDAuthorizationFailed
			case !writable:
				err = kerr.TopicAuthorizationFailed
			case isInternalTopic(rt.Topic):
				// Only coordinators write their own topics; a client's bytes there would be
				// replayed as group or transaction state.
				err = &kafkaError{kerr.InvalidTopicException, "Cannot append to internal topic " + rt.Topic}
			default:
				bytes += int64(len(rp.Records))
				var w *replica.PendingWrite
				w, err = h.appendPartition(req.Version, req.Acks, req.TransactionID, rt.Topic, rp.Partition, rp.Records, &sp)
				if w != nil {
					pending = append(pending, w)
					pendingAt = append(pendingAt, [2]int{len(resp.Topics), len(st.Partitions)})
				}
			}
			if err != nil {
				sp.ErrorCode = errorCode(err)
				if req.Version >= 8 {
					sp.ErrorMessage = errorMessage(err)
				}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	principal, _ := requester(ctx, r)
	throttle := h.Quotas.Record(quotaProduce, principal, clientID(r), bytes)
	if req.Acks == 0 {
		return wire.Reply{Throttle: throttle}, nil
	}
	resp.ThrottleMillis = int32(throttle / time.Millisecond)
	// settle puts the outcome of the acks=all waits into the response.
	settle := func() {
		for i, w := range pending {
			if w.Err == nil {
				continue
			}
			sp := &resp.Topics[pendingAt[i][0]].Partitions[pendingAt[i][1]]
			sp.ErrorCode, sp.BaseOffset, sp.LogAppendTime = errorCode(w.Err), -1, -1
			if req.Version >= 8 {
				sp.ErrorMessage = errorMessage(w.Err)
			}
		}
	}
	if replica.Replicated(pending) {
		// Nothing to wait for (a single node, or followers already caught up).
		settle()
		return wire.Reply{Msg: resp, Throttle: throttle}, nil
	}
	// The batches are in the log; only the wait for the ISR remains. It runs on the
	// connection's writer, so that the client's next requests on this connection (a producer
	// keeps up to 5 in flight) are read and appended meanwhile instead of queueing behind
	// this one's replication; they are still appended, and answered, in request order.
	// timeout_ms counts from now, however long the writer takes to come to this reply.
	deadline := time.Now().Add(time.Duration(max(req.TimeoutMillis, 0)) * time.Millisecond)
	return wire.Reply{Throttle: throttle, Deferred: func() kmsg.Response {
		replica.WaitReplicated(ctx, pending, time.Until(deadline))
		settle()
		return resp
	}}, nil
}

// appendPartition validates one partition's batch and appends it, filling in the response.
// For acks=-1 it checks the ISR size first and returns the write to wait for.
func (h *Handlers) appendPartition(version, acks int16, txnID *string, topic string, partition int32, batch []byte, sp *kmsg.ProduceResponseTopicPartition) (*replica.PendingWrite, error) {
	p, err := h.Replicas.Partition(topic, partition)
	if err != nil {
		return nil, err
	}
	if acks == -1 {
		if err := p.CheckEnoughReplicas(); err != nil {
			return nil, err
		}
	}
	cfg := p.Config()
	hdr, stats, err := records.ValidateProduceRecords(batch, int(cfg.MaxMessageBytes))
	if err == nil {
		err = records.ValidateProduceVersion(version, hdr)
	}
	if err == nil {
		batch, hdr, err = h.prepareRecords(batch[:hdr.Size()], hdr, stats, topic, partition, cfg)
	}
	if err != nil {
		return nil, err
	}
	var res replica.AppendResult
	if hdr.Transactional() && txnID != nil && h.TxnVerifier != nil && h.Config.TransactionPartitionVerificationEnable {
		res, err = h.appendVerified(version, *txnID, p, batch, hdr)
	} else {
		res, err = p.Append(batch, hdr)
	}
	if err != nil {
		return nil, err
	}
	if h.Metrics != nil && !res.Duplicate {
		h.Metrics.RecordsIn(topic, int64(len(batch)), int64(hdr.NumRecords))
	}
	sp.BaseOffset = res.BaseOffset
	sp.LogAppendTime = res.LogAppendTime
	sp.LogStartOffset = res.LogStartOffset
	if acks != -1 {
		return nil, nil
	}
	return &replica.PendingWrite{P: p, NextOffset: res.LastOffset + 1, Epoch: res.LeaderEpoch}, nil
}

// errKeyless refuses a record without a key on a compacted topic, as Kafka's LogValidator
// does: the log cleaner could not keep it.
func errKeyless(topic string, partition int32) error {
	return fmt.Errorf("Compacted topic cannot accept message without key in topic partition %s-%d: %w",
		topic, partition, kerr.InvalidRecord)
}

// timestampCheck is a topic's bounds on record timestamps at one instant (all in ms): a
// record passes without a timestamp (noTimestamp) or with one in [now - before, now + after].
// The timestamps that pass make one interval, so a batch whose smallest and largest
// timestamps pass has none that fails.
type timestampCheck struct{ now, before, after int64 }

// timestampCheckFor returns the check of a batch with header hdr on a topic with cfg, and
// false when its timestamps are not checked (LogAppendTime: the broker sets them).
func (h *Handlers) timestampCheckFor(hdr records.Header, cfg config.Topic) (timestampCheck, bool) {
	if cfg.MessageTimestampType != "CreateTime" || hdr.LogAppendTime() {
		return timestampCheck{}, false
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	return timestampCheck{now().UnixMilli(), cfg.MessageTimestampBeforeMaxMs, cfg.MessageTimestampAfterMaxMs}, true
}

func (c timestampCheck) ok(ts int64) bool {
	return ts == noTimestamp || !tooEarly(ts, c.now, c.before) && !tooLate(ts, c.now, c.after)
}

// refuse is INVALID_TIMESTAMP for the record at offsetDelta, whose timestamp is ts.
func (c timestampCheck) refuse(ts int64, offsetDelta int32) error {
	return &kafkaError{kerr.InvalidTimestamp, fmt.Sprintf(
		"Timestamp %d of message with offset delta %d is out of range. The timestamp should be within [%d, %d]",
		ts, offsetDelta, satSub(c.now, c.before), satAdd(c.now, c.after))}
}

// checkTimestamps checks a batch's record timestamps against the topic's bounds. stats, when
// walked, lets a batch whose every timestamp is in bounds pass without another walk; the
// records are walked only to name the first one that is not.
func (h *Handlers) checkTimestamps(d records.Decoded, stats records.RecordStats, cfg config.Topic) error {
	c, checked := h.timestampCheckFor(d.Header, cfg)
	if !checked || stats.Walked && (stats.MinTimestamp > stats.MaxTimestamp || c.ok(stats.MinTimestamp) && c.ok(stats.MaxTimestamp)) {
		return nil
	}
	var failed error
	err := d.ForEach(func(r records.Record) bool {
		if ts := d.Header.BaseTimestamp + r.TimestampDelta; !c.ok(ts) {
			failed = c.refuse(ts, r.OffsetDelta)
		}
		return failed == nil
	})
	if failed != nil {
		return failed
	}
	return err
}

// noTimestamp is RecordBatch.NO_TIMESTAMP: a record without a timestamp is not checked.
const noTimestamp = -1

// tooEarly reports whether ts is more than before milliseconds earlier than now, without
// overflowing.
func tooEarly(ts, now, before int64) bool {
	return ts < now && uint64(now)-uint64(ts) > uint64(before)
}

// tooLate reports whether ts is more than after milliseconds later than now.
func tooLate(ts, now, after int64) bool {
	return ts > now && uint64(ts)-uint64(now) > uint64(after)
}

func satSub(a, b int64) int64 {
	if b > 0 && a < math.MinInt64+b {
		return math.MinInt64
	}
	return a - b
}

func satAdd(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// kafkaError is a Kafka error code with a message for the client.
type kafkaError struct {
	code *kerr.Error
	msg  string
}

func (e *kafkaError) Error() string { return e.msg }
func (e *kafkaError) Unwrap() error { return e.code }
