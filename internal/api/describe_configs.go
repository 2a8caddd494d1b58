package api

// DescribeConfigs, versions 0-4.
//
//	v1: include_synonyms; config source replaces is_default
//	v2: no change
//	v3: include_documentation; config type
//	v4: flexible
//
// A topic lists every topic config Kafka knows, with the value this broker uses and its
// source: the topic's override (DYNAMIC_TOPIC_CONFIG), else the broker config that sets its
// default, dynamic for this broker, dynamic for the cluster, static, or built in. A broker
// (this broker's id) lists the broker configs Gregor knows plus any other key its
// server.properties set; the cluster default (resource "") lists its dynamic default configs.
// config_names filters; a name nobody knows is left out.

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/wire"
)

func (h *Handlers) registerDescribeConfigs(reg *wire.Registry) {
	reg.Register(wire.API{Key: kmsg.DescribeConfigs, MinVersion: 0, MaxVersion: 4, Handle: h.describeConfigs})
}

func (h *Handlers) describeConfigs(ctx context.Context, r *wire.Request) (wire.Reply, error) {
	req := r.Body.(*kmsg.DescribeConfigsRequest)
	img := h.Controller.Image()
	dyn := h.dynamicConfigs(img)
	resp := kmsg.NewPtrDescribeConfigsResponse()
	for _, rr := range req.Resources {
		res := kmsg.NewDescribeConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		var entries []config.Entry
		typ := metadata.ConfigResourceType(rr.ResourceType)
		if err := h.configAuthorization(ctx, r, typ, rr.ResourceName, auth.OpDescribeConfigs); err != nil {
			typ = -1 // answered below
			res.ErrorCode = errorCode(err)
		}
		switch typ {
		case -1:
		case metadata.ConfigResourceTopic:
			t := img.Topics[rr.ResourceName]
			if t == nil {
				res.ErrorCode = kerr.UnknownTopicOrPartition.Code
				res.ErrorMessage = kmsg.StringPtr(fmt.Sprintf("Topic %s does not exist.", rr.ResourceName))
				break
			}
			entries = h.Config.TopicEntries(t.Configs, dyn)
		case metadata.ConfigResourceBroker:
			if rr.ResourceName != "" && rr.ResourceName != strconv.Itoa(int(h.NodeID)) {
				res.ErrorCode = kerr.InvalidRequest.Code
				res.ErrorMessage = kmsg.StringPtr(fmt.Sprintf("Unexpected broker id, expected %d or empty string, but received %s", h.NodeID, rr.ResourceName))
				break
			}
			entries = h.Config.BrokerEntries(dyn, rr.ResourceName != "")
		default:
			res.ErrorCode = kerr.InvalidRequest.Code
			res.ErrorMessage = kmsg.StringPtr(fmt.Sprintf("Unsupported resource type %d", rr.ResourceType))
		}
		for _, e := range entries {
			if rr.ConfigNames != nil && !slices.Contains(rr.ConfigNames, e.Name) {
				continue
			}
			res.Configs = append(res.Configs, describedConfig(e, req))
		}
		resp.Resources = append(resp.Resources, res)
	}
	return wire.Reply{Msg: resp}, nil
}

// dynamicConfigs are the dynamic broker configs img holds for this broker.
func (h *Handlers) dynamicConfigs(img *metadata.Image) config.Dynamic {
	return config.Dynamic{
		Default: img.BrokerConfigs[""],
		Broker:  img.BrokerConfigs[strconv.Itoa(int(h.NodeID))],
	}
}

// describedConfig encodes one entry; kmsg leaves out what the request's version lacks.
func describedConfig(e config.Entry, req *kmsg.DescribeConfigsRequest) kmsg.DescribeConfigsResponseResourceConfig {
	c := kmsg.NewDescribeConfigsResponseResourceConfig()
	c.Name, c.Value = e.Name, e.Value
	c.Source = kmsg.ConfigSource(e.Source)
	c.IsDefault = e.IsDefault()
	c.ReadOnly, c.IsSensitive = e.ReadOnly, e.Sensitive
	c.ConfigType = kmsg.ConfigType(e.Type)
	if req.IncludeSynonyms {
		c.ConfigSynonyms = []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym{}
		for _, s := range e.Synonyms {
			syn := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
			syn.Name, syn.Value, syn.Source = s.Name, kmsg.StringPtr(s.Value), kmsg.ConfigSource(s.Source)
			c.ConfigSynonyms = append(c.ConfigSynonyms, syn)
		}
	}
	if req.IncludeDocumentation && e.Doc != "" {
		c.Documentation = kmsg.StringPtr(e.Doc)
	}
	return c
}
