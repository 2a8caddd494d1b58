package property

import (
	"fmt"
	"strings"
)

// ParseAddConfig parses kafka-configs' --add-config: comma-separated key=value
// pairs, where a value holding commas is put in square brackets
// ("cleanup.policy=[compact,delete],retention.ms=1000"). Repeated flags are
// joined. A key given twice, a pair without '=' or an unclosed bracket is an
// error.
func ParseAddConfig(flags []string) (map[string]string, error) {
	m := map[string]string{}
	for _, f := range flags {
		pairs, err := splitOutsideBrackets(f)
		if err != nil {
			return nil, fmt.Errorf("--add-config %q: %w", f, err)
		}
		for _, p := range pairs {
			k, v, ok := strings.Cut(p, "=")
			k = strings.TrimSpace(k)
			if !ok || k == "" {
				return nil, fmt.Errorf("--add-config %q: want key=value, not %q", f, p)
			}
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("--add-config: key %q given more than once", k)
			}
			v = strings.TrimSpace(v)
			if strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") {
				v = v[1 : len(v)-1]
			}
			m[k] = v
		}
	}
	return m, nil
}

// ParseDeleteConfig parses kafka-configs' --delete-config: comma-separated
// keys; repeated flags are joined.
func ParseDeleteConfig(flags []string) ([]string, error) {
	var keys []string
	seen := map[string]bool{}
	for _, f := range flags {
		for _, k := range strings.Split(f, ",") {
			if k = strings.TrimSpace(k); k == "" {
				continue
			}
			if seen[k] {
				return nil, fmt.Errorf("--delete-config: key %q given more than once", k)
			}
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// splitOutsideBrackets splits s at the commas that are not inside [...].
func splitOutsideBrackets(s string) ([]string, error) {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '[':
			depth++
		case ']':
			if depth == 0 {
				return nil, fmt.Errorf("unbalanced ']' at %d", i)
			}
			depth--
		case ',':
			if depth == 0 {
				if p := strings.TrimSpace(s[start:i]); p != "" {
					out = append(out, p)
				}
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("unclosed '['")
	}
	if p := strings.TrimSpace(s[start:]); p != "" {
		out = append(out, p)
	}
	return out, nil
}
