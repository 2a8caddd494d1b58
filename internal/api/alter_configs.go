package api

// AlterConfigs, versions 0-2.
//
//	v1: no change
//	v2: flexible
//
// The legacy way to change configs: the configs given for a resource replace all its dynamic
// configs (a key left out is deleted). Topics (resource type 2) and brokers (4: this broker's
// id, or "" for the cluster-wide default) are served. The controller validates and commits;
// the broker checks first that a broker resource names itself, as Kafka's ConfigAdminManager
// does.

import (
	"context"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/controller"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerAlterConfigs(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.AlterConfigs, MinVersion: 0, MaxVersion: 2, Handle: h.alterConfigs})
}

func (h *Handlers) alterConfigs(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.AlterConfigsRequest)
	resources := make([]controller.ConfigResource, len(req.Resources))
	for i, rr := range req.Resources {
		cr := controller.ConfigResource{Type: metadata.ConfigResourceType(rr.ResourceType), Name: rr.ResourceName}
		for _, c := range rr.Configs {
			cr.Changes = append(cr.Changes, controller.ConfigChange{Name: c.Name, Op: controller.ConfigSet, Value: c.Value})
		}
		resources[i] = cr
	}
	results := h.changeConfigs(ctx, r, resources, func(rs []controller.ConfigResource) []controller.ConfigResult {
		return h.Controller.AlterConfigs(ctx, rs, req.ValidateOnly)
	})
	if !req.ValidateOnly {
		h.syncReplicas()
	}
	resp := kmsg.NewPtrAlterConfigsResponse()
	for i, res := range results {
		rr := kmsg.NewAlterConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = req.Resources[i].ResourceType, req.Resources[i].ResourceName
		rr.ErrorCode, rr.ErrorMessage = resultError(res)
		resp.Resources = append(resp.Resources, rr)
	}
	return wire.Reply{Msg: resp}, nil
}

// changeConfigs checks what the receiving broker checks (a broker resource must be this
// broker or the cluster default), passes the other resources to alter, and returns one
// result per resource in order.
//
// Authorization, as Kafka: ALTER_CONFIGS on the topic (else TOPIC_AUTHORIZATION_FAILED) or on
// the cluster for a broker resource (else CLUSTER_AUTHORIZATION_FAILED).
func (h *Handlers) changeConfigs(ctx context.Context, req *wire.Request, resources []controller.ConfigResource,
	alter func([]controller.ConfigResource) []controller.ConfigResult) []controller.ConfigResult {
	results := make([]controller.ConfigResult, len(resources))
	var pass []controller.ConfigResource
	var at []int
	for i, r := range resources {
		results[i].Type, results[i].Name = r.Type, r.Name
		if err := h.configAuthorization(ctx, req, r.Type, r.Name, auth.OpAlterConfigs); err != nil {
			results[i].Err = err
			continue
		}
		if r.Type == metadata.ConfigResourceBroker && r.Name != "" {
			id, err := strconv.ParseInt(r.Name, 10, 32)
			switch {
			case err != nil:
				results[i].Err, results[i].Message = kerr.InvalidRequest, "Node id must be an integer, but it is: "+r.Name
				continue
			case int32(id) != h.NodeID:
				results[i].Err, results[i].Message = kerr.InvalidRequest,
					fmt.Sprintf("Unexpected broker id, expected %d, but received %s", h.NodeID, r.Name)
				continue
			}
		}
		pass = append(pass, r)
		at = append(at, i)
	}
	if len(pass) > 0 {
		for j, res := range alter(pass) {
			results[at[j]] = res
		}
	}
	return results
}

// configAuthorization checks op (ALTER_CONFIGS or DESCRIBE_CONFIGS) on a config resource: a
// topic's own ACLs, the cluster's for a broker resource. It returns the authorization error.
func (h *Handlers) configAuthorization(ctx context.Context, r *wire.Request, typ metadata.ConfigResourceType, name string, op int8) error {
	switch typ {
	case metadata.ConfigResourceTopic:
		if !h.allowedTopic(ctx, r, op, name) {
			return kerr.TopicAuthorizationFailed
		}
	case metadata.ConfigResourceBroker:
		if !h.allowedCluster(ctx, r, op) {
			return kerr.ClusterAuthorizationFailed
		}
	}
	return nil
}

// resultError is a result's error code and message for the response.
func resultError(res controller.ConfigResult) (int16, *string) {
	if res.Err == nil {
		return 0, nil
	}
	msg := res.Message
	if msg == "" {
		msg = res.Err.Error()
	}
	return errorCode(res.Err), &msg
}
