package api

// Fetch, versions 4-12 (the request and response code below also handles v13-v17; see
// maxFetchVersion).
//
//	v4: isolation level, last stable offset, aborted transactions
//	v5: log start offset
//	v6: no change
//	v7: fetch sessions (KIP-227): session id and epoch, forgotten topics
//	v8-v10: no change
//	v11: rack id; preferred read replica in the response
//	v12: flexible; diverging epoch, current leader and snapshot id tags
//	v13: topic ids instead of names (KIP-516), resolved against the partitions this broker
//	     hosts (the replica manager's image): an unknown id is UNKNOWN_TOPIC_ID
//	v14: no change
//	v15: replica_state (replica id and broker epoch) replaces replica_id (KIP-903)
//	v16: node endpoints tag in the response; not sent
//	v17: replica directory id (KIP-853); ignored
//
// v13-v17 are not advertised yet: tests that send raw Fetch requests by topic name at the
// negotiated version must set topic ids first.
//
// A fetch with a replica id >= 0 (replica_state.replica_id from v15) is a follower's
// (replication): it is served only by the partition's leader, only to a broker registered in
// the metadata and in the partition's replica set (NOT_LEADER_OR_FOLLOWER otherwise), reads
// up to the log end offset rather than the high watermark, and tells the leader the
// follower's log end offset (replica.Partition.ReadForFollower). Its last_fetched_epoch is
// checked against the leader's epochs: a divergent follower gets diverging_epoch (v12 tag)
// and no records. current_leader_epoch older than the partition's is FENCED_LEADER_EPOCH,
// newer UNKNOWN_LEADER_EPOCH.
//
// Fetching from followers (KIP-392). A consumer's fetch (replica id -1) of a partition this
// broker only follows is NOT_LEADER_OR_FOLLOWER before v11; from v11, which may carry a
// rack and may have been sent to a preferred read replica, a follower serves it up to the
// high watermark it has learnt from the leader, as Kafka does (an offset between that and
// its log end reads nothing, one beyond its log end is OFFSET_OUT_OF_RANGE, which makes the
// client go back to the leader). With replica.selector.class set to Kafka's
// RackAwareReplicaSelector, the leader answers a v11+ consumer fetch that has a rack_id by
// choosing an in-sync replica in that rack (replica.Partition.PreferredReadReplica): the
// partition then gets preferred_read_replica and no records, and the response is sent at
// once; the client fetches from that replica next.
//
// Fetch sessions are answered as sessionless: a request that asks for a new session gets
// session id 0 (no session was made) and full responses; one that continues a session gets
// FETCH_SESSION_ID_NOT_FOUND, after which clients fall back to full fetches.
//
// A fetch whose partitions hold fewer than min_bytes waits, up to max_wait_ms, for appends:
// one Waiter is registered on its partitions and woken by appends; nothing polls. A
// transaction marker is an append too, so a read_committed fetch wakes when the last stable
// offset moves.
//
// isolation_level 1 (read_committed) reads only below the last stable offset and returns
// the aborted transactions (producer id, first offset) of the fetched range, which the
// consumer skips; every response carries the last stable offset, at either level.
//
// Record data is never copied: each partition's records are a region of a segment file that
// the connection writer sends with sendfile; encodeFetch writes the rest of the response
// around those regions.
//
// Authorization: READ on each topic (CLUSTER_ACTION on the cluster for a replica's fetch),
// else TOPIC_AUTHORIZATION_FAILED. Bytes sent count against consumer_byte_rate.

import (
	"context"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/replica"
	"github.com/gregorhq/gregor/internal/storage"
	"github.com/gregorhq/gregor/internal/wire"
)

// maxFetchBytes is Kafka's fetch.max.bytes default: the most one response carries.
const maxFetchBytes = 55 << 20

// maxFetchVersion is the newest Fetch version advertised.
const maxFetchVersion = 12

func (h *Handlers) registerFetch(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.Fetch, MinVersion: 4, MaxVersion: maxFetchVersion, Handle: h.fetch})
}

// fetchPartition is one requested partition and where its answer goes.
type fetchPartition struct {
	p        *replica.Partition // nil when resolving it failed; the error is in the response
	offset   int64
	maxBytes int64
	resp     *kmsg.FetchResponseTopicPartition
	region   *storage.Region
	// replicaID >= 0 makes it a follower's fetch, with the epoch of its last fetched batch.
	replicaID        int32
	lastFetchedEpoch int32
	// preferred >= 0 is the replica the consumer should read from instead (KIP-392): the
	// answer carries it and no records.
	preferred int32
}

// rackSelector returns the racks of the brokers a consumer's fetch may be sent to, when the
// fetch is one the leader may redirect (a v11+ consumer fetch with a rack, and
// replica.selector.class is the rack-aware selector); nil otherwise. A broker is eligible
// when it is registered, unfenced and has an endpoint on this listener.
func (h *Handlers) rackSelector(req *kmsg.FetchRequest) func(int32) (string, bool) {
	if req.Version < 11 || req.ReplicaID >= 0 || req.Rack == "" ||
		h.Config.Raw["replica.selector.class"] != replica.RackAwareSelector {
		return nil
	}
	img := h.Replicas.Image()
	if img == nil {
		return nil
	}
	return func(id int32) (string, bool) {
		b, ok := img.Brokers[id]
		if !ok || b.Fenced {
			return "", false
		}
		for _, e := range b.Endpoints {
			if strings.EqualFold(e.Name, h.Listener) {
				return b.Rack, true
			}
		}
		return "", false
	}
}

func (h *Handlers) fetch(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.FetchRequest)
	resp := kmsg.NewPtrFetchResponse()
	// The registry versions kmsg replies; this one is encoded here, so it is versioned here.
	resp.Version = req.Version
	if req.Version >= 7 && req.SessionEpoch > 0 {
		resp.ErrorCode = kerr.FetchSessionIDNotFound.Code
		return wire.Reply{Msg: resp}, nil
	}

	replicaID := req.ReplicaID
	if req.Version >= 15 {
		replicaID = req.ReplicaState.ID
	}
	var img *metadata.Image // only topic ids need it
	if req.Version >= 13 {
		img = h.Replicas.Image()
	}
	resp.Topics = make([]kmsg.FetchResponseTopic, len(req.Topics))
	regions := make([][]storage.Region, len(req.Topics))
	var names []string // the topics' names, for metrics
	if h.Metrics != nil {
		names = make([]string, len(req.Topics))
	}
	// Authorization, as Kafka's handleFetchRequest: a replica's fetch needs CLUSTER_ACTION on
	// the cluster, a consumer's READ on each topic; a partition that fails it gets
	// TOPIC_AUTHORIZATION_FAILED.
	isReplica := req.ReplicaID >= 0
	replicaAllowed := isReplica && h.allowedCluster(ctx, r, auth.OpClusterAction)
	var parts []fetchPartition
	rackOf := h.rackSelector(req)
	for i, rt := range req.Topics {
		st := &resp.Topics[i]
		*st = kmsg.NewFetchResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		name, topicErr := rt.Topic, error(nil)
		if req.Version >= 13 {
			if t := img.TopicsByID[metadata.UUID(rt.TopicID)]; t != nil {
				name = t.Name
			} else {
				topicErr = kerr.UnknownTopicID
			}
		}
		if names != nil {
			names[i] = name
		}
		if topicErr == nil && (isReplica && !replicaAllowed || !isReplica && !h.allowedTopic(ctx, r, auth.OpRead, name)) {
			topicErr = kerr.TopicAuthorizationFailed
		}
		st.Partitions = make([]kmsg.FetchResponseTopicPartition, len(rt.Partitions))
		regions[i] = make([]storage.Region, len(rt.Partitions))
		for j, rp := range rt.Partitions {
			sp := &st.Partitions[j]
			*sp = kmsg.NewFetchResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = -1, -1, -1
			err := topicErr
			var p *replica.Partition
			if err == nil {
				p, err = h.Replicas.Partition(name, rp.Partition)
			}
			if err == nil {
				err = checkLeaderEpoch(p, rp.CurrentLeaderEpoch)
			}
			if err == nil && replicaID < 0 && req.Version < 11 && !p.IsLeader() {
				err = kerr.NotLeaderForPartition
			}
			preferred := int32(-1)
			if err == nil && replicaID < 0 && rackOf != nil {
				preferred = p.PreferredReadReplica(req.Rack, rp.FetchOffset, rackOf)
			}
			if err != nil {
				sp.ErrorCode = errorCode(err)
				p = nil
			}
			parts = append(parts, fetchPartition{p: p, offset: rp.FetchOffset, maxBytes: int64(rp.PartitionMaxBytes), resp: sp, region: &regions[i][j],
				replicaID: replicaID, lastFetchedEpoch: rp.LastFetchedEpoch, preferred: preferred})
		}
	}

	readCommitted := req.IsolationLevel == 1
	maxBytes := int64(req.MaxBytes)
	if maxBytes <= 0 || maxBytes > maxFetchBytes {
		maxBytes = maxFetchBytes
	}
	if !isReplica {
		// As Kafka, a consumer never gets more than its byte quota lets through in one
		// quota window, so one fetch cannot throttle it for long (the first batch still
		// comes whole, however large).
		principal, _ := requester(ctx, r)
		if limit, ok := h.Quotas.MaxBytesInWindow(quotaFetch, principal, clientID(r)); ok {
			maxBytes = max(min(maxBytes, limit), 1)
		}
	}
	var waiter *replica.Waiter
	var timer *time.Timer
	defer func() {
		if waiter != nil {
			waiter.Close()
			timer.Stop()
		}
	}()
	for {
		got, failed := readFetch(parts, maxBytes, readCommitted)
		if failed || got >= int64(req.MinBytes) || req.MaxWaitMillis <= 0 || ctx.Err() != nil {
			break
		}
		if waiter == nil {
			// Register, then read again: an append between the first read and the
			// registration would otherwise go unnoticed until the timeout.
			var hosted []*replica.Partition
			for _, fp := range parts {
				if fp.p != nil {
					hosted = append(hosted, fp.p)
				}
			}
			waiter = replica.NewWaiter(hosted)
			timer = time.NewTimer(time.Duration(req.MaxWaitMillis) * time.Millisecond)
			continue
		}
		timedOut := false
		waitStart := time.Now()
		select {
		case <-waiter.C():
		case <-timer.C:
			timedOut = true
		case <-ctx.Done():
		}
		wire.Waited(ctx, waitStart) // the long poll is not handler time (request quota)
		if timedOut {
			readFetch(parts, maxBytes, readCommitted)
			break
		}
	}
	var total int64
	for i := range regions {
		for _, r := range regions[i] {
			total += r.Size
		}
	}
	// The bytes count against the consumer_byte_rate quota and the handler time against
	// request_percentage (quota.go). Over either, Kafka (KIP-219) answers at once with
	// throttle_time_ms and no partitions at all (FetchContext.getThrottledResponse), takes
	// the bytes back from the byte rate, and mutes the connection for the throttle time.
	var throttle time.Duration
	if isReplica {
		exemptFromRequestQuota(ctx)
	} else {
		principal, _ := requester(ctx, r)
		requestThrottle := h.chargeRequestTime(ctx, r)
		throttle = max(h.Quotas.Record(quotaFetch, principal, clientID(r), total), requestThrottle)
		if throttle > 0 {
			h.Quotas.Unrecord(quotaFetch, principal, clientID(r), total)
			resp.ThrottleMillis = int32(throttle / time.Millisecond)
			resp.Topics = nil
			return wire.Reply{Chunks: encodeFetch(resp, nil), Throttle: throttle}, nil
		}
	}
	if h.Metrics != nil {
		for i := range regions {
			var n int64
			for _, r := range regions[i] {
				n += r.Size
			}
			if n > 0 {
				h.Metrics.BytesOut(names[i], n)
			}
		}
	}
	return wire.Reply{Chunks: encodeFetch(resp, regions), Throttle: throttle}, nil
}

// readFetch reads every partition, Kafka's way: each gets at most its own max bytes and what
// is left of the response's, and until some partition returns data the first batch is
// returned whole even if it is larger than both. It returns the bytes read and whether a
// partition failed (a failed fetch is answered at once).
func readFetch(parts []fetchPartition, maxBytes int64, readCommitted bool) (total int64, failed bool) {
	for _, fp := range parts {
		if fp.p == nil {
			failed = true
			continue
		}
		limit := fp.maxBytes
		if remaining := maxBytes - total; remaining < limit {
			limit = max(remaining, 0)
		}
		var res replica.ReadResult
		var err error
		if fp.preferred >= 0 {
			// Redirected: the offsets, no records, answered at once (Kafka skips the read).
			res, err = fp.p.ReadIsolated(fp.offset, 0, false, readCommitted)
			res.Region, res.AbortedTransactions = storage.Region{}, nil
			fp.resp.PreferredReadReplica = fp.preferred
			failed = true
		} else if fp.replicaID >= 0 {
			var fr replica.FollowerReadResult
			fr, err = fp.p.ReadForFollower(fp.replicaID, fp.offset, limit, fp.lastFetchedEpoch)
			res = fr.ReadResult
			fp.resp.DivergingEpoch.Epoch, fp.resp.DivergingEpoch.EndOffset = fr.DivergingEpoch.Epoch, fr.DivergingEnd
			if fr.DivergingEpoch.Epoch >= 0 || fr.DivergingEnd >= 0 {
				failed = true // answered at once: the follower truncates before anything else
			}
		} else {
			res, err = fp.p.ReadIsolated(fp.offset, limit, total == 0, readCommitted)
		}
		fp.resp.HighWatermark = res.HighWatermark
		fp.resp.LastStableOffset = res.LastStableOffset
		fp.resp.LogStartOffset = res.LogStartOffset
		fp.resp.ErrorCode = errorCode(err)
		fp.resp.AbortedTransactions = nil // null for read_uncommitted, as Kafka
		if readCommitted {
			fp.resp.AbortedTransactions = make([]kmsg.FetchResponseTopicPartitionAbortedTransaction, 0, len(res.AbortedTransactions))
			for _, a := range res.AbortedTransactions {
				at := kmsg.NewFetchResponseTopicPartitionAbortedTransaction()
				at.ProducerID, at.FirstOffset = a.ProducerID, a.FirstOffset
				fp.resp.AbortedTransactions = append(fp.resp.AbortedTransactions, at)
			}
		}
		if err != nil {
			failed = true
			*fp.region = storage.Region{}
			continue
		}
		*fp.region = res.Region
		total += res.Region.Size
	}
	return total, failed
}

// checkLeaderEpoch compares a client's idea of the leader epoch with ours (-1: no check).
func checkLeaderEpoch(p *replica.Partition, clientEpoch int32) error {
	if clientEpoch < 0 {
		return nil
	}
	switch epoch := p.LeaderEpoch(); {
	case clientEpoch < epoch:
		return kerr.FencedLeaderEpoch
	case clientEpoch > epoch:
		return kerr.UnknownLeaderEpoch
	}
	return nil
}
