package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/metadata"
)

// ConfigOp is an IncrementalAlterConfigs operation; the values are Kafka's AlterConfigOp ids.
type ConfigOp int8

// The config operations.
const (
	ConfigSet      ConfigOp = 0
	ConfigDelete   ConfigOp = 1
	ConfigAppend   ConfigOp = 2 // add items to a list config (those not there yet)
	ConfigSubtract ConfigOp = 3 // remove items from a list config
)

// ConfigChange is one config to change. Value is nil only for ConfigDelete.
type ConfigChange struct {
	Name  string
	Op    ConfigOp
	Value *string
}

// ConfigResource names a topic or broker and the changes to its dynamic configs.
type ConfigResource struct {
	Type metadata.ConfigResourceType
	// Name is the topic, or the broker id in decimal, or "" for the cluster-wide broker
	// default.
	Name    string
	Changes []ConfigChange
}

// ConfigResult is the outcome for one ConfigResource.
type ConfigResult struct {
	Type    metadata.ConfigResourceType
	Name    string
	Err     error // nil or a *kerr.Error
	Message string
}

func (c *Controller) alterConfigs(ctx context.Context, resources []ConfigResource, validateOnly, incremental bool) []ConfigResult {
	var results []ConfigResult
	err := c.decide(ctx, func(img *metadata.Image) []metadata.Record {
		var recs []metadata.Record
		recs, results = c.planAlterConfigs(img, resources, incremental)
		if validateOnly {
			return nil
		}
		return recs
	})
	if results == nil {
		results = make([]ConfigResult, len(resources))
		for i, r := range resources {
			results[i].Type, results[i].Name = r.Type, r.Name
		}
	}
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

// planAlterConfigs decides an (incremental) AlterConfigs against img. The checks come in
// Kafka's order: duplicate resources, duplicate keys and null values (INVALID_REQUEST), the
// resource itself, then each config.
func (c *Controller) planAlterConfigs(img *metadata.Image, resources []ConfigResource, incremental bool) ([]metadata.Record, []ConfigResult) {
	type key struct {
		typ  metadata.ConfigResourceType
		name string
	}
	counts := map[key]int{}
	for _, r := range resources {
		counts[key{r.Type, r.Name}]++
	}
	results := make([]ConfigResult, len(resources))
	var recs []metadata.Record
	for i, r := range resources {
		res := &results[i]
		res.Type, res.Name = r.Type, r.Name
		if counts[key{r.Type, r.Name}] > 1 {
			res.Err, res.Message = kerr.InvalidRequest, "Each resource must appear at most once."
			continue
		}
		rrecs, err := c.planResourceConfigs(img, r, incremental)
		if err != nil {
			res.Err, res.Message = toKafka(err)
			continue
		}
		recs = append(recs, rrecs...)
	}
	return recs, results
}

// planResourceConfigs returns the ConfigRecords that make one resource's changes, only for
// keys whose value changes.
func (c *Controller) planResourceConfigs(img *metadata.Image, r ConfigResource, incremental bool) ([]metadata.Record, error) {
	seen := map[string]bool{}
	var nulls []string
	for _, ch := range r.Changes {
		if seen[ch.Name] {
			return nil, fail(kerr.InvalidRequest, "Error due to duplicate config keys")
		}
		seen[ch.Name] = true
		if ch.Value == nil && (ch.Op != ConfigDelete || !incremental) {
			nulls = append(nulls, ch.Name)
		}
		if ch.Op < ConfigSet || ch.Op > ConfigSubtract || (!incremental && ch.Op != ConfigSet) {
			return nil, fail(kerr.InvalidRequest, fmt.Sprintf("Unknown operations type %d", ch.Op))
		}
	}
	if len(nulls) > 0 {
		return nil, fail(kerr.InvalidRequest, "Null value not supported for : "+strings.Join(nulls, ", "))
	}

	var current map[string]string
	var validate func(name string, value *string) error
	var listDefault func(name string) (string, bool)
	switch r.Type {
	case metadata.ConfigResourceTopic:
		t, ok := img.Topics[r.Name]
		if !ok {
			return nil, fail(kerr.UnknownTopicOrPartition, fmt.Sprintf("Topic '%s' does not exist.", r.Name))
		}
		current = t.Configs
		validate = c.cfg.ValidateTopicConfig
		if validate == nil {
			validate = config.ValidateTopicConfig
		}
		listDefault = func(name string) (string, bool) {
			typ, _ := config.TopicConfigType(name)
			return config.TopicConfigDefault(name), typ == config.TypeList
		}
	case metadata.ConfigResourceBroker:
		if r.Name != "" {
			if id, err := strconv.ParseInt(r.Name, 10, 32); err != nil || id < 0 {
				return nil, fail(kerr.InvalidRequest, "Invalid broker name "+r.Name)
			}
		}
		current = img.BrokerConfigs[r.Name]
		validate = c.cfg.ValidateBrokerConfig
		if validate == nil {
			validate = config.ValidateDynamicBrokerConfig
		}
		listDefault = func(name string) (string, bool) {
			typ, _ := config.BrokerConfigType(name)
			return config.BrokerConfigDefault(name), typ == config.TypeList
		}
	default:
		return nil, fail(kerr.InvalidRequest, fmt.Sprintf("Unknown resource type %d", r.Type))
	}

	next := map[string]string{}
	if incremental {
		next = maps.Clone(current)
		if next == nil {
			next = map[string]string{}
		}
	}
	var checks []string // keys whose new value must be validated
	var deleted []string
	for _, ch := range r.Changes {
		switch ch.Op {
		case ConfigSet:
			next[ch.Name] = *ch.Value
			checks = append(checks, ch.Name)
		case ConfigDelete:
			delete(next, ch.Name)
			deleted = append(deleted, ch.Name)
		case ConfigAppend, ConfigSubtract:
			def, isList := listDefault(ch.Name)
			if !isList {
				verb := "append"
				if ch.Op == ConfigSubtract {
					verb = "subtract"
				}
				if err := validate(ch.Name, nil); err != nil && !errors.Is(err, config.ErrNotDynamic) {
					return nil, fail(kerr.InvalidConfig, err.Error())
				}
				return nil, fail(kerr.InvalidConfig, fmt.Sprintf("Config value %s is not allowed for config key: %s", verb, ch.Name))
			}
			old, ok := next[ch.Name]
			if !ok {
				old = def
			}
			next[ch.Name] = editList(old, *ch.Value, ch.Op == ConfigAppend)
			checks = append(checks, ch.Name)
		}
	}

	var notDynamic []string
	for _, name := range deleted {
		if err := validate(name, nil); err != nil && !errors.Is(err, config.ErrNotDynamic) {
			return nil, fail(kerr.InvalidConfig, err.Error())
		}
	}
	slices.Sort(checks)
	for _, name := range checks {
		v := next[name]
		err := validate(name, &v)
		switch {
		case errors.Is(err, config.ErrNotDynamic):
			notDynamic = append(notDynamic, name)
		case err != nil:
			return nil, fail(kerr.InvalidConfig, err.Error())
		}
	}
	if len(notDynamic) > 0 {
		return nil, fail(kerr.InvalidRequest, "Cannot update these configs dynamically: Set("+strings.Join(notDynamic, ", ")+")")
	}

	var recs []metadata.Record
	for _, name := range slices.Sorted(maps.Keys(current)) {
		if _, ok := next[name]; !ok {
			recs = append(recs, metadata.ConfigRecord{ResourceType: r.Type, ResourceName: r.Name, Name: name})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(next)) {
		v := next[name]
		if old, ok := current[name]; ok && old == v {
			continue
		}
		recs = append(recs, metadata.ConfigRecord{ResourceType: r.Type, ResourceName: r.Name, Name: name, Value: &v})
	}
	return recs, nil
}

// editList appends the items of change to the comma-separated list old (those not there
// yet), or removes them from it, keeping old's order.
func editList(old, change string, add bool) string {
	split := func(s string) []string {
		var out []string
		for _, it := range strings.Split(s, ",") {
			if it = strings.TrimSpace(it); it != "" {
				out = append(out, it)
			}
		}
		return out
	}
	items, edits := split(old), split(change)
	if add {
		for _, e := range edits {
			if !slices.Contains(items, e) {
				items = append(items, e)
			}
		}
	} else {
		items = slices.DeleteFunc(items, func(it string) bool { return slices.Contains(edits, it) })
	}
	return strings.Join(items, ",")
}
