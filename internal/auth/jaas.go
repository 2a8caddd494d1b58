package auth

import (
	"errors"
	"fmt"
	"strings"
)

// ParseJAAS parses one JAAS login module entry as Kafka's sasl.jaas.config holds it:
//
//	org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="secret" username=admin;
//
// and returns its options. Values may be quoted (a backslash escapes the next character) or
// bare; the entry ends with a semicolon. The module name and control flag are checked only for
// shape.
func ParseJAAS(s string) (map[string]string, error) {
	rest := strings.TrimSpace(s)
	fields := 0
	opts := map[string]string{}
	for {
		rest = strings.TrimLeft(rest, " \t\r\n")
		if rest == "" {
			return nil, errors.New("missing ';' at the end")
		}
		if rest[0] == ';' {
			if strings.TrimSpace(rest[1:]) != "" {
				return nil, errors.New("only one login module is supported")
			}
			if fields < 2 {
				return nil, errors.New("want a login module name and a control flag")
			}
			return opts, nil
		}
		if fields < 2 {
			i := strings.IndexAny(rest, " \t\r\n;")
			if i < 0 {
				i = len(rest)
			}
			word := rest[:i]
			if fields == 1 {
				switch strings.ToLower(word) {
				case "required", "requisite", "sufficient", "optional":
				default:
					return nil, fmt.Errorf("%q is not a control flag", word)
				}
			}
			fields++
			rest = rest[i:]
			continue
		}
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return nil, fmt.Errorf("option %q has no '='", firstWord(rest))
		}
		key := strings.TrimSpace(rest[:eq])
		if strings.ContainsAny(key, " \t\r\n;\"") {
			return nil, fmt.Errorf("bad option name %q", key)
		}
		rest = strings.TrimLeft(rest[eq+1:], " \t")
		var val string
		if strings.HasPrefix(rest, "\"") {
			var b strings.Builder
			i := 1
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
				}
				b.WriteByte(rest[i])
			}
			if i >= len(rest) {
				return nil, fmt.Errorf("option %s: unterminated quote", key)
			}
			val, rest = b.String(), rest[i+1:]
		} else {
			i := strings.IndexAny(rest, " \t\r\n;")
			if i < 0 {
				i = len(rest)
			}
			val, rest = rest[:i], rest[i:]
		}
		opts[key] = val
	}
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, " \t\r\n;"); i >= 0 {
		return s[:i]
	}
	return s
}
