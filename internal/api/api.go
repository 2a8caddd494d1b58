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

	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/group"
	"github.com/gregorhq/gregor/internal/replica"
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
	// ProducerIDs hands out producer ids (InitProducerId); nil answers
	// COORDINATOR_NOT_AVAILABLE.
	ProducerIDs *txn.ProducerIDManager
	Logger      *slog.Logger
	// Now is the clock produce checks timestamps against; time.Now when nil.
	Now      func() time.Time
	registry *wire.Registry
}

// Register adds every API Gregor serves to reg.
func (h *Handlers) Register(reg *wire.Registry) {
	if h.Logger == nil {
		h.Logger = slog.Default()
	}
	h.registry = reg
	h.registerApiVersions(reg)
	h.registerMetadata(reg)
	h.registerProduce(reg)
	h.registerFetch(reg)
	h.registerListOffsets(reg)
	h.registerCreateTopics(reg)
	h.registerDeleteTopics(reg)
	h.registerCreatePartitions(reg)
	h.registerDescribeCluster(reg)
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
	h.registerListGroups(reg)
	h.registerDescribeGroups(reg)
	h.registerDeleteGroups(reg)
	h.registerConsumerGroupHeartbeat(reg)
	h.registerConsumerGroupDescribe(reg)
	h.registerInitProducerID(reg)
	h.registerSaslHandshake(reg)
	h.registerSaslAuthenticate(reg)
	h.registerDescribeUserScramCredentials(reg)
	h.registerAlterUserScramCredentials(reg)
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
