package api

// DescribeConfigs, versions 0-4.
//
//	v1: include_synonyms; config source replaces is_default
//	v2: no change
//	v3: include_documentation; config type
//	v4: flexible
//
// Topics answer with their overrides (source DYNAMIC_TOPIC_CONFIG); brokers with the keys set
// in their server.properties or overrides (STATIC_BROKER_CONFIG). Defaults are not listed yet.

import (
	"context"
	"sort"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/wire"
)

// Kafka's config resource types and config sources.
const (
	resourceTopic  = 2
	resourceBroker = 4

	sourceDynamicTopic = 1
	sourceStaticBroker = 4
)

func (h *Handlers) registerDescribeConfigs(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.DescribeConfigs, MinVersion: 0, MaxVersion: 4, Handle: h.describeConfigs})
}

func (h *Handlers) describeConfigs(_ context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.DescribeConfigsRequest)
	img := h.Controller.Image()
	resp := kmsg.NewPtrDescribeConfigsResponse()
	for _, rr := range req.Resources {
		res := kmsg.NewDescribeConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		var values map[string]string
		var source kmsg.ConfigSource
		switch rr.ResourceType {
		case resourceTopic:
			t := img.Topics[rr.ResourceName]
			if t == nil {
				res.ErrorCode = kerr.UnknownTopicOrPartition.Code
				break
			}
			values, source = t.Configs, sourceDynamicTopic
		case resourceBroker:
			if rr.ResourceName != "" && rr.ResourceName != strconv.Itoa(int(h.NodeID)) {
				res.ErrorCode = kerr.InvalidRequest.Code
				break
			}
			values, source = h.Config.Raw, sourceStaticBroker
		default:
			res.ErrorCode = kerr.InvalidRequest.Code
		}
		for _, name := range selectedConfigs(values, rr.ConfigNames) {
			c := kmsg.NewDescribeConfigsResponseResourceConfig()
			v := values[name]
			c.Name, c.Value, c.Source = name, &v, source
			c.ReadOnly = rr.ResourceType == resourceBroker
			res.Configs = append(res.Configs, c)
		}
		resp.Resources = append(resp.Resources, res)
	}
	return wire.Reply{Msg: resp}, nil
}

// selectedConfigs returns the names asked for that are set (all when names is nil), sorted.
func selectedConfigs(values map[string]string, names []string) []string {
	var out []string
	for name := range values {
		if names == nil || contains(names, name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
