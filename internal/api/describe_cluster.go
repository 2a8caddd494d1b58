package api

// DescribeCluster, versions 0-1.
//
//	v0: cluster id, controller id, brokers
//	v1: endpoint type (1 = brokers; 2 = controllers is refused with UNSUPPORTED_ENDPOINT_TYPE)

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerDescribeCluster(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.DescribeCluster, MinVersion: 0, MaxVersion: 1, Handle: h.describeCluster})
}

func (h *Handlers) describeCluster(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.DescribeClusterRequest)
	resp := kmsg.NewPtrDescribeClusterResponse()
	resp.EndpointType = 1
	if req.Version >= 1 && req.EndpointType != 1 {
		resp.ErrorCode = kerr.UnsupportedEndpointType.Code
		resp.EndpointType = req.EndpointType
		return wire.Reply{Msg: resp}, nil
	}
	img := h.Controller.Image()
	resp.ClusterID = img.ClusterID
	resp.ClusterAuthorizedOperations = h.clusterAuthorizedOperations(ctx, r, req.IncludeClusterAuthorizedOperations)
	resp.ControllerID = h.controllerID(img)
	for _, b := range h.brokers(ctx, img) {
		rb := kmsg.NewDescribeClusterResponseBroker()
		rb.NodeID, rb.Host, rb.Port, rb.Rack = b.NodeID, b.Host, b.Port, b.Rack
		resp.Brokers = append(resp.Brokers, rb)
	}
	return wire.Reply{Msg: resp}, nil
}
