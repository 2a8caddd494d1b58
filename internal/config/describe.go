package config

import (
	"maps"
	"slices"
)

// Source is where a config's value comes from; the values are Kafka's ConfigSource ids, as
// DescribeConfigs v1+ reports them.
type Source int8

// Kafka's config sources, highest precedence first.
const (
	SourceDynamicTopic         Source = 1 // DYNAMIC_TOPIC_CONFIG: a topic's override
	SourceDynamicBroker        Source = 2 // DYNAMIC_BROKER_CONFIG: this broker's dynamic config
	SourceDynamicDefaultBroker Source = 3 // DYNAMIC_DEFAULT_BROKER_CONFIG: the cluster-wide dynamic default
	SourceStaticBroker         Source = 4 // STATIC_BROKER_CONFIG: server.properties
	SourceDefault              Source = 5 // DEFAULT_CONFIG: the built-in default
)

// Synonym is one definition of a config at one level.
type Synonym struct {
	Name   string
	Value  string
	Source Source
}

// Entry is one config as DescribeConfigs reports it.
type Entry struct {
	Name      string
	Value     *string // nil: the config has no value (a broker config without default)
	Source    Source
	ReadOnly  bool
	Sensitive bool
	Type      Type
	Doc       string // "" when there is none
	// Synonyms are the definitions that could give the value, highest precedence first; the
	// first one, if any, is where Value comes from.
	Synonyms []Synonym
}

// IsDefault reports whether the entry has its built-in default (DescribeConfigs v0's
// is_default).
func (e Entry) IsDefault() bool { return e.Source == SourceDefault }

// configSynonyms returns the definitions of the broker config name and its synonyms at every
// level, highest precedence first, starting at name's own first definition (Kafka's
// configSynonyms: a definition of a lower-precedence synonym alone, such as
// log.retention.hours when describing log.retention.ms, is not listed).
func (b Broker) configSynonyms(name string, dyn Dynamic) []Synonym {
	defaults := map[string]string{}
	syns := brokerSynonyms(name)
	for _, k := range syns {
		if d := brokerDefs[k].def; d != nil {
			defaults[k] = *d
		}
	}
	levels := []struct {
		m   map[string]string
		src Source
	}{
		{dyn.Broker, SourceDynamicBroker},
		{dyn.Default, SourceDynamicDefaultBroker},
		{b.Raw, SourceStaticBroker},
		{defaults, SourceDefault},
	}
	var out []Synonym
	for _, lv := range levels {
		for _, k := range syns {
			if v, ok := lv.m[k]; ok {
				out = append(out, Synonym{Name: k, Value: v, Source: lv.src})
			}
		}
	}
	for len(out) > 0 && out[0].Name != name {
		out = out[1:]
	}
	return out
}

// TopicEntries describes every topic config of a topic whose overrides are given, on a
// broker whose static config is b and dynamic configs dyn, sorted by name. The value is the
// one the broker uses (with a broker synonym in hours converted to milliseconds, say); the
// synonyms are the topic's override, then the broker synonym's definitions.
func (b Broker) TopicEntries(overrides map[string]string, dyn Dynamic) []Entry {
	eff, err := b.WithDynamic(dyn)
	if err != nil {
		eff = b // the controller validated dyn; describe what is served
	}
	t, err := TopicConfig(eff.TopicDefaults(), overrides)
	if err != nil {
		t = eff.TopicDefaults()
	}
	entries := make([]Entry, 0, len(topicDefs))
	for _, name := range slices.Sorted(maps.Keys(topicDefs)) {
		d := topicDefs[name]
		var syns []Synonym
		if v, ok := overrides[name]; ok {
			syns = append(syns, Synonym{Name: name, Value: v, Source: SourceDynamicTopic})
		}
		if d.synonym != "" {
			syns = append(syns, b.configSynonyms(d.synonym, dyn)...)
		}
		var value string
		switch {
		case d.get != nil:
			value = d.get(t)
		case len(syns) > 0:
			value = syns[0].Value
		default:
			value = d.def
		}
		e := Entry{Name: name, Value: &value, Source: SourceDefault, Type: d.typ, Doc: d.doc, Synonyms: syns}
		if len(syns) > 0 {
			e.Source = syns[0].Source
		}
		entries = append(entries, e)
	}
	return entries
}

// BrokerEntries describes the broker configs Gregor knows, and any other key server.properties
// set, sorted by name. perBroker says whether the broker's own resource is described (else the
// cluster default, resource "", which lists only the dynamic default configs, as Kafka does).
func (b Broker) BrokerEntries(dyn Dynamic, perBroker bool) []Entry {
	if !perBroker {
		var entries []Entry
		for _, name := range slices.Sorted(maps.Keys(dyn.Default)) {
			v := dyn.Default[name]
			d := brokerDefs[name]
			entries = append(entries, Entry{
				Name: name, Value: &v, Source: SourceDynamicDefaultBroker, Type: d.typ,
				Synonyms: []Synonym{{Name: name, Value: v, Source: SourceDynamicDefaultBroker}},
			})
		}
		return entries
	}
	names := map[string]bool{}
	for k := range brokerDefs {
		names[k] = true
	}
	for k := range b.Raw {
		names[k] = true
	}
	entries := make([]Entry, 0, len(names))
	for _, name := range slices.Sorted(maps.Keys(names)) {
		d, known := brokerDefs[name]
		syns := b.configSynonyms(name, dyn)
		e := Entry{Name: name, Source: SourceDefault, Type: d.typ, ReadOnly: !d.dynamic, Synonyms: syns}
		if !known {
			e.Type = TypeUnknown
		}
		if len(syns) > 0 {
			v := syns[0].Value
			e.Value, e.Source = &v, syns[0].Source
		}
		if td, ok := topicDefs[topicOfBrokerKey(name)]; ok {
			e.Doc = "The default of the topic config " + topicOfBrokerKey(name) + ": " + td.doc
		}
		entries = append(entries, e)
	}
	return entries
}

// topicOfBrokerKey returns the topic config whose default the broker config sets, or "".
func topicOfBrokerKey(name string) string {
	for t, d := range topicDefs {
		if d.synonym != "" && d.synonym == name {
			return t
		}
	}
	return ""
}
