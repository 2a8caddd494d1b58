package controller

// The Kafka-protocol controller APIs served on the controller listener (see transport.go).
// Each handler decides locally (never forwards again, so a request cannot loop between nodes):
// a node that is not the active controller answers NOT_CONTROLLER and the sender tries
// another. Versions: ApiVersions 0-3; CreateTopics 0-7; DeleteTopics 6; CreatePartitions 0-3;
// AlterConfigs 0-2; IncrementalAlterConfigs 0-1; AllocateProducerIds 0; BrokerRegistration
// 0-3; BrokerHeartbeat 0-1; AlterPartition 0-3 (v2+: topic ids; v3: the ISR's broker epochs,
// KIP-903); ElectLeaders 1-2; AlterPartitionReassignments 0 (reassign.go); on a SASL
// controller listener, SaslHandshake 1 and SaslAuthenticate 0-2 (transport_sasl.go).

import (
	"context"
	"net"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/wire"
)

func (c *Controller) rpcRegistry() *wire.Registry {
	reg := wire.NewRegistry()
	add := func(key kmsg.Key, lo, hi int16, h func(ctx context.Context, req kmsg.Request) kmsg.Response) {
		reg.Register(wire.API{Key: key, MinVersion: lo, MaxVersion: hi, Handle: func(ctx context.Context, r *wire.Request) (wire.Reply, error) {
			return wire.Reply{Msg: h(ctx, r.Body)}, nil
		}})
	}
	add(kmsg.ApiVersions, 0, 3, func(_ context.Context, _ kmsg.Request) kmsg.Response {
		resp := kmsg.NewPtrApiVersionsResponse()
		resp.ApiKeys = reg.Versions()
		return resp
	})
	add(kmsg.CreateTopics, 0, 7, c.handleCreateTopics)
	add(kmsg.DeleteTopics, 6, 6, c.handleDeleteTopics)
	add(kmsg.CreatePartitions, 0, 3, c.handleCreatePartitions)
	add(kmsg.AlterConfigs, 0, 2, c.handleAlterConfigs)
	add(kmsg.IncrementalAlterConfigs, 0, 1, c.handleIncrementalAlterConfigs)
	add(kmsg.AllocateProducerIDs, 0, 0, c.handleAllocateProducerIDs)
	add(kmsg.BrokerRegistration, 0, 3, c.handleBrokerRegistration)
	add(kmsg.BrokerHeartbeat, 0, 1, c.handleBrokerHeartbeat)
	add(kmsg.AlterPartition, 0, 3, c.handleAlterPartition)
	add(kmsg.ElectLeaders, 1, 2, c.handleElectLeaders)
	add(kmsg.AlterPartitionAssignments, 0, 0, c.handleAlterPartitionReassignments)
	if c.cfg.ListenerSASL != nil {
		c.registerSASL(reg) // transport_sasl.go
	}
	return reg
}

func (c *Controller) handleCreateTopics(ctx context.Context, r kmsg.Request) kmsg.Response {
	req := r.(*kmsg.CreateTopicsRequest)
	specs := make([]TopicSpec, len(req.Topics))
	for i, t := range req.Topics {
		specs[i] = TopicSpec{Name: t.Topic, NumPartitions: t.NumPartitions, ReplicationFactor: t.ReplicationFactor}
		if len(t.ReplicaAssignment) > 0 {
			specs[i].Assignments = map[int32][]int32{}
			for _, a := range t.ReplicaAssignment {
				specs[i].Assignments[a.Partition] = a.Replicas
			}
		}
		if len(t.Configs) > 0 {
			specs[i].Configs = map[string]*string{}
			for _, cf := range t.Configs {
				specs[i].Configs[cf.Name] = cf.Value
			}
		}
	}
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	for _, res := range c.createTopics(ctx, specs, req.ValidateOnly) {
		t := kmsg.NewCreateTopicsResponseTopic()
		t.Topic, t.TopicID = res.Name, res.ID
		t.ErrorCode, t.ErrorMessage = codeOf(res.Err, res.Message)
		t.NumPartitions, t.ReplicationFactor = res.NumPartitions, res.ReplicationFactor
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}

func (c *Controller) handleDeleteTopics(ctx context.Context, r kmsg.Request) kmsg.Response {
	req := r.(*kmsg.DeleteTopicsRequest)
	var names []string
	var ids []metadata.UUID
	for _, t := range req.Topics {
		if t.Topic != nil {
			names = append(names, *t.Topic)
		} else {
			ids = append(ids, t.TopicID)
		}
	}
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	for _, res := range c.deleteTopics(ctx, names, ids) {
		t := kmsg.NewDeleteTopicsResponseTopic()
		t.Topic, t.TopicID = strPtr(res.Name), res.ID
		t.ErrorCode, t.ErrorMessage = codeOf(res.Err, res.Message)
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}

func (c *Controller) handleCreatePartitions(ctx context.Context, r kmsg.Request) kmsg.Response {
	req := r.(*kmsg.CreatePartitionsRequest)
	specs := make([]PartitionsSpec, len(req.Topics))
	for i, t := range req.Topics {
		specs[i] = PartitionsSpec{Topic: t.Topic, Count: t.Count}
		if t.Assignment != nil {
			specs[i].Assignments = [][]int32{}
			for _, a := range t.Assignment {
				specs[i].Assignments = append(specs[i].Assignments, a.Replicas)
			}
		}
	}
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	for _, res := range c.createPartitions(ctx, specs, req.ValidateOnly) {
		t := kmsg.NewCreatePartitionsResponseTopic()
		t.Topic = res.Topic
		t.ErrorCode, t.ErrorMessage = codeOf(res.Err, res.Message)
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}

func (c *Controller) handleAlterConfigs(ctx context.Context, r kmsg.Request) kmsg.Response {
	req := r.(*kmsg.AlterConfigsRequest)
	var resources []ConfigResource
	for _, rr := range req.Resources {
		cr := ConfigResource{Type: metadata.ConfigResourceType(rr.ResourceType), Name: rr.ResourceName}
		for _, cf := range rr.Configs {
			cr.Changes = append(cr.Changes, ConfigChange{Name: cf.Name, Op: ConfigSet, Value: cf.Value})
		}
		resources = append(resources, cr)
	}
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	for _, res := range c.alterConfigs(ctx, resources, req.ValidateOnly, false) {
		rr := kmsg.NewAlterConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceType(res.Type), res.Name
		rr.ErrorCode, rr.ErrorMessage = codeOf(res.Err, res.Message)
		resp.Resources = append(resp.Resources, rr)
	}
	return resp
}

func (c *Controller) handleIncrementalAlterConfigs(ctx context.Context, r kmsg.Request) kmsg.Response {
	req := r.(*kmsg.IncrementalAlterConfigsRequest)
	var resources []ConfigResource
	for _, rr := range req.Resources {
		cr := ConfigResource{Type: metadata.ConfigResourceType(rr.ResourceType), Name: rr.ResourceName}
		for _, cf := range rr.Configs {
			cr.Changes = append(cr.Changes, ConfigChange{Name: cf.Name, Op: ConfigOp(cf.Op), Value: cf.Value})
		}
		resources = append(resources, cr)
	}
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	for _, res := range c.alterConfigs(ctx, resources, req.ValidateOnly, true) {
		rr := kmsg.NewIncrementalAlterConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceType(res.Type), res.Name
		rr.ErrorCode, rr.ErrorMessage = codeOf(res.Err, res.Message)
		resp.Resources = append(resp.Resources, rr)
	}
	return resp
}

func (c *Controller) handleAllocateProducerIDs(ctx context.Context, r kmsg.Request) kmsg.Response {
	req := r.(*kmsg.AllocateProducerIDsRequest)
	resp := req.ResponseKind().(*kmsg.AllocateProducerIDsResponse)
	block, err := c.allocateProducerIds(ctx, req.BrokerID)
	if err != nil {
		resp.ErrorCode, _ = codeOf(err, "")
		return resp
	}
	resp.ProducerIDStart, resp.ProducerIDLen = block.Start, int32(block.Size)
	return resp
}

func (c *Controller) handleBrokerRegistration(ctx context.Context, r kmsg.Request) kmsg.Response {
	req := r.(*kmsg.BrokerRegistrationRequest)
	resp := req.ResponseKind().(*kmsg.BrokerRegistrationResponse)
	if img := c.Image(); req.ClusterID != "" && img.ClusterID != "" && req.ClusterID != img.ClusterID {
		resp.ErrorCode = kerr.InconsistentClusterID.Code
		return resp
	}
	b := metadata.Broker{ID: req.BrokerID, Fenced: true, IncarnationID: req.IncarnationID}
	if req.Rack != nil {
		b.Rack = *req.Rack
	}
	var raftAddr string
	for _, l := range req.Listeners {
		if l.Name == raftListenerName {
			raftAddr = net.JoinHostPort(l.Host, strconv.Itoa(int(l.Port)))
			continue
		}
		b.Endpoints = append(b.Endpoints, metadata.Endpoint{Name: l.Name, Host: l.Host, Port: int32(l.Port)})
	}
	if b.ID < 0 {
		resp.ErrorCode = kerr.InvalidRequest.Code
		return resp
	}
	epoch, err := c.registerBroker(ctx, b, raftAddr, req.PreviousBrokerEpoch)
	if err != nil {
		resp.ErrorCode, _ = codeOf(err, "")
		return resp
	}
	resp.BrokerEpoch = epoch
	return resp
}

func (c *Controller) handleBrokerHeartbeat(ctx context.Context, r kmsg.Request) kmsg.Response {
	req := r.(*kmsg.BrokerHeartbeatRequest)
	resp := req.ResponseKind().(*kmsg.BrokerHeartbeatResponse)
	offset := uint64(0)
	if req.CurrentMetadataOffset > 0 {
		offset = uint64(req.CurrentMetadataOffset)
	}
	res, err := c.heartbeat(ctx, BrokerHeartbeat{
		BrokerID: req.BrokerID, BrokerEpoch: req.BrokerEpoch, MetadataOffset: offset, WantFence: req.WantFence, WantShutDown: req.WantShutdown,
	})
	if err != nil {
		resp.ErrorCode, _ = codeOf(err, "")
		return resp
	}
	resp.IsCaughtUp, resp.IsFenced, resp.ShouldShutdown = res.IsCaughtUp, res.IsFenced, res.ShouldShutDown
	return resp
}

// handleAlterPartition answers an AlterPartition. A stale broker epoch refuses the whole
// request (the top-level error, as in Kafka); each partition is then decided on its own, and
// checks the epoch again, since a registration may come in between.
func (c *Controller) handleAlterPartition(ctx context.Context, r kmsg.Request) kmsg.Response {
	req := r.(*kmsg.AlterPartitionRequest)
	resp := req.ResponseKind().(*kmsg.AlterPartitionResponse)
	if !c.isActive() {
		resp.ErrorCode = kerr.NotController.Code
		return resp
	}
	img := c.Image()
	if err := checkBrokerEpoch(img, req.BrokerID, req.BrokerEpoch); err != nil {
		resp.ErrorCode, _ = codeOf(err, "")
		return resp
	}
	for _, t := range req.Topics {
		rt := kmsg.NewAlterPartitionResponseTopic()
		rt.Topic, rt.TopidID = t.Topic, t.TopicID
		topic := t.Topic
		if req.Version >= 2 {
			topic = ""
			if tp, ok := img.TopicsByID[metadata.UUID(t.TopicID)]; ok {
				topic = tp.Name
			}
		}
		for _, p := range t.Partitions {
			rp := kmsg.NewAlterPartitionResponseTopicPartition()
			rp.Partition = p.Partition
			ar := alterPartitionRequest{
				brokerID: req.BrokerID, brokerEpoch: req.BrokerEpoch, topic: topic, partition: p.Partition,
				leaderEpoch: p.LeaderEpoch, partitionEpoch: p.PartitionEpoch, isr: slices.Clone(p.NewISR),
			}
			if req.Version >= 3 {
				ar.isr, ar.isrEpochs = nil, []int64{}
				for _, m := range p.NewEpochISR {
					ar.isr = append(ar.isr, m.BrokerID)
					ar.isrEpochs = append(ar.isrEpochs, m.BrokerEpoch)
				}
			}
			var got metadata.Partition
			var err error
			if topic == "" {
				err = kerr.UnknownTopicID
			} else {
				got, err = c.alterPartition(ctx, ar)
			}
			if err != nil {
				rp.ErrorCode, _ = codeOf(err, "")
			} else {
				rp.LeaderID, rp.LeaderEpoch, rp.ISR, rp.PartitionEpoch = got.Leader, got.LeaderEpoch, got.ISR, got.Epoch
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

func (c *Controller) handleElectLeaders(ctx context.Context, r kmsg.Request) kmsg.Response {
	req := r.(*kmsg.ElectLeadersRequest)
	resp := req.ResponseKind().(*kmsg.ElectLeadersResponse)
	var parts []TopicPartition
	if req.Topics != nil {
		parts = []TopicPartition{}
		for _, t := range req.Topics {
			for _, p := range t.Partitions {
				parts = append(parts, TopicPartition{t.Topic, p})
			}
		}
	}
	if !c.isActive() {
		resp.ErrorCode = kerr.NotController.Code
		return resp
	}
	idx := map[string]int{}
	for _, res := range c.electLeaders(ctx, ElectionType(req.ElectionType), parts) {
		i, ok := idx[res.Topic]
		if !ok {
			i = len(resp.Topics)
			idx[res.Topic] = i
			t := kmsg.NewElectLeadersResponseTopic()
			t.Topic = res.Topic
			resp.Topics = append(resp.Topics, t)
		}
		p := kmsg.NewElectLeadersResponseTopicPartition()
		p.Partition = res.Partition
		p.ErrorCode, p.ErrorMessage = codeOf(res.Err, res.Message)
		resp.Topics[i].Partitions = append(resp.Topics[i].Partitions, p)
	}
	return resp
}

// splitHostPort splits an address into host and port (0 when it does not parse).
func splitHostPort(addr string) (string, uint16) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	n, _ := strconv.ParseUint(port, 10, 16)
	return host, uint16(n)
}

// sortedInt32Keys returns m's keys in order.
func sortedInt32Keys[V any](m map[int32]V) []int32 {
	keys := make([]int32, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
