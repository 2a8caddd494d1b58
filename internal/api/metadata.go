package api

// Metadata, versions 0-12.
//
//	v0: brokers, topics with partitions (an empty topic list means all topics)
//	v1: controller id, rack, internal flag; a null topic list means all, empty means none
//	v2: cluster id
//	v3: throttle time
//	v4: allow_auto_topic_creation (before v4 the broker setting alone decides)
//	v5: offline replicas
//	v7: leader epoch
//	v8: authorized operations, when asked for (cluster ones dropped again in v11)
//	v9: flexible
//	v10: topic ids
//	v11: no cluster authorized operations
//	v12: topics may be named by id alone
//
// Authorization: the all-topics answer leaves out topics the client may not DESCRIBE; a named
// topic it may not DESCRIBE (or, absent, may not CREATE for auto-creation) is answered
// TOPIC_AUTHORIZATION_FAILED, existing or not.

import (
	"context"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/group"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerMetadata(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.Metadata, MinVersion: 0, MaxVersion: 12, Handle: h.metadata})
}

func (h *Handlers) metadata(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.MetadataRequest)
	resp := kmsg.NewPtrMetadataResponse()
	img := h.Controller.Image()

	allTopics := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	// denied holds the named topics the client may not see (DESCRIBE) or, absent and to be
	// auto-created, may not create (CREATE on the cluster or the topic): they are answered
	// TOPIC_AUTHORIZATION_FAILED whether they exist or not, so no name leaks.
	denied := map[string]bool{}
	if !allTopics {
		autoCreate := h.Config.AutoCreateTopicsEnable && (req.Version < 4 || req.AllowAutoTopicCreation)
		clusterCreate := autoCreate && h.allowedCluster(ctx, r, auth.OpCreate)
		var creatable []kmsg.MetadataRequestTopic
		for _, rt := range req.Topics {
			if rt.Topic == nil {
				continue
			}
			name := *rt.Topic
			switch {
			case !h.allowedTopic(ctx, r, auth.OpDescribe, name):
				denied[name] = true
			case img.Topics[name] != nil || !autoCreate:
			case clusterCreate || h.allowedTopic(ctx, r, auth.OpCreate, name):
				creatable = append(creatable, rt)
			default:
				denied[name] = true
			}
		}
		img = h.autoCreate(ctx, img, creatable, autoCreate)
	}

	resp.ClusterID = &img.ClusterID
	resp.ControllerID = h.controllerID(img)
	for _, b := range h.brokers(ctx, img) {
		mb := kmsg.NewMetadataResponseBroker()
		mb.NodeID, mb.Host, mb.Port = b.NodeID, b.Host, b.Port
		if b.Rack != nil {
			mb.Rack = b.Rack
		}
		resp.Brokers = append(resp.Brokers, mb)
	}

	if allTopics {
		for _, name := range img.TopicNames() {
			if h.allowedTopic(ctx, r, auth.OpDescribe, name) {
				resp.Topics = append(resp.Topics, topicMetadata(img, img.Topics[name]))
			}
		}
		h.metadataAuthorizedOperations(ctx, r, req, img, resp)
		return wire.Reply{Msg: resp}, nil
	}
	for _, rt := range req.Topics {
		var t *metadata.Topic
		switch {
		case rt.Topic != nil:
			t = img.Topics[*rt.Topic]
		case rt.TopicID != [16]byte{}:
			t = img.TopicsByID[metadata.UUID(rt.TopicID)]
		}
		if (rt.Topic != nil && denied[*rt.Topic]) || (rt.Topic == nil && t != nil && !h.allowedTopic(ctx, r, auth.OpDescribe, t.Name)) {
			mt := kmsg.NewMetadataResponseTopic()
			mt.Topic, mt.TopicID = rt.Topic, rt.TopicID
			mt.ErrorCode = kerr.TopicAuthorizationFailed.Code
			resp.Topics = append(resp.Topics, mt)
			continue
		}
		if t == nil {
			mt := kmsg.NewMetadataResponseTopic()
			mt.Topic = rt.Topic
			mt.TopicID = rt.TopicID
			mt.ErrorCode = kerr.UnknownTopicOrPartition.Code
			if rt.Topic == nil {
				mt.ErrorCode = kerr.UnknownTopicID.Code
			} else if err := controller.ValidateTopicName(*rt.Topic); err != nil {
				mt.ErrorCode = kerr.InvalidTopicException.Code
			}
			resp.Topics = append(resp.Topics, mt)
			continue
		}
		resp.Topics = append(resp.Topics, topicMetadata(img, t))
	}
	h.metadataAuthorizedOperations(ctx, r, req, img, resp)
	return wire.Reply{Msg: resp}, nil
}

// metadataAuthorizedOperations fills in the authorized operations (KIP-430) as Kafka does:
// from v8, the cluster's when asked for (v8-v10 only) and, when asked for, every answered
// topic's, denied ones included; otherwise the fields keep the omitted sentinel.
func (h *Handlers) metadataAuthorizedOperations(ctx context.Context, r *wire.Request, req *kmsg.MetadataRequest, img *metadata.Image, resp *kmsg.MetadataResponse) {
	resp.AuthorizedOperations = authorizedOperationsOmitted
	for i := range resp.Topics {
		resp.Topics[i].AuthorizedOperations = authorizedOperationsOmitted
	}
	if req.Version < 8 {
		return
	}
	resp.AuthorizedOperations = h.clusterAuthorizedOperations(ctx, r, req.Version <= 10 && req.IncludeClusterAuthorizedOperations)
	if !req.IncludeTopicAuthorizedOperations {
		return
	}
	for i := range resp.Topics {
		mt := &resp.Topics[i]
		name := ""
		switch {
		case mt.Topic != nil:
			name = *mt.Topic
		case img.TopicsByID[metadata.UUID(mt.TopicID)] != nil:
			name = img.TopicsByID[metadata.UUID(mt.TopicID)].Name
		default:
			continue
		}
		mt.AuthorizedOperations = h.authorizedOperations(ctx, r, metadata.ACLResourceTopic, name)
	}
}

// autoCreate creates the named topics that do not exist yet, with the broker defaults, and
// returns the image that has them.
func (h *Handlers) autoCreate(ctx context.Context, img *metadata.Image, topics []kmsg.MetadataRequestTopic, enabled bool) *metadata.Image {
	if !enabled {
		return img
	}
	var specs []controller.TopicSpec
	for _, rt := range topics {
		if rt.Topic == nil || img.Topics[*rt.Topic] != nil || controller.ValidateTopicName(*rt.Topic) != nil {
			continue
		}
		if isInternalTopic(*rt.Topic) {
			// Internal topics are created by their coordinator, with their own partition
			// count and configs, never with the defaults.
			if *rt.Topic == group.OffsetsTopic && h.Groups != nil {
				if err := h.Groups.EnsureOffsetsTopic(ctx); err != nil {
					h.Logger.Warn("creating the offsets topic failed", "err", err)
				}
			}
			continue
		}
		specs = append(specs, controller.TopicSpec{Name: *rt.Topic, NumPartitions: -1, ReplicationFactor: -1})
	}
	if len(specs) == 0 {
		return h.Controller.Image() // it may have the offsets topic now
	}
	for _, res := range h.Controller.CreateTopics(ctx, specs, false) {
		if res.Err != nil && !isCode(res.Err, kerr.TopicAlreadyExists) {
			h.Logger.Warn("auto-creating topic failed", "topic", res.Name, "err", res.Err)
		}
	}
	h.syncReplicas()
	return h.Controller.Image()
}

// topicMetadata describes a topic's partitions: leader, epoch, replicas, ISR, and as offline
// the replicas whose broker is fenced or gone. A partition without a leader, or whose leader is
// fenced or gone, answers LEADER_NOT_AVAILABLE with leader -1.
func topicMetadata(img *metadata.Image, t *metadata.Topic) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	name := t.Name
	mt.Topic = &name
	mt.TopicID = t.ID
	mt.IsInternal = isInternalTopic(t.Name)
	for _, p := range t.Partitions {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition = p.ID
		mp.Leader = p.Leader
		mp.LeaderEpoch = p.LeaderEpoch
		mp.Replicas = append([]int32(nil), p.Replicas...)
		mp.ISR = append([]int32(nil), p.ISR...)
		for _, r := range p.Replicas {
			if b, ok := img.Brokers[r]; !ok || b.Fenced {
				mp.OfflineReplicas = append(mp.OfflineReplicas, r)
			}
		}
		// A leader that is fenced or gone is not listed among the brokers: as Kafka does, the
		// partition is then leaderless (a client would not know where to send it otherwise).
		if b, ok := img.Brokers[p.Leader]; p.Leader >= 0 && (!ok || b.Fenced) {
			mp.Leader = -1
		}
		if mp.Leader < 0 {
			mp.ErrorCode = kerr.LeaderNotAvailable.Code
		}
		mt.Partitions = append(mt.Partitions, mp)
	}
	return mt
}

// isInternalTopic reports whether Kafka treats the topic as internal.
func isInternalTopic(name string) bool {
	return name == "__consumer_offsets" || name == "__transaction_state"
}

// advertisedBroker is a broker as clients should reach it.
type advertisedBroker struct {
	NodeID int32
	Host   string
	Port   int32
	Rack   *string
}

// brokers lists the unfenced brokers with an endpoint on the listener the client connected
// on (as Kafka answers), by id. Without a connection in ctx it is h.Listener.
func (h *Handlers) brokers(ctx context.Context, img *metadata.Image) []advertisedBroker {
	listener := h.Listener
	if sess := auth.SessionFrom(ctx); sess != nil && sess.Listener != "" {
		listener = sess.Listener
	}
	var out []advertisedBroker
	for _, b := range img.Brokers {
		if b.Fenced {
			continue
		}
		for _, e := range b.Endpoints {
			if e.Name != listener {
				continue
			}
			ab := advertisedBroker{NodeID: b.ID, Host: e.Host, Port: e.Port}
			if b.Rack != "" {
				rack := b.Rack
				ab.Rack = &rack
			}
			out = append(out, ab)
			break
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NodeID < out[j].NodeID })
	return out
}

// controllerID is the controller id to tell clients: the active controller when it is an
// unfenced broker they can reach, else this broker, which forwards admin requests to the
// controller (Kafka's brokers answer with a random broker in that case, for the same reason).
func (h *Handlers) controllerID(img *metadata.Image) int32 {
	if b, ok := img.Brokers[img.ControllerID]; ok && !b.Fenced {
		return img.ControllerID
	}
	return h.NodeID
}

func isCode(err error, want *kerr.Error) bool { return errorCode(err) == want.Code }
