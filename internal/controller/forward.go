package controller

// Forwarding. Every public method of Controller that commits records works on any node: on the
// active controller it decides; elsewhere it sends the request itself, as the Kafka message it
// is (kmsg: CreateTopics, DeleteTopics, CreatePartitions, AlterConfigs,
// IncrementalAlterConfigs, AllocateProducerIds, BrokerRegistration, BrokerHeartbeat,
// AlterPartition, ElectLeaders, AlterPartitionReassignments), to the active controller's controller listener, and retries
// NOT_CONTROLLER with a backoff while an election runs. The request itself rather than
// Kafka's Envelope: the sender is a trusted node, not a client whose principal must travel with
// the request, so the envelope would add nothing.
//
// The conversions go both ways here: to kmsg and back on the sending side (forwardX), from kmsg
// and back on the receiving side (the handlers in rpc.go).

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/metadata"
)

// errBecameActive tells a forwarding caller that this node became the active controller while
// it was looking for one: decide locally.
var errBecameActive = errors.New("this node is the active controller")

func raftAddress(s string) raft.ServerAddress { return raft.ServerAddress(s) }

// remote reports whether another node can be the active controller, so that a request made
// here while this node is not active should be forwarded rather than refused.
func (c *Controller) remote() bool {
	return !c.voter || len(c.cfg.Voters) > 1 || len(c.cfg.BootstrapServers) > 0
}

// controllerAddrs lists where to look for the active controller: the Raft leader first, then
// the voters and the bootstrap servers.
func (c *Controller) controllerAddrs() []string {
	var addrs []string
	seen := map[string]bool{}
	add := func(a string) {
		if a != "" && !seen[a] && a != string(c.trans.LocalAddr()) {
			seen[a] = true
			addrs = append(addrs, a)
		}
	}
	addr, _ := c.raft.LeaderWithID()
	add(string(addr))
	for _, v := range c.cfg.Voters {
		add(v.Addr)
	}
	for _, a := range c.cfg.BootstrapServers {
		add(a)
	}
	return addrs
}

// forward sends req to the active controller and returns its response. notController tells
// whether a response is NOT_CONTROLLER (then the next candidate is tried). It returns
// errBecameActive when this node became the active controller meanwhile, or the context's error.
func (c *Controller) forward(ctx context.Context, req kmsg.Request, notController func(kmsg.Response) bool) (kmsg.Response, error) {
	backoff := 20 * time.Millisecond
	// authErr is the last refusal of this node's credentials by a controller listener: logged
	// once, and told when ctx ends, since retrying will not mend it.
	var authErr error
	ended := func() error {
		if authErr != nil {
			return fmt.Errorf("%w; %v", ctx.Err(), authErr)
		}
		return ctx.Err()
	}
	for {
		if c.isActive() {
			return nil, errBecameActive
		}
		for _, addr := range c.controllerAddrs() {
			resp, err := c.callCandidate(ctx, addr, req)
			if err == nil && !notController(resp) {
				return resp, nil
			}
			if errors.Is(err, errPeerAuthentication) {
				if authErr == nil {
					c.log.Warn("a controller listener refused this node", "addr", addr, "err", err)
				}
				authErr = err
			}
			if ctx.Err() != nil {
				return nil, ended()
			}
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return nil, ended()
		case <-c.done:
			return nil, &codedError{kerr.NotController, "controller is shut down"}
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

// leaderWatchInterval is how often callCandidate looks at who leads Raft while a call waits.
const leaderWatchInterval = 50 * time.Millisecond

// callCandidate sends req to addr, one candidate of forward, and gives up on it (an error,
// ctx untouched, so that forward tries the next candidate) once Raft shows a leader change
// that does not lead to addr: the Raft leader is no longer the node called, or a leader is
// known now where none was. A candidate that cannot answer (a paused or partitioned former
// controller: its connection stays open, its answer never comes) would otherwise hold the
// request, and what waits on it (an ISR change), for the whole of ctx; Kafka's brokers drop
// their connection to a former controller likewise.
func (c *Controller) callCandidate(ctx context.Context, addr string, req kmsg.Request) (kmsg.Response, error) {
	leaderAt := func() string {
		a, _ := c.raft.LeaderWithID()
		return string(a)
	}
	start := leaderAt()
	callCtx, cancel := context.WithCancel(ctx)
	defer cancel() // also ends the watch below
	go func() {
		t := time.NewTicker(leaderWatchInterval)
		defer t.Stop()
		for {
			select {
			case <-callCtx.Done():
				return
			case <-t.C:
				if now := leaderAt(); now != start && now != addr {
					cancel()
					return
				}
			}
		}
	}()
	return c.client.call(callCtx, addr, req)
}

// allNotController reports whether every code is NOT_CONTROLLER (and there is at least one).
func allNotController(codes ...int16) bool {
	for _, code := range codes {
		if code != kerr.NotController.Code {
			return false
		}
	}
	return len(codes) > 0
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// codeOf returns the Kafka code of a result error (0 for nil) and its message.
func codeOf(err error, msg string) (int16, *string) {
	if err == nil {
		return 0, nil
	}
	code, m := toKafka(err)
	if msg == "" {
		msg = m
	}
	return code.Code, strPtr(msg)
}

// CreateTopics creates topics, as Kafka's CreateTopics does, and returns one result per spec
// in order (see createTopics); forwarded when this node is not the active controller.
func (c *Controller) CreateTopics(ctx context.Context, specs []TopicSpec, validateOnly bool) []TopicResult {
	if c.isActive() || !c.remote() {
		return c.createTopics(ctx, specs, validateOnly)
	}
	req := createTopicsRequest(specs, validateOnly)
	resp, err := c.forward(ctx, req, func(r kmsg.Response) bool {
		var codes []int16
		for _, t := range r.(*kmsg.CreateTopicsResponse).Topics {
			codes = append(codes, t.ErrorCode)
		}
		return allNotController(codes...)
	})
	if errors.Is(err, errBecameActive) {
		return c.createTopics(ctx, specs, validateOnly)
	}
	results := make([]TopicResult, len(specs))
	for i, s := range specs {
		results[i].Name = s.Name
		if err != nil {
			code, msg := toKafka(err)
			results[i].Err, results[i].Message = code, msg
			continue
		}
		ts := resp.(*kmsg.CreateTopicsResponse).Topics
		if i >= len(ts) {
			results[i].Err = kerr.UnknownServerError
			continue
		}
		t := ts[i]
		results[i] = TopicResult{
			Name: t.Topic, ID: metadata.UUID(t.TopicID), Err: kerr.ErrorForCode(t.ErrorCode), Message: deref(t.ErrorMessage),
			NumPartitions: t.NumPartitions, ReplicationFactor: t.ReplicationFactor,
		}
	}
	return results
}

func createTopicsRequest(specs []TopicSpec, validateOnly bool) *kmsg.CreateTopicsRequest {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.ValidateOnly = validateOnly
	for _, s := range specs {
		t := kmsg.NewCreateTopicsRequestTopic()
		t.Topic, t.NumPartitions, t.ReplicationFactor = s.Name, s.NumPartitions, s.ReplicationFactor
		for _, p := range sortedInt32Keys(s.Assignments) {
			a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
			a.Partition, a.Replicas = p, s.Assignments[p]
			t.ReplicaAssignment = append(t.ReplicaAssignment, a)
		}
		for _, k := range sortedKeys(s.Configs) {
			cf := kmsg.NewCreateTopicsRequestTopicConfig()
			cf.Name, cf.Value = k, s.Configs[k]
			t.Configs = append(t.Configs, cf)
		}
		req.Topics = append(req.Topics, t)
	}
	return req
}

// DeleteTopics deletes topics by name and by id (see deleteTopics); forwarded when this node is
// not the active controller.
func (c *Controller) DeleteTopics(ctx context.Context, names []string, ids []metadata.UUID) []DeleteResult {
	if c.isActive() || !c.remote() {
		return c.deleteTopics(ctx, names, ids)
	}
	req := kmsg.NewPtrDeleteTopicsRequest()
	for _, n := range names {
		t := kmsg.NewDeleteTopicsRequestTopic()
		t.Topic = &n
		req.Topics = append(req.Topics, t)
	}
	for _, id := range ids {
		t := kmsg.NewDeleteTopicsRequestTopic()
		t.TopicID = id
		req.Topics = append(req.Topics, t)
	}
	resp, err := c.forward(ctx, req, func(r kmsg.Response) bool {
		var codes []int16
		for _, t := range r.(*kmsg.DeleteTopicsResponse).Topics {
			codes = append(codes, t.ErrorCode)
		}
		return allNotController(codes...)
	})
	if errors.Is(err, errBecameActive) {
		return c.deleteTopics(ctx, names, ids)
	}
	var results []DeleteResult
	for i := range len(names) + len(ids) {
		var r DeleteResult
		if i < len(names) {
			r.Name = names[i]
		} else {
			r.ID = ids[i-len(names)]
		}
		switch {
		case err != nil:
			code, msg := toKafka(err)
			r.Err, r.Message = code, msg
		case i >= len(resp.(*kmsg.DeleteTopicsResponse).Topics):
			r.Err = kerr.UnknownServerError
		default:
			t := resp.(*kmsg.DeleteTopicsResponse).Topics[i]
			r.Name, r.ID = deref(t.Topic), metadata.UUID(t.TopicID)
			r.Err, r.Message = kerr.ErrorForCode(t.ErrorCode), deref(t.ErrorMessage)
		}
		results = append(results, r)
	}
	return results
}

// CreatePartitions adds partitions to existing topics (see createPartitions); forwarded when
// this node is not the active controller.
func (c *Controller) CreatePartitions(ctx context.Context, specs []PartitionsSpec, validateOnly bool) []PartitionsResult {
	if c.isActive() || !c.remote() {
		return c.createPartitions(ctx, specs, validateOnly)
	}
	req := kmsg.NewPtrCreatePartitionsRequest()
	req.ValidateOnly = validateOnly
	for _, s := range specs {
		t := kmsg.NewCreatePartitionsRequestTopic()
		t.Topic, t.Count = s.Topic, s.Count
		if s.Assignments != nil {
			t.Assignment = []kmsg.CreatePartitionsRequestTopicAssignment{}
		}
		for _, r := range s.Assignments {
			a := kmsg.NewCreatePartitionsRequestTopicAssignment()
			a.Replicas = r
			t.Assignment = append(t.Assignment, a)
		}
		req.Topics = append(req.Topics, t)
	}
	resp, err := c.forward(ctx, req, func(r kmsg.Response) bool {
		var codes []int16
		for _, t := range r.(*kmsg.CreatePartitionsResponse).Topics {
			codes = append(codes, t.ErrorCode)
		}
		return allNotController(codes...)
	})
	if errors.Is(err, errBecameActive) {
		return c.createPartitions(ctx, specs, validateOnly)
	}
	results := make([]PartitionsResult, len(specs))
	for i, s := range specs {
		results[i].Topic = s.Topic
		switch {
		case err != nil:
			code, msg := toKafka(err)
			results[i].Err, results[i].Message = code, msg
		case i >= len(resp.(*kmsg.CreatePartitionsResponse).Topics):
			results[i].Err = kerr.UnknownServerError
		default:
			t := resp.(*kmsg.CreatePartitionsResponse).Topics[i]
			results[i].Err, results[i].Message = kerr.ErrorForCode(t.ErrorCode), deref(t.ErrorMessage)
		}
	}
	return results
}

// AlterConfigs replaces the dynamic configs of each resource (Kafka's legacy AlterConfigs: a
// key not given is deleted), one result per resource in order; the resources that pass
// validation change together, in one Raft entry. Forwarded when this node is not the active
// controller.
func (c *Controller) AlterConfigs(ctx context.Context, resources []ConfigResource, validateOnly bool) []ConfigResult {
	if c.isActive() || !c.remote() {
		return c.alterConfigs(ctx, resources, validateOnly, false)
	}
	req := kmsg.NewPtrAlterConfigsRequest()
	req.ValidateOnly = validateOnly
	for _, r := range resources {
		rr := kmsg.NewAlterConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceType(r.Type), r.Name
		for _, ch := range r.Changes {
			cf := kmsg.NewAlterConfigsRequestResourceConfig()
			cf.Name, cf.Value = ch.Name, ch.Value
			rr.Configs = append(rr.Configs, cf)
		}
		req.Resources = append(req.Resources, rr)
	}
	resp, err := c.forward(ctx, req, func(r kmsg.Response) bool {
		var codes []int16
		for _, rr := range r.(*kmsg.AlterConfigsResponse).Resources {
			codes = append(codes, rr.ErrorCode)
		}
		return allNotController(codes...)
	})
	if errors.Is(err, errBecameActive) {
		return c.alterConfigs(ctx, resources, validateOnly, false)
	}
	return configResults(resources, err, func(i int) (int16, *string, bool) {
		rs := resp.(*kmsg.AlterConfigsResponse).Resources
		if i >= len(rs) {
			return 0, nil, false
		}
		return rs[i].ErrorCode, rs[i].ErrorMessage, true
	})
}

// IncrementalAlterConfigs applies SET, DELETE, APPEND and SUBTRACT operations to the dynamic
// configs of each resource, one result per resource in order. Forwarded when this node is not
// the active controller.
func (c *Controller) IncrementalAlterConfigs(ctx context.Context, resources []ConfigResource, validateOnly bool) []ConfigResult {
	if c.isActive() || !c.remote() {
		return c.alterConfigs(ctx, resources, validateOnly, true)
	}
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	req.ValidateOnly = validateOnly
	for _, r := range resources {
		rr := kmsg.NewIncrementalAlterConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceType(r.Type), r.Name
		for _, ch := range r.Changes {
			cf := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
			cf.Name, cf.Op, cf.Value = ch.Name, kmsg.IncrementalAlterConfigOp(ch.Op), ch.Value
			rr.Configs = append(rr.Configs, cf)
		}
		req.Resources = append(req.Resources, rr)
	}
	resp, err := c.forward(ctx, req, func(r kmsg.Response) bool {
		var codes []int16
		for _, rr := range r.(*kmsg.IncrementalAlterConfigsResponse).Resources {
			codes = append(codes, rr.ErrorCode)
		}
		return allNotController(codes...)
	})
	if errors.Is(err, errBecameActive) {
		return c.alterConfigs(ctx, resources, validateOnly, true)
	}
	return configResults(resources, err, func(i int) (int16, *string, bool) {
		rs := resp.(*kmsg.IncrementalAlterConfigsResponse).Resources
		if i >= len(rs) {
			return 0, nil, false
		}
		return rs[i].ErrorCode, rs[i].ErrorMessage, true
	})
}

func configResults(resources []ConfigResource, err error, at func(int) (int16, *string, bool)) []ConfigResult {
	results := make([]ConfigResult, len(resources))
	for i, r := range resources {
		results[i].Type, results[i].Name = r.Type, r.Name
		if err != nil {
			code, msg := toKafka(err)
			results[i].Err, results[i].Message = code, msg
			continue
		}
		code, msg, ok := at(i)
		if !ok {
			results[i].Err = kerr.UnknownServerError
			continue
		}
		results[i].Err, results[i].Message = kerr.ErrorForCode(code), deref(msg)
	}
	return results
}

// AllocateProducerIds gives brokerID the next block of producer ids (see
// allocateProducerIds); forwarded when this node is not the active controller.
func (c *Controller) AllocateProducerIds(ctx context.Context, brokerID int32) (ProducerIDBlock, error) {
	if c.isActive() || !c.remote() {
		return c.allocateProducerIds(ctx, brokerID)
	}
	req := kmsg.NewPtrAllocateProducerIDsRequest()
	req.BrokerID = brokerID
	resp, err := c.forward(ctx, req, func(r kmsg.Response) bool {
		return r.(*kmsg.AllocateProducerIDsResponse).ErrorCode == kerr.NotController.Code
	})
	if errors.Is(err, errBecameActive) {
		return c.allocateProducerIds(ctx, brokerID)
	}
	if err != nil {
		return ProducerIDBlock{}, err
	}
	r := resp.(*kmsg.AllocateProducerIDsResponse)
	if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
		return ProducerIDBlock{}, err
	}
	return ProducerIDBlock{BrokerID: brokerID, Start: r.ProducerIDStart, Size: int64(r.ProducerIDLen)}, nil
}

// raftListenerName names, in a forwarded BrokerRegistration, the listener that carries a
// broker-only node's Raft address; it is not recorded as an endpoint.
const raftListenerName = "__RAFT"

// forwardRegisterBroker sends a BrokerRegistration. As in Kafka, a broker registered this way
// is fenced until its heartbeats unfence it, whatever b.Fenced says. It returns the broker's
// epoch. previousEpoch is as in registerBroker.
func (c *Controller) forwardRegisterBroker(ctx context.Context, b metadata.Broker, previousEpoch int64) (int64, error) {
	req := kmsg.NewPtrBrokerRegistrationRequest()
	req.SetVersion(3) // PreviousBrokerEpoch
	req.PreviousBrokerEpoch = previousEpoch
	req.BrokerID = b.ID
	req.ClusterID = c.Image().ClusterID
	req.IncarnationID = b.IncarnationID
	if b.Rack != "" {
		req.Rack = &b.Rack
	}
	for _, e := range b.Endpoints {
		l := kmsg.NewBrokerRegistrationRequestListener()
		l.Name, l.Host, l.Port = e.Name, e.Host, uint16(e.Port)
		req.Listeners = append(req.Listeners, l)
	}
	if !c.voter && b.ID == c.cfg.NodeID {
		host, port := splitHostPort(string(c.trans.LocalAddr()))
		l := kmsg.NewBrokerRegistrationRequestListener()
		l.Name, l.Host, l.Port = raftListenerName, host, port
		req.Listeners = append(req.Listeners, l)
	}
	resp, err := c.forward(ctx, req, func(r kmsg.Response) bool {
		return r.(*kmsg.BrokerRegistrationResponse).ErrorCode == kerr.NotController.Code
	})
	if errors.Is(err, errBecameActive) {
		b.Fenced = true
		return c.registerBroker(ctx, b, "", previousEpoch)
	}
	if err != nil {
		return 0, err
	}
	r := resp.(*kmsg.BrokerRegistrationResponse)
	if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
		return 0, err
	}
	return r.BrokerEpoch, nil
}

func (c *Controller) forwardHeartbeat(ctx context.Context, hb BrokerHeartbeat) (HeartbeatResult, error) {
	req := kmsg.NewPtrBrokerHeartbeatRequest()
	req.BrokerID, req.BrokerEpoch = hb.BrokerID, hb.BrokerEpoch
	req.CurrentMetadataOffset = int64(hb.MetadataOffset)
	req.WantFence, req.WantShutdown = hb.WantFence, hb.WantShutDown
	resp, err := c.forward(ctx, req, func(r kmsg.Response) bool {
		return r.(*kmsg.BrokerHeartbeatResponse).ErrorCode == kerr.NotController.Code
	})
	if errors.Is(err, errBecameActive) {
		return c.heartbeat(ctx, hb)
	}
	if err != nil {
		return HeartbeatResult{}, err
	}
	r := resp.(*kmsg.BrokerHeartbeatResponse)
	if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
		return HeartbeatResult{}, err
	}
	return HeartbeatResult{IsCaughtUp: r.IsCaughtUp, IsFenced: r.IsFenced, ShouldShutDown: r.ShouldShutdown}, nil
}

// forwardAlterPartition sends an AlterPartition: version 1 (topic names) unless the ISR's
// broker epochs are known, which only version 3 (topic ids) carries.
func (c *Controller) forwardAlterPartition(ctx context.Context, ar alterPartitionRequest) (metadata.Partition, error) {
	topic, partition := ar.topic, ar.partition
	req := kmsg.NewPtrAlterPartitionRequest()
	req.SetVersion(1)
	req.BrokerID, req.BrokerEpoch = ar.brokerID, ar.brokerEpoch
	t := kmsg.NewAlterPartitionRequestTopic()
	t.Topic = topic
	p := kmsg.NewAlterPartitionRequestTopicPartition()
	p.Partition, p.LeaderEpoch, p.PartitionEpoch, p.NewISR = partition, ar.leaderEpoch, ar.partitionEpoch, ar.isr
	if tp, ok := c.Image().Topics[topic]; ok && ar.isrEpochs != nil {
		req.SetVersion(3)
		t.TopicID, p.NewISR = tp.ID, nil
		for i, id := range ar.isr {
			m := kmsg.NewAlterPartitionRequestTopicPartitionNewEpochISR()
			m.BrokerID, m.BrokerEpoch = id, ar.isrEpochs[i]
			p.NewEpochISR = append(p.NewEpochISR, m)
		}
	}
	t.Partitions = append(t.Partitions, p)
	req.Topics = append(req.Topics, t)
	partCode := func(r kmsg.Response) (kmsg.AlterPartitionResponseTopicPartition, int16) {
		ar := r.(*kmsg.AlterPartitionResponse)
		if ar.ErrorCode != 0 {
			return kmsg.AlterPartitionResponseTopicPartition{}, ar.ErrorCode
		}
		if len(ar.Topics) != 1 || len(ar.Topics[0].Partitions) != 1 {
			return kmsg.AlterPartitionResponseTopicPartition{}, kerr.UnknownServerError.Code
		}
		rp := ar.Topics[0].Partitions[0]
		return rp, rp.ErrorCode
	}
	resp, err := c.forward(ctx, req, func(r kmsg.Response) bool {
		_, code := partCode(r)
		return code == kerr.NotController.Code
	})
	if errors.Is(err, errBecameActive) {
		return c.alterPartition(ctx, ar)
	}
	if err != nil {
		return metadata.Partition{}, err
	}
	rp, code := partCode(resp)
	if err := kerr.ErrorForCode(code); err != nil {
		return metadata.Partition{}, err
	}
	// The replicas are not in the response; the committed partition is in the image once this
	// node has applied the change, and the rest comes from the response.
	out := metadata.Partition{ID: partition, ISR: rp.ISR, Leader: rp.LeaderID, LeaderEpoch: rp.LeaderEpoch, Epoch: rp.PartitionEpoch}
	if _, cur, ok := c.Image().Partition(topic, partition); ok {
		out.Replicas = cur.Replicas
	}
	return out, nil
}

func (c *Controller) forwardElectLeaders(ctx context.Context, typ ElectionType, partitions []TopicPartition) []ElectResult {
	req := kmsg.NewPtrElectLeadersRequest()
	req.ElectionType = int8(typ)
	if partitions != nil {
		req.Topics = []kmsg.ElectLeadersRequestTopic{}
		idx := map[string]int{}
		for _, tp := range partitions {
			i, ok := idx[tp.Topic]
			if !ok {
				i = len(req.Topics)
				idx[tp.Topic] = i
				t := kmsg.NewElectLeadersRequestTopic()
				t.Topic = tp.Topic
				req.Topics = append(req.Topics, t)
			}
			req.Topics[i].Partitions = append(req.Topics[i].Partitions, tp.Partition)
		}
	}
	resp, err := c.forward(ctx, req, func(r kmsg.Response) bool {
		return r.(*kmsg.ElectLeadersResponse).ErrorCode == kerr.NotController.Code
	})
	if errors.Is(err, errBecameActive) {
		return c.electLeaders(ctx, typ, partitions)
	}
	var results []ElectResult
	if err != nil {
		code, msg := toKafka(err)
		for _, tp := range partitions {
			results = append(results, ElectResult{tp, code, msg})
		}
		return results
	}
	for _, t := range resp.(*kmsg.ElectLeadersResponse).Topics {
		for _, p := range t.Partitions {
			results = append(results, ElectResult{TopicPartition{t.Topic, p.Partition}, kerr.ErrorForCode(p.ErrorCode), deref(p.ErrorMessage)})
		}
	}
	return results
}
