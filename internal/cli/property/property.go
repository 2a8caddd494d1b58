// Package property parses the repeated key=value flags of Kafka's command-line
// tools: kafka-console-producer's and kafka-console-consumer's --property,
// and kafka-topics' --config.
package property

import (
	"fmt"
	"sort"
	"strings"
)

// Parse turns "key=value" strings into a map. The value is everything after
// the first '=', so it may itself contain '=' and may be empty. A pair without
// '=', an empty key or a key given twice is an error, and so is a key that is
// not in allowed when allowed is non-nil. flagName names the flag in errors.
func Parse(flagName string, pairs []string, allowed []string) (map[string]string, error) {
	m := make(map[string]string, len(pairs))
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--%s %q: want key=value", flagName, p)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("--%s %q: key %q given more than once", flagName, p, k)
		}
		if allowed != nil && !contains(allowed, k) {
			sorted := append([]string(nil), allowed...)
			sort.Strings(sorted)
			return nil, fmt.Errorf("--%s %q: unknown key %q (supported: %s)", flagName, p, k, strings.Join(sorted, ", "))
		}
		m[k] = v
	}
	return m, nil
}

// Bool reads key from m as a boolean, returning def when it is absent. Like
// Kafka's tools it accepts "true" and "false" in any case.
func Bool(m map[string]string, key string, def bool) (bool, error) {
	v, ok := m[key]
	if !ok {
		return def, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("property %s=%q: want true or false", key, v)
}

// String reads key from m, returning def when it is absent.
func String(m map[string]string, key, def string) string {
	if v, ok := m[key]; ok {
		return v
	}
	return def
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
