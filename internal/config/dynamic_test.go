package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func mustLoad(t *testing.T, props map[string]string) Broker {
	t.Helper()
	b, err := Load(props)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWithDynamicPrecedence(t *testing.T) {
	tests := []struct {
		name   string
		static map[string]string
		dyn    Dynamic
		want   int64 // LogRetentionMs
	}{
		{"default", nil, Dynamic{}, 168 * 3600 * 1000},
		{"static hours", map[string]string{"log.retention.hours": "1"}, Dynamic{}, 3600 * 1000},
		{"cluster default over static",
			map[string]string{"log.retention.ms": "5000"},
			Dynamic{Default: map[string]string{"log.retention.ms": "6000"}}, 6000},
		{"broker over cluster default",
			nil,
			Dynamic{Default: map[string]string{"log.retention.ms": "6000"}, Broker: map[string]string{"log.retention.ms": "7000"}}, 7000},
		{"dynamic ms replaces static hours",
			map[string]string{"log.retention.hours": "1"},
			Dynamic{Default: map[string]string{"log.retention.ms": "6000"}}, 6000},
		{"non-dynamic key ignored",
			map[string]string{"log.retention.hours": "1"},
			Dynamic{Broker: map[string]string{"log.retention.hours": "2"}}, 3600 * 1000},
		{"negative is forever", nil, Dynamic{Broker: map[string]string{"log.retention.ms": "-7"}}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustLoad(t, tt.static)
			got, err := b.WithDynamic(tt.dyn)
			if err != nil {
				t.Fatal(err)
			}
			if got.LogRetentionMs != tt.want {
				t.Errorf("LogRetentionMs = %d, want %d", got.LogRetentionMs, tt.want)
			}
			if b.LogRetentionMs == tt.want && len(tt.dyn.Broker)+len(tt.dyn.Default) > 0 && tt.name != "non-dynamic key ignored" {
				t.Errorf("static config was changed")
			}
		})
	}
}

func TestWithDynamicInvalid(t *testing.T) {
	b := mustLoad(t, nil)
	got, err := b.WithDynamic(Dynamic{Default: map[string]string{"log.segment.bytes": "3"}})
	if err == nil || !strings.Contains(err.Error(), "log.segment.bytes") {
		t.Fatalf("err = %v, want one naming log.segment.bytes", err)
	}
	if got.LogSegmentBytes != b.LogSegmentBytes {
		t.Errorf("invalid dynamic config was applied")
	}
}

func TestValidateDynamicBrokerConfig(t *testing.T) {
	tests := []struct {
		name, value string
		nilValue    bool
		notDynamic  bool
		errHas      string // "" = valid
	}{
		{name: "log.retention.ms", value: "1000"},
		{name: "log.retention.ms", value: "abc", errHas: `log.retention.ms: "abc" is not a number`},
		{name: "log.segment.bytes", value: "10", errHas: "log.segment.bytes"},
		{name: "log.cleanup.policy", value: "compact,delete"},
		{name: "log.cleanup.policy", value: "shred", errHas: "log.cleanup.policy"},
		{name: "log.cleaner.threads", value: "2"},
		{name: "log.cleaner.threads", value: "x", errHas: "log.cleaner.threads"},
		{name: "log.retention.hours", value: "1", notDynamic: true},
		{name: "log.retention.check.interval.ms", value: "1", notDynamic: true},
		{name: "num.io.threads", value: "4", notDynamic: true},
		{name: "log.retention.hours", nilValue: true},
		{name: "no.such.config", value: "1", errHas: `unknown broker config "no.such.config"`},
	}
	for _, tt := range tests {
		var v *string
		if !tt.nilValue {
			v = &tt.value
		}
		err := ValidateDynamicBrokerConfig(tt.name, v)
		switch {
		case tt.notDynamic:
			if !errors.Is(err, ErrNotDynamic) {
				t.Errorf("%s=%s: err = %v, want ErrNotDynamic", tt.name, tt.value, err)
			}
		case tt.errHas == "":
			if err != nil {
				t.Errorf("%s=%s: %v", tt.name, tt.value, err)
			}
		case err == nil || !strings.Contains(err.Error(), tt.errHas) || errors.Is(err, ErrNotDynamic):
			t.Errorf("%s=%s: err = %v, want one containing %q", tt.name, tt.value, err, tt.errHas)
		}
	}
}

func entry(t *testing.T, entries []Entry, name string) Entry {
	t.Helper()
	for _, e := range entries {
		if e.Name == name {
			return e
		}
	}
	t.Fatalf("no entry %s", name)
	return Entry{}
}

func TestTopicEntriesSources(t *testing.T) {
	tests := []struct {
		name      string
		static    map[string]string
		dyn       Dynamic
		overrides map[string]string
		key       string
		value     string
		source    Source
		synonyms  []Synonym
	}{
		{name: "default, synonym list starts at the primary broker key",
			key: "retention.ms", value: "604800000", source: SourceDefault},
		{name: "default with a broker default",
			key: "segment.bytes", value: "1073741824", source: SourceDefault,
			synonyms: []Synonym{{"log.segment.bytes", "1073741824", SourceDefault}}},
		{name: "static hours alone is not a synonym of log.retention.ms, but sets the value",
			static: map[string]string{"log.retention.hours": "2"},
			key:    "retention.ms", value: "7200000", source: SourceDefault},
		{name: "static ms, then hours",
			static: map[string]string{"log.retention.ms": "1000", "log.retention.hours": "2"},
			key:    "retention.ms", value: "1000", source: SourceStaticBroker,
			synonyms: []Synonym{
				{"log.retention.ms", "1000", SourceStaticBroker},
				{"log.retention.hours", "2", SourceStaticBroker},
				{"log.retention.hours", "168", SourceDefault},
			}},
		{name: "every level",
			static:    map[string]string{"log.retention.ms": "1000"},
			dyn:       Dynamic{Default: map[string]string{"log.retention.ms": "2000"}, Broker: map[string]string{"log.retention.ms": "3000"}},
			overrides: map[string]string{"retention.ms": "4000"},
			key:       "retention.ms", value: "4000", source: SourceDynamicTopic,
			synonyms: []Synonym{
				{"retention.ms", "4000", SourceDynamicTopic},
				{"log.retention.ms", "3000", SourceDynamicBroker},
				{"log.retention.ms", "2000", SourceDynamicDefaultBroker},
				{"log.retention.ms", "1000", SourceStaticBroker},
				{"log.retention.hours", "168", SourceDefault},
			}},
		{name: "dynamic default",
			dyn: Dynamic{Default: map[string]string{"log.cleanup.policy": "compact"}},
			key: "cleanup.policy", value: "compact", source: SourceDynamicDefaultBroker,
			synonyms: []Synonym{
				{"log.cleanup.policy", "compact", SourceDynamicDefaultBroker},
				{"log.cleanup.policy", "delete", SourceDefault},
			}},
		{name: "unapplied key from its broker synonym",
			static: map[string]string{"log.flush.interval.messages": "10"},
			key:    "flush.messages", value: "10", source: SourceStaticBroker,
			synonyms: []Synonym{
				{"log.flush.interval.messages", "10", SourceStaticBroker},
				{"log.flush.interval.messages", maxLongStr, SourceDefault},
			}},
		{name: "unapplied key without synonym",
			key: "remote.storage.enable", value: "false", source: SourceDefault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustLoad(t, tt.static)
			e := entry(t, b.TopicEntries(tt.overrides, tt.dyn), tt.key)
			if e.Value == nil || *e.Value != tt.value || e.Source != tt.source {
				t.Errorf("value %v source %d, want %s source %d", deref(e.Value), e.Source, tt.value, tt.source)
			}
			if !reflect.DeepEqual(e.Synonyms, tt.synonyms) {
				t.Errorf("synonyms\n got %v\nwant %v", e.Synonyms, tt.synonyms)
			}
			if e.ReadOnly || e.Sensitive || e.Type == TypeUnknown || e.Doc == "" {
				t.Errorf("entry %+v", e)
			}
		})
	}
}

func deref(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func TestBrokerEntries(t *testing.T) {
	b := mustLoad(t, map[string]string{"log.retention.hours": "2", "num.io.threads": "8"})
	dyn := Dynamic{Default: map[string]string{"log.segment.bytes": "1048576"}}
	es := b.BrokerEntries(dyn, true)
	if e := entry(t, es, "log.segment.bytes"); deref(e.Value) != "1048576" || e.Source != SourceDynamicDefaultBroker || e.ReadOnly || e.Type != TypeInt {
		t.Errorf("log.segment.bytes: %+v", e)
	}
	if e := entry(t, es, "log.retention.hours"); deref(e.Value) != "2" || e.Source != SourceStaticBroker || !e.ReadOnly {
		t.Errorf("log.retention.hours: %+v", e)
	}
	if e := entry(t, es, "log.retention.ms"); e.Value != nil || e.Source != SourceDefault {
		t.Errorf("log.retention.ms: %+v", e)
	}
	if e := entry(t, es, "num.io.threads"); deref(e.Value) != "8" || e.Source != SourceStaticBroker || e.Type != TypeUnknown {
		t.Errorf("num.io.threads: %+v", e)
	}
	def := b.BrokerEntries(dyn, false)
	if len(def) != 1 || def[0].Name != "log.segment.bytes" || def[0].Source != SourceDynamicDefaultBroker {
		t.Errorf("cluster default entries: %+v", def)
	}
}

// Every topic config has a description, and every broker synonym named is known.
func TestDescribeTablesComplete(t *testing.T) {
	for name := range topicKeys {
		d, ok := topicDefs[name]
		if !ok {
			t.Errorf("topic config %s has no topicDefs entry", name)
			continue
		}
		if d.synonym != "" {
			if _, ok := brokerDefs[d.synonym]; !ok {
				t.Errorf("%s: synonym %s has no brokerDefs entry", name, d.synonym)
			}
		}
	}
	for name := range topicDefs {
		if _, ok := topicKeys[name]; !ok {
			t.Errorf("topicDefs has %s, which topicKeys does not", name)
		}
	}
	for name := range brokerKeys {
		if _, ok := brokerDefs[name]; !ok {
			t.Errorf("broker config %s has no brokerDefs entry", name)
		}
	}
	// The defaults in brokerDefs agree with Default for the keys both know.
	b := Default()
	if got := formatDouble(b.LogCleanerMinCleanableRatio); got != *brokerDefs["log.cleaner.min.cleanable.ratio"].def {
		t.Errorf("min cleanable ratio default %s", got)
	}
	if TopicConfigDefault("cleanup.policy") != "delete" || TopicConfigDefault("flush.messages") != maxLongStr {
		t.Errorf("TopicConfigDefault")
	}
}
