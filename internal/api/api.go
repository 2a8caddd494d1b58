// Package api serves the Kafka APIs: one file per API, each decoding nothing itself (kmsg
// does), calling the domain (controller, replica manager) and filling in the response.
//
// Every file opens with the versions it serves and what changed across them; those ranges
// are what ApiVersions advertises.
package api

import (
	"errors"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/group"
	"github.com/gregorhq/gregor/internal/replica"
	"github.com/gregorhq/gregor/internal/share"
	"github.com/gregorhq/gregor/internal/txn"
	"github.com/gregorhq/gregor/internal/wire"
)

// Handlers holds what the API handlers need.
type Handlers struct {
	NodeID int32
	Config config.Broker
	// Listener is the listener whose advertised endpoints Metadata returns when the request
	// carries no connection (auth.Session) naming its own.
	Listener   string
	Controller *controller.Controller
	Replicas   *replica.Manager
	// Groups is the group coordinator; nil answers group APIs with COORDINATOR_NOT_AVAILABLE.
	Groups *group.Coordinator
	// Shares is the share-partition manager; when nil, ShareFetch and ShareAcknowledge are
	// not served (nor advertised by ApiVersions).
	Shares *share.Manager
	// ProducerIDs hands out producer ids (InitProducerId); nil answers
	// COORDINATOR_NOT_AVAILABLE.
	ProducerIDs *txn.ProducerIDManager
	// Txns is the transaction coordinator; nil answers transaction APIs with
	// COORDINATOR_NOT_AVAILABLE.
	Txns *txn.Coordinator
	// TxnVerifier checks transactional Produce batches against the transaction coordinator
	// (KIP-890 part 1, produce_verify.go); nil appends them unchecked.
	TxnVerifier TxnVerifier
	Logger      *slog.Logger
	// Metrics, when set, counts the bytes and records produced and the bytes fetched, per
	// topic.
	Metrics TopicMetrics
	// Now is the clock produce checks timestamps against; time.Now when nil.
	Now func() time.Time
	// Authorizer checks every request against the ACLs (authorize.go); nil allows
	// everything (no authorizer.class.name).
	Authorizer *auth.Authorizer
	// Quotas throttles produce and fetch by client quota (quota.go); nil throttles nothing.
	Quotas   *Quotas
	registry *wire.Registry
}

// TopicMetrics counts traffic per topic (Kafka's BrokerTopicMetrics). Calls come from the
// request goroutines and must be cheap.
type TopicMetrics interface {
	// RecordsIn counts one batch appended by Produce: its size in bytes and its records.
	RecordsIn(topic string, bytes, records int64)
	// BytesOut counts record bytes a Fetch response carries.
	BytesOut(topic string, bytes int64)
}

// Register adds every API Gregor serves to reg.
func (h *Handlers) Register(reg *wire.Registry) {
	if h.Logger == nil {
		h.Logger = slog.Default()
	}
	h.registry = reg
	if h.Quotas != nil {
		reg.SetReplyHook(h.requestQuota)
	}
	h.registerApiVersions(reg)
	h.registerMetadata(reg)
	h.registerProduce(reg)
	h.registerFetch(reg)
	h.registerOffsetForLeaderEpoch(reg)
	h.registerListOffsets(reg)
	h.registerCreateTopics(reg)
	h.registerDeleteTopics(reg)
	h.registerCreatePartitions(reg)
	h.registerDescribeCluster(reg)
	h.registerElectLeaders(reg)
	h.registerAlterPartitionReassignments(reg)
	h.registerListPartitionReassignments(reg)
	h.registerDescribeConfigs(reg)
	h.registerDeleteRecords(reg)
	h.registerAlterConfigs(reg)
	h.registerIncrementalAlterConfigs(reg)
	h.registerDescribeLogDirs(reg)
	h.registerFindCoordinator(reg)
	h.registerJoinGroup(reg)
	h.registerSyncGroup(reg)
	h.registerHeartbeat(reg)
	h.registerLeaveGroup(reg)
	h.registerOffsetCommit(reg)
	h.registerOffsetFetch(reg)
	h.registerOffsetDelete(reg)
	h.registerTxnOffsetCommit(reg)
	h.registerListGroups(reg)
	h.registerDescribeGroups(reg)
	h.registerDeleteGroups(reg)
	h.registerConsumerGroupHeartbeat(reg)
	h.registerConsumerGroupDescribe(reg)
	h.registerShareGroupHeartbeat(reg)
	h.registerShareGroupDescribe(reg)
	if h.Shares != nil {
		h.registerShareFetch(reg)
		h.registerShareAcknowledge(reg)
		if h.Groups != nil {
			h.registerDescribeShareGroupOffsets(reg)
			h.registerAlterShareGroupOffsets(reg)
			h.registerDeleteShareGroupOffsets(reg)
		}
	}
	h.registerInitProducerID(reg)
	h.registerWriteTxnMarkers(reg)
	h.registerDescribeProducers(reg)
	h.registerAddPartitionsToTxn(reg)
	h.registerAddOffsetsToTxn(reg)
	h.registerEndTxn(reg)
	h.registerListTransactions(reg)
	h.registerDescribeTransactions(reg)
	h.registerSaslHandshake(reg)
	h.registerSaslAuthenticate(reg)
	h.registerDescribeUserScramCredentials(reg)
	h.registerAlterUserScramCredentials(reg)
	h.registerDescribeAcls(reg)
	h.registerCreateAcls(reg)
	h.registerDeleteAcls(reg)
	h.registerDescribeClientQuotas(reg)
	h.registerAlterClientQuotas(reg)
}

// errorCode maps a domain error to its Kafka error code: a kerr error keeps its code,
// anything else is UNKNOWN_SERVER_ERROR.
func errorCode(err error) int16 {
	if err == nil {
		return 0
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	return kerr.UnknownServerError.Code
}

// fencedCode is the code of err for a transaction API, with PRODUCER_FENCED answered as
// INVALID_PRODUCER_EPOCH to a version older than fencedSince, whose clients do not know it
// (as Kafka does).
func fencedCode(err error, version, fencedSince int16) int16 {
	code := errorCode(err)
	if code == kerr.ProducerFenced.Code && version < fencedSince {
		return kerr.InvalidProducerEpoch.Code
	}
	return code
}

// errorMessage is the message sent alongside a non-zero error code, nil when there is none.
func errorMessage(err error) *string {
	if err == nil {
		return nil
	}
	s := err.Error()
	return &s
}

// syncReplicas makes the replica manager catch up with the controller's latest image, so a
// client that is told a topic exists can use it at once.
func (h *Handlers) syncReplicas() {
	if err := h.Replicas.Apply(h.Controller.Image()); err != nil {
		h.Logger.Error("applying metadata to replicas failed", "err", err)
	}
}
