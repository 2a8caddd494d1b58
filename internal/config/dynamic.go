package config

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Dynamic configs. Besides server.properties (static), a broker's configs may be set at
// runtime through AlterConfigs and IncrementalAlterConfigs, stored in the metadata log, at
// two levels: the cluster-wide default (broker resource "") and one broker (resource "<id>").
// The value a broker uses is, highest precedence first: its own dynamic config, the dynamic
// cluster default, the static config, the default (Kafka's DynamicBrokerConfig). Topic
// configs take their defaults from the broker configs so resolved, under their own overrides.

// Dynamic holds the dynamic broker configs that apply to one broker.
type Dynamic struct {
	Default map[string]string // the cluster-wide default, resource ""
	Broker  map[string]string // this broker's own, resource "<node.id>"
}

// ErrNotDynamic is wrapped by ValidateDynamicBrokerConfig for a broker config that cannot
// change at runtime.
var ErrNotDynamic = errors.New("config cannot be updated dynamically")

// WithDynamic returns b with the dynamic configs dyn applied over its static ones, with
// Kafka's precedence. Only dynamic keys (ValidateDynamicBrokerConfig) are applied; others are
// ignored, as Kafka ignores non-dynamic keys found in the metadata. A dynamic key replaces its
// static synonyms (a dynamic log.retention.ms wins over a static log.retention.hours). The
// result is validated as a whole; on error b is returned unchanged with the error.
func (b Broker) WithDynamic(dyn Dynamic) (Broker, error) {
	if len(dyn.Default) == 0 && len(dyn.Broker) == 0 {
		return b, nil
	}
	// props is what Kafka's KafkaConfig would be built from: static, then the dynamic
	// default, then the broker's own, each key removing its synonyms first.
	props := maps.Clone(b.Raw)
	if props == nil {
		props = map[string]string{}
	}
	applied := map[string]string{}
	for _, level := range []map[string]string{dyn.Default, dyn.Broker} {
		for k, v := range level {
			if d, ok := brokerDefs[k]; !ok || !d.dynamic {
				continue
			}
			for _, syn := range brokerSynonyms(k) {
				delete(props, syn)
				delete(applied, syn)
			}
			props[k] = v
			applied[k] = v
		}
	}
	l := &loader{b: b, props: props}
	l.b.Raw = props
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(applied)) {
		if set, ok := brokerKeys[k]; ok {
			if err := set(l, applied[k]); err != nil {
				errs = append(errs, fmt.Errorf("config: %s: %w", k, err))
			}
		}
	}
	if l.b.LogRetentionMs < 0 {
		l.b.LogRetentionMs = -1
	}
	if err := errors.Join(errs...); err != nil {
		return b, err
	}
	if err := l.b.Validate(); err != nil {
		return b, err
	}
	return l.b, nil
}

// ValidateDynamicBrokerConfig checks one broker config as AlterConfigs and
// IncrementalAlterConfigs set it (a nil value deletes it, and is valid for any known name).
// An unknown name or a bad value is an error naming the key; a config that cannot change at
// runtime is an error wrapping ErrNotDynamic.
func ValidateDynamicBrokerConfig(name string, value *string) error {
	d, ok := brokerDefs[name]
	if !ok {
		if knownBrokerKey(name) {
			return fmt.Errorf("%w: %s", ErrNotDynamic, name)
		}
		return fmt.Errorf("config: unknown broker config %q", name)
	}
	if value == nil {
		return nil
	}
	if !d.dynamic {
		return fmt.Errorf("%w: %s", ErrNotDynamic, name)
	}
	if d.check != nil {
		if err := d.check(*value); err != nil {
			return fmt.Errorf("config: %s: %w", name, err)
		}
		return nil
	}
	// An implemented key: its setter parses it, and Validate checks its range on top of the
	// defaults.
	l := &loader{b: Default(), props: map[string]string{name: *value}}
	if err := brokerKeys[name](l, *value); err != nil {
		return fmt.Errorf("config: %s: %w", name, err)
	}
	if l.b.LogRetentionMs < 0 {
		l.b.LogRetentionMs = -1
	}
	return l.b.Validate()
}

// TopicConfigType returns a topic config's type, if Kafka knows the config.
func TopicConfigType(name string) (Type, bool) {
	d, ok := topicDefs[name]
	return d.typ, ok
}

// BrokerConfigType returns a broker config's type, if Gregor knows the config.
func BrokerConfigType(name string) (Type, bool) {
	d, ok := brokerDefs[name]
	return d.typ, ok
}

// TopicConfigDefault returns Kafka's default of a topic config as a string: the value
// IncrementalAlterConfigs APPEND and SUBTRACT start from when the topic has no override.
func TopicConfigDefault(name string) string {
	d := topicDefs[name]
	if d.get != nil {
		return d.get(Default().TopicDefaults())
	}
	return d.def
}

// BrokerConfigDefault returns a broker config's default as a string ("" when it has none).
func BrokerConfigDefault(name string) string {
	if d := brokerDefs[name].def; d != nil {
		return *d
	}
	return ""
}
