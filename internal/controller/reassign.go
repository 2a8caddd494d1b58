package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/metadata"
)

// Partition reassignment (Kafka's AlterPartitionReassignments and
// ListPartitionReassignments, with KRaft's semantics, ReplicationControlManager and
// PartitionChangeBuilder):
//
//   - Starting one sets Replicas to the target followed by the replicas being removed,
//     AddingReplicas to target - original and RemovingReplicas to original - target; the ISR
//     and the leader stay. The brokers being added open the log and fetch from the leader.
//   - The leader's AlterPartition brings the added replicas into the ISR as they catch up. The
//     change that makes every target replica an ISR member also completes the reassignment:
//     Replicas becomes the target, the ISR loses the removed replicas, both lists are emptied,
//     and if the leader was removed the first target replica in the ISR and alive leads.
//   - A reassignment that adds nothing completes at once if the target is all in the ISR.
//   - A new reassignment of a partition being reassigned starts from the original replicas
//     (the running one is reverted first); cancelling (a null replica list) reverts to the
//     original replicas, dropping the added ones from the ISR.
//
// Brokers that are no longer replicas delete their logs when they apply the image (the
// replica manager keeps only the partitions that name it).

// Reassignment is a reassignment in progress, as ListPartitionReassignments shows it.
type Reassignment struct {
	TopicPartition
	Replicas, Adding, Removing []int32
}

// ReassignRequest asks to move one partition to Replicas; nil Replicas cancels.
type ReassignRequest struct {
	TopicPartition
	Replicas []int32
}

// ReassignResult is the outcome for one partition.
type ReassignResult struct {
	TopicPartition
	Err     error // nil or a *kerr.Error / *codedError
	Message string
}

// ListPartitionReassignments lists the reassignments in progress in this node's image, of the
// given partitions or of all when partitions is nil (unknown partitions are left out, as in
// Kafka). The image may lag the active controller's by the Raft commit latency.
func (c *Controller) ListPartitionReassignments(partitions []TopicPartition) []Reassignment {
	img := c.Image()
	var out []Reassignment
	add := func(name string, p *metadata.Partition) {
		if p.Reassigning() {
			out = append(out, Reassignment{TopicPartition{name, p.ID},
				slices.Clone(p.Replicas), slices.Clone(p.AddingReplicas), slices.Clone(p.RemovingReplicas)})
		}
	}
	if partitions == nil {
		for _, name := range img.TopicNames() {
			t := img.Topics[name]
			for i := range t.Partitions {
				add(name, &t.Partitions[i])
			}
		}
		return out
	}
	for _, tp := range partitions {
		if _, p, ok := img.Partition(tp.Topic, tp.Partition); ok {
			add(tp.Topic, p)
		}
	}
	return out
}

// AlterPartitionReassignments starts or cancels reassignments, one result per request in
// order; forwarded when this node is not the active controller. Errors, as Kafka's:
// UNKNOWN_TOPIC_OR_PARTITION, INVALID_REPLICA_ASSIGNMENT (empty, duplicate or unregistered
// replicas), NO_REASSIGNMENT_IN_PROGRESS (a cancel with none running).
func (c *Controller) AlterPartitionReassignments(ctx context.Context, reqs []ReassignRequest) []ReassignResult {
	if c.isActive() || !c.remote() {
		return c.alterPartitionReassignments(ctx, reqs)
	}
	res, err := c.forwardAlterPartitionReassignments(ctx, reqs)
	if errors.Is(err, errBecameActive) {
		return c.alterPartitionReassignments(ctx, reqs)
	}
	if err != nil {
		return reassignFailed(reqs, err)
	}
	return res
}

func reassignFailed(reqs []ReassignRequest, err error) []ReassignResult {
	code, msg := toKafka(err)
	out := make([]ReassignResult, len(reqs))
	for i, r := range reqs {
		out[i] = ReassignResult{r.TopicPartition, code, msg}
	}
	return out
}

func (c *Controller) alterPartitionReassignments(ctx context.Context, reqs []ReassignRequest) []ReassignResult {
	results := make([]ReassignResult, len(reqs))
	err := c.decide(ctx, func(img *metadata.Image) []metadata.Record {
		alive := c.aliveWithout(img)
		var recs []metadata.Record
		// Later requests for one partition see the earlier ones' effect.
		cur := img
		for i, r := range reqs {
			results[i] = ReassignResult{TopicPartition: r.TopicPartition}
			t, p, ok := cur.Partition(r.Topic, r.Partition)
			if !ok {
				results[i].Err = kerr.UnknownTopicOrPartition
				continue
			}
			ch, err := reassignPlan(cur, t, p, r.Replicas, alive)
			if err != nil {
				results[i].Err, results[i].Message = toKafka(err)
				continue
			}
			if ch == nil {
				continue
			}
			next, err := cur.Apply([]metadata.Record{*ch})
			if err != nil {
				results[i].Err, results[i].Message = kerr.UnknownServerError, err.Error()
				continue
			}
			cur = next
			recs = append(recs, *ch)
		}
		return recs
	})
	if err != nil {
		code, msg := toKafka(err)
		for i := range results {
			if results[i].Err == nil {
				results[i].Err, results[i].Message = code, msg
			}
		}
	}
	return results
}

// partitionState is a partition's replica placement and leadership while a change is built.
type partitionState struct {
	replicas, isr, adding, removing []int32
	leader                          int32
}

func stateOf(p *metadata.Partition) partitionState {
	return partitionState{replicas: p.Replicas, isr: p.ISR, adding: p.AddingReplicas, removing: p.RemovingReplicas, leader: p.Leader}
}

// reassignPlan returns the change that starts, replaces or (target nil) cancels a
// reassignment of p, nil when nothing changes.
func reassignPlan(img *metadata.Image, t *metadata.Topic, p *metadata.Partition, target []int32, alive aliveFunc) (*metadata.PartitionChangeRecord, error) {
	orig := p.OriginalReplicas()
	// Revert a running reassignment first: the new one (or the cancel) starts from the
	// original replicas.
	s := partitionState{replicas: orig, isr: without(p.ISR, p.AddingReplicas), leader: p.Leader}
	if target == nil {
		if !p.Reassigning() {
			return nil, fail(kerr.NoReassignmentInProgress, fmt.Sprintf("no reassignment of %s-%d is in progress", t.Name, p.ID))
		}
	} else {
		if len(target) == 0 {
			return nil, fail(kerr.InvalidReplicaAssignment, "the replica list is empty")
		}
		seen := map[int32]bool{}
		for _, id := range target {
			if seen[id] {
				return nil, fail(kerr.InvalidReplicaAssignment, fmt.Sprintf("broker %d is listed twice", id))
			}
			seen[id] = true
			if _, ok := img.Brokers[id]; !ok {
				return nil, fail(kerr.InvalidReplicaAssignment, fmt.Sprintf("the replica assignment includes broker %d, but no such broker is registered", id))
			}
		}
		removing := without(orig, target)
		s.replicas = append(slices.Clone(target), removing...)
		s.adding = without(target, orig)
		s.removing = removing
	}
	if len(s.isr) == 0 {
		// Every ISR member was being added: keep the leader, as the last member.
		s.isr = []int32{p.Leader}
		if p.Leader < 0 {
			s.isr = []int32{s.replicas[0]}
		}
		if !slices.Contains(s.replicas, s.isr[0]) {
			s.isr = []int32{s.replicas[0]}
		}
	}
	s = completeReassignment(s, alive)
	return changeFrom(t, p, s), nil
}

// completeReassignment finishes a reassignment whose target replicas are all in the ISR
// (Kafka's completeReassignmentIfNeeded) and re-elects the leader if it is no longer a
// replica in the ISR. Other states are returned as they are, but for that leader check.
func completeReassignment(s partitionState, alive aliveFunc) partitionState {
	if len(s.adding) > 0 || len(s.removing) > 0 {
		target := without(s.replicas, s.removing)
		done := true
		for _, id := range target {
			if !slices.Contains(s.isr, id) {
				done = false
				break
			}
		}
		if done {
			s.replicas, s.isr, s.adding, s.removing = target, intersect(s.isr, target), nil, nil
		}
	}
	if s.leader >= 0 && slices.Contains(s.isr, s.leader) && slices.Contains(s.replicas, s.leader) {
		return s
	}
	s.leader = -1
	for _, id := range s.replicas {
		if slices.Contains(s.isr, id) && alive(id) {
			s.leader = id
			break
		}
	}
	return s
}

// changeFrom is the record that takes p to s, nil when s is p.
func changeFrom(t *metadata.Topic, p *metadata.Partition, s partitionState) *metadata.PartitionChangeRecord {
	ch := &metadata.PartitionChangeRecord{TopicID: t.ID, Partition: p.ID}
	changed := false
	if !slices.Equal(s.replicas, p.Replicas) {
		ch.Replicas, changed = slices.Clone(s.replicas), true
	}
	if !slices.Equal(s.isr, p.ISR) {
		ch.ISR, changed = append([]int32{}, s.isr...), true
	}
	if !slices.Equal(s.adding, p.AddingReplicas) {
		ch.AddingReplicas, changed = append([]int32{}, s.adding...), true
	}
	if !slices.Equal(s.removing, p.RemovingReplicas) {
		ch.RemovingReplicas, changed = append([]int32{}, s.removing...), true
	}
	if s.leader != p.Leader {
		l := s.leader
		ch.Leader, changed = &l, true
	}
	if !changed {
		return nil
	}
	return ch
}

// without returns the members of a that are not in b, in a's order.
func without(a, b []int32) []int32 {
	var out []int32
	for _, id := range a {
		if !slices.Contains(b, id) {
			out = append(out, id)
		}
	}
	return out
}

// intersect returns the members of a that are in b, in a's order.
func intersect(a, b []int32) []int32 {
	var out []int32
	for _, id := range a {
		if slices.Contains(b, id) {
			out = append(out, id)
		}
	}
	return out
}

// forwardAlterPartitionReassignments sends reqs to the active controller.
func (c *Controller) forwardAlterPartitionReassignments(ctx context.Context, reqs []ReassignRequest) ([]ReassignResult, error) {
	req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	req.TimeoutMillis = 30000
	idx := map[string]int{}
	for _, r := range reqs {
		i, ok := idx[r.Topic]
		if !ok {
			i = len(req.Topics)
			idx[r.Topic] = i
			t := kmsg.NewAlterPartitionAssignmentsRequestTopic()
			t.Topic = r.Topic
			req.Topics = append(req.Topics, t)
		}
		p := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
		p.Partition, p.Replicas = r.Partition, r.Replicas
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, p)
	}
	resp, err := c.forward(ctx, req, func(r kmsg.Response) bool {
		return r.(*kmsg.AlterPartitionAssignmentsResponse).ErrorCode == kerr.NotController.Code
	})
	if err != nil {
		return nil, err
	}
	got := map[TopicPartition]ReassignResult{}
	ar := resp.(*kmsg.AlterPartitionAssignmentsResponse)
	for _, t := range ar.Topics {
		for _, p := range t.Partitions {
			tp := TopicPartition{t.Topic, p.Partition}
			got[tp] = ReassignResult{tp, kerr.ErrorForCode(p.ErrorCode), deref(p.ErrorMessage)}
		}
	}
	out := make([]ReassignResult, len(reqs))
	for i, r := range reqs {
		res, ok := got[r.TopicPartition]
		if !ok {
			res = ReassignResult{r.TopicPartition, kerr.ErrorForCode(ar.ErrorCode), deref(ar.ErrorMessage)}
		}
		out[i] = res
	}
	return out, nil
}

// handleAlterPartitionReassignments serves a forwarded AlterPartitionReassignments.
func (c *Controller) handleAlterPartitionReassignments(ctx context.Context, r kmsg.Request) kmsg.Response {
	req := r.(*kmsg.AlterPartitionAssignmentsRequest)
	resp := req.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
	if !c.isActive() {
		resp.ErrorCode = kerr.NotController.Code
		return resp
	}
	var reqs []ReassignRequest
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			reqs = append(reqs, ReassignRequest{TopicPartition{t.Topic, p.Partition}, p.Replicas})
		}
	}
	FillReassignResponse(resp, c.alterPartitionReassignments(ctx, reqs))
	return resp
}

// FillReassignResponse puts results into an AlterPartitionReassignments response, grouped by
// topic in the order they come.
func FillReassignResponse(resp *kmsg.AlterPartitionAssignmentsResponse, results []ReassignResult) {
	idx := map[string]int{}
	for _, res := range results {
		i, ok := idx[res.Topic]
		if !ok {
			i = len(resp.Topics)
			idx[res.Topic] = i
			t := kmsg.NewAlterPartitionAssignmentsResponseTopic()
			t.Topic = res.Topic
			resp.Topics = append(resp.Topics, t)
		}
		p := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
		p.Partition = res.Partition
		p.ErrorCode, p.ErrorMessage = codeOf(res.Err, res.Message)
		resp.Topics[i].Partitions = append(resp.Topics[i].Partitions, p)
	}
}
