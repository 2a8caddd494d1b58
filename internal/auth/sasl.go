package auth

import (
	"crypto/subtle"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gregorhq/gregor/internal/metadata"
)

// SASL mechanism names.
const (
	MechanismPlain       = "PLAIN"
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismScramSHA512 = "SCRAM-SHA-512"
)

// DefaultMechanisms is Gregor's sasl.enabled.mechanisms default. Kafka's is GSSAPI, which
// Gregor does not implement; these are the mechanisms it does.
var DefaultMechanisms = []string{MechanismPlain, MechanismScramSHA256, MechanismScramSHA512}

// ScramLookup finds a user's SCRAM credential for a mechanism; the node reads it from the
// current metadata image.
type ScramLookup func(user string, mechanism metadata.ScramMechanism) (metadata.ScramCredential, bool)

// SASL is one listener's SASL configuration.
type SASL struct {
	// Mechanisms are the enabled mechanisms (sasl.enabled.mechanisms).
	Mechanisms []string
	// PlainUsers maps PLAIN user names to passwords (user_<name>="<password>" in the
	// listener's plain.sasl.jaas.config).
	PlainUsers map[string]string
	// Scram looks SCRAM credentials up; nil means no SCRAM user exists.
	Scram ScramLookup
	// FailureDelay is connection.failed.authentication.delay.ms.
	FailureDelay time.Duration
}

// exchange is the server side of one mechanism's exchange. step takes the client's next
// message and returns the server's answer; done is set with the authenticated user name.
// An error ends the exchange: the client failed to authenticate.
type exchange interface {
	step(msg []byte) (reply []byte, user string, done bool, err error)
}

func (c *SASL) newExchange(mechanism string) (exchange, bool) {
	if !slices.Contains(c.Mechanisms, mechanism) {
		return nil, false
	}
	switch mechanism {
	case MechanismPlain:
		return &plainExchange{users: c.PlainUsers}, true
	case MechanismScramSHA256, MechanismScramSHA512:
		m, _ := ScramMechanismByName(mechanism)
		return newScramExchange(m, c.Scram), true
	}
	return nil, false
}

// plainExchange is PLAIN (RFC 4616): one message, authzid NUL authcid NUL password. As in
// Kafka, an authorization id, when given, must be the user itself.
type plainExchange struct {
	users map[string]string
	done  bool
}

func (p *plainExchange) step(msg []byte) ([]byte, string, bool, error) {
	if p.done {
		return nil, "", false, ErrAuthenticationFailed
	}
	p.done = true
	parts := strings.Split(string(msg), "\x00")
	if len(parts) != 3 {
		return nil, "", false, fmt.Errorf("PLAIN: %d fields, want 3", len(parts))
	}
	authzid, user, password := parts[0], parts[1], parts[2]
	if user == "" || password == "" || (authzid != "" && authzid != user) {
		return nil, "", false, ErrAuthenticationFailed
	}
	want, ok := p.users[user]
	// Compare even for an unknown user, so the time taken does not tell which users exist.
	if subtle.ConstantTimeCompare([]byte(password), []byte(want)) != 1 || !ok {
		return nil, "", false, ErrAuthenticationFailed
	}
	return []byte{}, user, true, nil
}

// Props reads a listener's security configs from the broker's raw properties: a key set with
// the listener.name.<listener>. prefix wins over the unprefixed key, as in Kafka.
type Props struct {
	Raw      map[string]string
	Listener string
}

// Get returns the value of key for the listener.
func (p Props) Get(key string) (string, bool) {
	if v, ok := p.Raw["listener.name."+strings.ToLower(p.Listener)+"."+key]; ok {
		return strings.TrimSpace(v), true
	}
	v, ok := p.Raw[key]
	return strings.TrimSpace(v), ok
}

// LoadSASL reads the listener's SASL configuration: sasl.enabled.mechanisms, the PLAIN users of
// plain.sasl.jaas.config (or sasl.jaas.config) and connection.failed.authentication.delay.ms
// (default 100).
func LoadSASL(p Props, scram ScramLookup) (*SASL, error) {
	c := &SASL{Mechanisms: DefaultMechanisms, PlainUsers: map[string]string{}, Scram: scram,
		FailureDelay: 100 * time.Millisecond}
	if v, ok := p.Get("sasl.enabled.mechanisms"); ok {
		c.Mechanisms = nil
		for _, m := range strings.Split(v, ",") {
			m = strings.ToUpper(strings.TrimSpace(m))
			if m == "" {
				continue
			}
			if !slices.Contains(DefaultMechanisms, m) {
				return nil, fmt.Errorf("sasl.enabled.mechanisms: %s is not supported (supported: %s)", m, strings.Join(DefaultMechanisms, ","))
			}
			c.Mechanisms = append(c.Mechanisms, m)
		}
		if len(c.Mechanisms) == 0 {
			return nil, fmt.Errorf("sasl.enabled.mechanisms: listener %s enables no mechanism", p.Listener)
		}
	}
	jaas, ok := p.Get("plain.sasl.jaas.config")
	if !ok {
		jaas, ok = p.Get("sasl.jaas.config")
	}
	if ok {
		opts, err := ParseJAAS(jaas)
		if err != nil {
			return nil, fmt.Errorf("listener %s: sasl.jaas.config: %w", p.Listener, err)
		}
		for k, v := range opts {
			if name, ok := strings.CutPrefix(k, "user_"); ok && name != "" {
				c.PlainUsers[name] = v
			}
		}
	}
	if v, ok := p.Get("connection.failed.authentication.delay.ms"); ok {
		var ms int64
		if _, err := fmt.Sscan(v, &ms); err != nil || ms < 0 {
			return nil, fmt.Errorf("connection.failed.authentication.delay.ms: %q is not a number >= 0", v)
		}
		c.FailureDelay = time.Duration(ms) * time.Millisecond
	}
	return c, nil
}
