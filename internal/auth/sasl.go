package auth

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
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
// Gregor does not implement; these are the mechanisms that need no more configuration.
var DefaultMechanisms = []string{MechanismPlain, MechanismScramSHA256, MechanismScramSHA512}

// SupportedMechanisms are the mechanisms sasl.enabled.mechanisms may name. OAUTHBEARER needs
// sasl.oauthbearer.jwks.endpoint.url as well.
var SupportedMechanisms = []string{MechanismPlain, MechanismScramSHA256, MechanismScramSHA512, MechanismOAuthBearer}

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
	// OAuth checks OAUTHBEARER tokens; nil unless OAUTHBEARER is enabled.
	OAuth *JWTValidator
	// MaxReauth is connections.max.reauth.ms for each enabled mechanism (KIP-368): the
	// longest an authenticated session lasts before the client must re-authenticate. Zero
	// (the default) turns re-authentication off: sessions do not expire.
	MaxReauth map[string]time.Duration
	// Now is the clock session lifetimes are measured with; nil means time.Now.
	Now func() time.Time
}

func (c *SASL) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
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
	case MechanismOAuthBearer:
		if c.OAuth == nil {
			return nil, false
		}
		return &oauthExchange{validator: c.OAuth}, true
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
// plain.sasl.jaas.config (or sasl.jaas.config), connection.failed.authentication.delay.ms
// (default 100), connections.max.reauth.ms (default 0) and, when OAUTHBEARER is enabled, the
// sasl.oauthbearer.* token validation configs (see LoadOAuthBearer).
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
			if !slices.Contains(SupportedMechanisms, m) {
				return nil, fmt.Errorf("sasl.enabled.mechanisms: %s is not supported (supported: %s)", m, strings.Join(SupportedMechanisms, ","))
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
	c.MaxReauth = map[string]time.Duration{}
	for _, m := range c.Mechanisms {
		// Kafka's per-mechanism form, listener.name.<l>.<mechanism>.connections.max.reauth.ms,
		// wins over the listener's and the broker's.
		v, ok := p.Raw["listener.name."+strings.ToLower(p.Listener)+"."+strings.ToLower(m)+".connections.max.reauth.ms"]
		if !ok {
			v, ok = p.Get("connections.max.reauth.ms")
		}
		if !ok {
			continue
		}
		ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || ms < 0 || ms > math.MaxInt64/int64(time.Millisecond) {
			return nil, fmt.Errorf("connections.max.reauth.ms: %q is not a number >= 0", v)
		}
		c.MaxReauth[m] = time.Duration(ms) * time.Millisecond
	}
	if slices.Contains(c.Mechanisms, MechanismOAuthBearer) {
		v, err := LoadOAuthBearer(p)
		if err != nil {
			return nil, fmt.Errorf("listener %s: %w", p.Listener, err)
		}
		c.OAuth = v
	}
	return c, nil
}

// LoadOAuthBearer reads the OAUTHBEARER token validation configs of a listener, each also as
// listener.name.<listener>.[oauthbearer.]<key>:
//
//	oauthbearer.sasl.jaas.config            OAuthBearerLoginModule entry (checked for shape); its
//	                                        ssl.truststore.* options verify an https:// key set
//	sasl.oauthbearer.jwks.endpoint.url      file://, https:// or http:// URL of the JSON Web Key
//	                                        Set (required)
//	sasl.oauthbearer.jwks.endpoint.refresh.ms  3600000: how often an http(s) set is fetched again
//	sasl.oauthbearer.expected.audience      comma-separated; "" accepts any audience
//	sasl.oauthbearer.expected.issuer        "" accepts any issuer
//	sasl.oauthbearer.sub.claim.name         sub
//	sasl.oauthbearer.scope.claim.name       scope
//	sasl.oauthbearer.clock.skew.seconds     30
func LoadOAuthBearer(p Props) (*JWTValidator, error) {
	get := func(key string) (string, bool) {
		// Kafka's listener.name.<l>.oauthbearer.<key> form wins over the other two.
		if v, ok := p.Raw["listener.name."+strings.ToLower(p.Listener)+".oauthbearer."+key]; ok {
			return strings.TrimSpace(v), true
		}
		return p.Get(key)
	}
	var jaasOpts map[string]string
	if jaas, ok := p.Get("oauthbearer.sasl.jaas.config"); ok {
		var err error
		if jaasOpts, err = ParseJAAS(jaas); err != nil {
			return nil, fmt.Errorf("oauthbearer.sasl.jaas.config: %w", err)
		}
	}
	u, _ := get("sasl.oauthbearer.jwks.endpoint.url")
	if u == "" {
		return nil, errors.New("OAUTHBEARER needs sasl.oauthbearer.jwks.endpoint.url (unsecured tokens are not accepted)")
	}
	var jo JWKSOptions
	if s, ok := get("sasl.oauthbearer.jwks.endpoint.refresh.ms"); ok {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("sasl.oauthbearer.jwks.endpoint.refresh.ms: %q is not a number > 0", s)
		}
		jo.Refresh = time.Duration(n) * time.Millisecond
	}
	if strings.HasPrefix(strings.ToLower(u), "https:") {
		var err error
		if jo.Client, err = jwksHTTPClient(jaasOpts); err != nil {
			return nil, fmt.Errorf("oauthbearer.sasl.jaas.config: %w", err)
		}
	}
	keys, err := NewJWKSourceWith(u, jo)
	if err != nil {
		return nil, err
	}
	v := &JWTValidator{Keys: keys, SubClaim: "sub", ScopeClaim: "scope", ClockSkew: 30 * time.Second}
	if a, _ := get("sasl.oauthbearer.expected.audience"); a != "" {
		for _, s := range strings.Split(a, ",") {
			if s = strings.TrimSpace(s); s != "" {
				v.Audience = append(v.Audience, s)
			}
		}
	}
	v.Issuer, _ = get("sasl.oauthbearer.expected.issuer")
	if s, _ := get("sasl.oauthbearer.sub.claim.name"); s != "" {
		v.SubClaim = s
	}
	if s, _ := get("sasl.oauthbearer.scope.claim.name"); s != "" {
		v.ScopeClaim = s
	}
	if s, ok := get("sasl.oauthbearer.clock.skew.seconds"); ok {
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("sasl.oauthbearer.clock.skew.seconds: %q is not a number >= 0", s)
		}
		v.ClockSkew = time.Duration(n) * time.Second
	}
	return v, nil
}
