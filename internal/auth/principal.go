package auth

import (
	"crypto/x509"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// PrincipalMapper turns the distinguished name of a client certificate into a user name, as
// Kafka's ssl.principal.mapping.rules does:
//
//	RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,RULE:^CN=(.*?),OU=(.*?),O=.*$/$1@$2/L,DEFAULT
//
// Rules are tried in order; the first whose pattern matches the whole name gives the user
// name (its replacement, lower- or upper-cased with a trailing L or U). DEFAULT gives the name
// unchanged. A name no rule matches is refused.
type PrincipalMapper struct {
	rules []principalRule
}

type principalRule struct {
	isDefault bool
	pattern   *regexp.Regexp
	replace   string
	caseFold  byte // 0, 'L' or 'U'
}

var javaGroupRef = regexp.MustCompile(`\$(\d+)`)

// ParsePrincipalMappingRules parses ssl.principal.mapping.rules; "" is DEFAULT.
func ParsePrincipalMappingRules(s string) (*PrincipalMapper, error) {
	m := &PrincipalMapper{}
	rest := strings.TrimSpace(s)
	if rest == "" {
		rest = "DEFAULT"
	}
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, "DEFAULT"):
			m.rules = append(m.rules, principalRule{isDefault: true})
			rest = rest[len("DEFAULT"):]
		case strings.HasPrefix(rest, "RULE:"):
			rest = rest[len("RULE:"):]
			pattern, after, err := cutUnescaped(rest)
			if err != nil {
				return nil, fmt.Errorf("ssl.principal.mapping.rules: %w", err)
			}
			replace, after, err := cutUnescaped(after)
			if err != nil {
				return nil, fmt.Errorf("ssl.principal.mapping.rules: %w", err)
			}
			re, err := regexp.Compile("^(?:" + pattern + ")$")
			if err != nil {
				return nil, fmt.Errorf("ssl.principal.mapping.rules: pattern %q: %w", pattern, err)
			}
			r := principalRule{pattern: re, replace: javaGroupRef.ReplaceAllString(replace, "$${$1}")}
			if after != "" && (after[0] == 'L' || after[0] == 'U') {
				r.caseFold, after = after[0], after[1:]
			}
			m.rules = append(m.rules, r)
			rest = after
		default:
			return nil, fmt.Errorf("ssl.principal.mapping.rules: %q is not DEFAULT or RULE:pattern/replacement/[LU]", rest)
		}
		rest = strings.TrimSpace(rest)
		if rest != "" {
			if rest[0] != ',' && rest[0] != '\n' {
				return nil, fmt.Errorf("ssl.principal.mapping.rules: want ',' before %q", rest)
			}
			rest = strings.TrimSpace(rest[1:])
		}
	}
	return m, nil
}

// cutUnescaped splits s at the first '/' not preceded by a backslash; "\/" stands for '/'.
func cutUnescaped(s string) (before, after string, err error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == '/':
			b.WriteByte('/')
			i++
		case s[i] == '/':
			return b.String(), s[i+1:], nil
		default:
			b.WriteByte(s[i])
		}
	}
	return "", "", errors.New("a RULE needs pattern/replacement/")
}

// ErrNoMatchingRule means no ssl.principal.mapping.rules rule matched a certificate's name.
var ErrNoMatchingRule = errors.New("no ssl.principal.mapping.rules rule matches the certificate")

// Principal is the principal of a client certificate: "User:" and the mapped name of its
// subject (RFC 2253 form).
func (m *PrincipalMapper) Principal(cert *x509.Certificate) (string, error) {
	dn := cert.Subject.String()
	if m == nil {
		return "User:" + dn, nil
	}
	for _, r := range m.rules {
		if r.isDefault {
			return "User:" + dn, nil
		}
		idx := r.pattern.FindStringSubmatchIndex(dn)
		if idx == nil {
			continue
		}
		name := string(r.pattern.ExpandString(nil, r.replace, dn, idx))
		switch r.caseFold {
		case 'L':
			name = strings.ToLower(name)
		case 'U':
			name = strings.ToUpper(name)
		}
		return "User:" + name, nil
	}
	return "", ErrNoMatchingRule
}
