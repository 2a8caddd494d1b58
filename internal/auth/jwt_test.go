package auth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// claims are valid claims at testNow, with changes: a nil value deletes a claim.
func claims(changes map[string]any) map[string]any {
	c := map[string]any{
		"sub": "alice", "iss": "https://idp.example", "aud": []string{"kafka", "other"},
		"iat": testNow.Add(-time.Minute).Unix(), "exp": testNow.Add(time.Hour).Unix(), "scope": "read write",
	}
	for k, v := range changes {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func writeJWKS(t testing.TB, dir string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func testValidator(t testing.TB, is *TestIssuer) *JWTValidator {
	t.Helper()
	keys, err := NewJWKSource("file://" + writeJWKS(t, t.TempDir(), is.JWKS()))
	if err != nil {
		t.Fatal(err)
	}
	return &JWTValidator{Keys: keys, Audience: []string{"kafka"}, Issuer: "https://idp.example",
		SubClaim: "sub", ScopeClaim: "scope", ClockSkew: 30 * time.Second, Now: func() time.Time { return testNow }}
}

func TestJWTValidator(t *testing.T) {
	is := NewTestIssuer(t, "")
	other := NewTestIssuer(t, "other-")
	v := testValidator(t, is)
	cases := []struct {
		name  string
		token string
		ok    bool
	}{
		{"RS256", is.Sign(t, "RS256", "", claims(nil)), true},
		{"RS384", is.Sign(t, "RS384", "", claims(nil)), true},
		{"RS512", is.Sign(t, "RS512", "", claims(nil)), true},
		{"PS256", is.Sign(t, "PS256", "", claims(nil)), true},
		{"ES256", is.Sign(t, "ES256", "", claims(nil)), true},
		{"ES384", is.Sign(t, "ES384", "", claims(nil)), true},
		{"no kid, one fitting key", is.Sign(t, "ES384", "-", claims(nil)), true},
		{"aud as a string", is.Sign(t, "RS256", "", claims(map[string]any{"aud": "kafka"})), true},
		{"expired within the skew", is.Sign(t, "RS256", "", claims(map[string]any{"exp": testNow.Add(-20 * time.Second).Unix()})), true},
		{"nbf within the skew", is.Sign(t, "RS256", "", claims(map[string]any{"nbf": testNow.Add(20 * time.Second).Unix()})), true},
		{"expired", is.Sign(t, "RS256", "", claims(map[string]any{"exp": testNow.Add(-time.Minute).Unix()})), false},
		{"not yet valid", is.Sign(t, "ES256", "", claims(map[string]any{"nbf": testNow.Add(time.Minute).Unix()})), false},
		{"no exp", is.Sign(t, "RS256", "", claims(map[string]any{"exp": nil})), false},
		{"no iat", is.Sign(t, "RS256", "", claims(map[string]any{"iat": nil})), false},
		{"exp not a number", is.Sign(t, "RS256", "", claims(map[string]any{"exp": "tomorrow"})), false},
		{"wrong audience", is.Sign(t, "RS256", "", claims(map[string]any{"aud": "billing"})), false},
		{"no audience", is.Sign(t, "RS256", "", claims(map[string]any{"aud": nil})), false},
		{"wrong issuer", is.Sign(t, "RS256", "", claims(map[string]any{"iss": "https://evil.example"})), false},
		{"no sub", is.Sign(t, "RS256", "", claims(map[string]any{"sub": nil})), false},
		{"scope not strings", is.Sign(t, "RS256", "", claims(map[string]any{"scope": 7})), false},
		{"signed by another key, same kid", other.Sign(t, "ES256", "p256", claims(nil)), false},
		{"unknown kid", other.Sign(t, "RS256", "", claims(nil)), false},
		{"ES256 token naming the RSA key", is.Sign(t, "ES256", "rsa", claims(nil)), false},
		{"ES384 token naming the ES256-only key", is.Sign(t, "ES384", "p256", claims(nil)), false},
		{"alg none", is.Sign(t, "none", "", claims(nil)), false},
		{"no kid, several fitting keys", is.Sign(t, "RS256", "-", claims(nil)), true},
		{"garbage", "a.b.c", false},
		{"two parts", "eyJhbGciOiJSUzI1NiJ9.e30", false},
	}
	// Only one RSA key is in the set, so a kid-less RS256 token has one fitting key.
	for _, c := range cases {
		tok, err := v.Validate(c.token)
		if c.ok && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if !c.ok && err == nil {
			t.Errorf("%s: accepted as %+v", c.name, tok)
		}
	}
	// A tampered payload breaks the signature.
	good := is.Sign(t, "RS256", "", claims(nil))
	parts := strings.Split(good, ".")
	evil := is.Sign(t, "RS256", "", claims(map[string]any{"sub": "admin"}))
	if _, err := v.Validate(parts[0] + "." + strings.Split(evil, ".")[1] + "." + parts[2]); err == nil {
		t.Error("a token with a swapped payload was accepted")
	}
	tok, err := v.Validate(good)
	if err != nil || tok.Principal != "alice" || len(tok.Scope) != 2 || !tok.Expiry.Equal(testNow.Add(time.Hour)) {
		t.Fatalf("valid token: %+v, %v", tok, err)
	}
	// Configured claim names.
	v2 := *v
	v2.SubClaim, v2.ScopeClaim, v2.Audience, v2.Issuer = "client_id", "scp", nil, ""
	tok, err = v2.Validate(is.Sign(t, "RS256", "", claims(map[string]any{"client_id": "svc", "scp": []string{"a"}, "aud": nil})))
	if err != nil || tok.Principal != "svc" || len(tok.Scope) != 1 {
		t.Fatalf("claim names: %+v, %v", tok, err)
	}
}

func TestJWKSReloadedWhenTheFileChanges(t *testing.T) {
	is := NewTestIssuer(t, "")
	next := NewTestIssuer(t, "next-")
	v := testValidator(t, is)
	token := next.Sign(t, "ES256", "", claims(nil))
	if _, err := v.Validate(token); err == nil {
		t.Fatal("a token of a key not yet in the set was accepted")
	}
	if err := os.WriteFile(v.Keys.path, next.JWKS(), 0o600); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour) // visible even with coarse file timestamps
	if err := os.Chtimes(v.Keys.path, later, later); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(token); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	// A broken file keeps the keys already known.
	if err := os.WriteFile(v.Keys.path, []byte(`{"keys": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(token); err != nil {
		t.Fatalf("after a broken rewrite: %v", err)
	}
}

func TestParseJWKS(t *testing.T) {
	for _, bad := range []string{
		`[]`, `{}`, `{"keys":[{"kty":"RSA","n":"!!","e":"AQAB"}]}`,
		`{"keys":[{"kty":"RSA","n":"AQAB","e":"Ag"}]}`,
		`{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}`,
		`{"keys":[{"kty":"EC","crv":"P-256","x":"` + strings.Repeat("A", 43) + `","y":"` + strings.Repeat("A", 43) + `"}]}`,
	} {
		if _, err := ParseJWKS([]byte(bad)); err == nil {
			t.Errorf("%s: parsed", bad)
		}
	}
	// Keys Gregor cannot use are skipped: encryption keys, unknown types and curves, short RSA.
	keys, err := ParseJWKS([]byte(`{"keys":[{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"},
		{"kty":"OKP","crv":"Ed25519","x":"AA"},{"kty":"EC","crv":"P-192","x":"AA","y":"AA"},
		{"kty":"RSA","n":"` + strings.Repeat("_w", 64) + `","e":"AQAB"}]}`))
	if err != nil || len(keys) != 0 {
		t.Fatalf("%v, %v", keys, err)
	}
}

func TestParseOAuthBearerMessage(t *testing.T) {
	good := []struct {
		in   string
		want OAuthBearerMessage
	}{
		{"n,,\x01auth=Bearer a.b.c\x01\x01", OAuthBearerMessage{Token: "a.b.c"}},
		{"n,a=al=2Cice=3D,\x01auth=bearer  a-b_c\x01traceId=x y\x01\x01", OAuthBearerMessage{AuthzID: "al,ice=", Token: "a-b_c",
			Extensions: map[string]string{"traceId": "x y"}}},
	}
	for _, c := range good {
		m, err := ParseOAuthBearerMessage([]byte(c.in))
		if err != nil || m.AuthzID != c.want.AuthzID || m.Token != c.want.Token || len(m.Extensions) != len(c.want.Extensions) {
			t.Errorf("%q: %+v, %v", c.in, m, err)
		}
		for k, v := range c.want.Extensions {
			if m.Extensions[k] != v {
				t.Errorf("%q: extension %s=%q", c.in, k, m.Extensions[k])
			}
		}
	}
	for _, bad := range []string{
		"", "y,,\x01auth=Bearer t\x01\x01", "n,,auth=Bearer t\x01\x01", "n,,\x01auth=Bearer t\x01",
		"n,,\x01auth=Basic t\x01\x01", "n,,\x01auth=Bearer \x01\x01", "n,,\x01\x01", "n,,\x01k=v\x01\x01",
		"n,,\x01auth=Bearer t\x01auth=Bearer u\x01\x01", "n,,\x01auth=Bearer t\x01k1=v\x01\x01",
		"n,,\x01auth=Bearer t\x01k=\x01\x01", "n,,\x01auth=Bearer t\x01k=v\x01k=w\x01\x01",
		"n,,\x01auth=Bearer t+/=\x01\x01", "n,b=x,\x01auth=Bearer t\x01\x01", "n,a=x=2,\x01auth=Bearer t\x01\x01",
	} {
		if m, err := ParseOAuthBearerMessage([]byte(bad)); err == nil {
			t.Errorf("%q: parsed as %+v", bad, m)
		}
	}
}

func oauthSASL(t testing.TB, is *TestIssuer, now *time.Time) *SASL {
	v := testValidator(t, is)
	v.Now = func() time.Time { return *now }
	return &SASL{Mechanisms: []string{MechanismPlain, MechanismOAuthBearer}, PlainUsers: map[string]string{"alice": "pw", "bob": "pw"},
		OAuth: v, Now: func() time.Time { return *now }}
}

func bearer(token string) []byte { return []byte("n,,\x01auth=Bearer " + token + "\x01\x01") }

func TestOAuthBearerExchange(t *testing.T) {
	is := NewTestIssuer(t, "")
	now := testNow
	cfg := oauthSASL(t, is, &now)
	ctx := context.Background()

	s := NewSession("SASL_PLAINTEXT", ProtocolSASLPlaintext, cfg)
	if err := s.Handshake(MechanismOAuthBearer, 1); err != nil {
		t.Fatal(err)
	}
	if reply, err := s.Authenticate(ctx, bearer(is.Sign(t, "ES256", "", claims(nil)))); err != nil || len(reply) != 0 {
		t.Fatalf("valid token: %q, %v", reply, err)
	}
	if !s.Authenticated() || s.Principal() != "User:alice" || s.SessionLifetimeMs() != 0 {
		t.Fatalf("after a valid token: %v %s %d", s.Authenticated(), s.Principal(), s.SessionLifetimeMs())
	}

	// A refused token: the error JSON as a challenge, then the client's %x01 fails the exchange
	// with that JSON as the message.
	s = NewSession("SASL_PLAINTEXT", ProtocolSASLPlaintext, cfg)
	s.Handshake(MechanismOAuthBearer, 1)
	reply, err := s.Authenticate(ctx, bearer(is.Sign(t, "ES256", "", claims(map[string]any{"aud": "x"}))))
	if err != nil || string(reply) != `{"status":"invalid_token"}` || s.Authenticated() {
		t.Fatalf("refused token: %q, %v", reply, err)
	}
	_, err = s.Authenticate(ctx, []byte{1})
	if !errors.Is(err, ErrAuthenticationFailed) || FailureMessage(err) != `{"status":"invalid_token"}` || !s.CloseAfterReply() {
		t.Fatalf("after the challenge: %v", err)
	}

	// An authorization id other than the token's subject.
	s = NewSession("SASL_PLAINTEXT", ProtocolSASLPlaintext, cfg)
	s.Handshake(MechanismOAuthBearer, 1)
	msg := "n,a=bob,\x01auth=Bearer " + is.Sign(t, "ES256", "", claims(nil)) + "\x01\x01"
	if _, err := s.Authenticate(ctx, []byte(msg)); !errors.Is(err, ErrAuthenticationFailed) {
		t.Fatalf("authzid bob for alice's token: %v", err)
	}
}

func TestReauthentication(t *testing.T) {
	is := NewTestIssuer(t, "")
	now := testNow
	cfg := oauthSASL(t, is, &now)
	cfg.MaxReauth = map[string]time.Duration{MechanismPlain: 2 * time.Second, MechanismOAuthBearer: 2 * time.Hour}
	ctx := context.Background()

	s := NewSession("SASL_PLAINTEXT", ProtocolSASLPlaintext, cfg)
	s.Handshake(MechanismPlain, 1)
	if _, err := s.Authenticate(ctx, []byte("\x00alice\x00pw")); err != nil {
		t.Fatal(err)
	}
	if s.SessionLifetimeMs() != 2000 || s.Expired() {
		t.Fatalf("lifetime %d, expired %v", s.SessionLifetimeMs(), s.Expired())
	}
	now = now.Add(1500 * time.Millisecond)
	if err := s.Handshake(MechanismPlain, 1); err != nil {
		t.Fatalf("re-authentication handshake: %v", err)
	}
	if s.Authenticated() {
		t.Fatal("authenticated while re-authenticating")
	}
	if _, err := s.Authenticate(ctx, []byte("\x00alice\x00pw")); err != nil || !s.Authenticated() {
		t.Fatalf("re-authentication: %v", err)
	}
	now = now.Add(1999 * time.Millisecond)
	if s.Expired() {
		t.Fatal("expired before the new lifetime ended")
	}
	now = now.Add(time.Millisecond)
	if !s.Expired() {
		t.Fatal("not expired at the end of its lifetime")
	}

	// Another principal on re-authentication is refused, with Kafka's message.
	s = NewSession("SASL_PLAINTEXT", ProtocolSASLPlaintext, cfg)
	s.Handshake(MechanismPlain, 1)
	s.Authenticate(ctx, []byte("\x00alice\x00pw"))
	s.Handshake(MechanismPlain, 1)
	_, err := s.Authenticate(ctx, []byte("\x00bob\x00pw"))
	if !errors.Is(err, ErrAuthenticationFailed) || !strings.Contains(FailureMessage(err), "Cannot change principals") || !s.CloseAfterReply() {
		t.Fatalf("bob re-authenticating alice's connection: %v", err)
	}
	// And so is another mechanism.
	s = NewSession("SASL_PLAINTEXT", ProtocolSASLPlaintext, cfg)
	s.Handshake(MechanismPlain, 1)
	s.Authenticate(ctx, []byte("\x00alice\x00pw"))
	if err := s.Handshake(MechanismOAuthBearer, 1); err != kerr.IllegalSaslState || !s.CloseAfterReply() {
		t.Fatalf("mechanism change: %v", err)
	}

	// A token's own expiry shortens the session: exp is an hour away, the config allows two.
	now = testNow
	s = NewSession("SASL_PLAINTEXT", ProtocolSASLPlaintext, cfg)
	s.Handshake(MechanismOAuthBearer, 1)
	if _, err := s.Authenticate(ctx, bearer(is.Sign(t, "RS256", "", claims(map[string]any{"exp": now.Add(time.Hour).Unix()})))); err != nil {
		t.Fatal(err)
	}
	if got := s.SessionLifetimeMs(); got != time.Hour.Milliseconds() {
		t.Fatalf("OAUTHBEARER lifetime %d, want the token's hour", got)
	}

	// Without connections.max.reauth.ms a second handshake is out of order, as before.
	cfg.MaxReauth = nil
	s = NewSession("SASL_PLAINTEXT", ProtocolSASLPlaintext, cfg)
	s.Handshake(MechanismPlain, 1)
	s.Authenticate(ctx, []byte("\x00alice\x00pw"))
	if s.SessionLifetimeMs() != 0 || s.Expired() {
		t.Fatal("a session without connections.max.reauth.ms has a lifetime")
	}
	if err := s.Handshake(MechanismPlain, 1); err != kerr.IllegalSaslState {
		t.Fatalf("second handshake: %v", err)
	}
}

// FuzzOAuthBearer feeds arbitrary first messages to the OAUTHBEARER server side and arbitrary
// tokens to the JWT parser and validator: neither may panic, and nothing unsigned by the key
// set may authenticate.
func FuzzOAuthBearer(f *testing.F) {
	is := NewTestIssuer(f, "")
	f.Add(bearer(is.Sign(f, "ES256", "", claims(nil))))
	f.Add(bearer(is.Sign(f, "none", "", claims(nil))))
	f.Add([]byte("n,a=x,\x01auth=Bearer e30.e30.\x01k=v\x01\x01"))
	now := testNow
	cfg := oauthSASL(f, is, &now)
	f.Fuzz(func(t *testing.T, msg []byte) {
		if j, err := ParseJWT(string(msg)); err == nil && j.Claims == nil {
			t.Fatal("parsed a JWT without claims")
		}
		m, perr := ParseOAuthBearerMessage(msg)
		s := NewSession("SASL_PLAINTEXT", ProtocolSASLPlaintext, cfg)
		if err := s.Handshake(MechanismOAuthBearer, 1); err != nil {
			t.Fatal(err)
		}
		s.Authenticate(context.Background(), msg)
		if s.Authenticated() {
			if perr != nil {
				t.Fatalf("authenticated from a malformed message %q", msg)
			}
			if _, err := cfg.OAuth.Validate(m.Token); err != nil {
				t.Fatalf("authenticated with a token the validator refuses: %v", err)
			}
		}
	})
}

func TestLoadSASLOAuthBearerAndReauth(t *testing.T) {
	is := NewTestIssuer(t, "")
	jwks := writeJWKS(t, t.TempDir(), is.JWKS())
	raw := map[string]string{
		"sasl.enabled.mechanisms":                                               "PLAIN,OAUTHBEARER",
		"sasl.oauthbearer.jwks.endpoint.url":                                    "file:///nonexistent.json",
		"listener.name.sasl_ssl.oauthbearer.sasl.oauthbearer.jwks.endpoint.url": "file://" + jwks,
		"sasl.oauthbearer.expected.audience":                                    "a, b",
		"connections.max.reauth.ms":                                             "5000",
		"listener.name.sasl_ssl.oauthbearer.connections.max.reauth.ms":          "1000",
	}
	c, err := LoadSASL(Props{Raw: raw, Listener: "SASL_SSL"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxReauth[MechanismPlain] != 5*time.Second || c.MaxReauth[MechanismOAuthBearer] != time.Second {
		t.Fatalf("connections.max.reauth.ms: %v", c.MaxReauth)
	}
	if c.OAuth == nil || len(c.OAuth.Audience) != 2 || c.OAuth.ClockSkew != 30*time.Second || c.OAuth.SubClaim != "sub" {
		t.Fatalf("OAUTHBEARER: %+v", c.OAuth)
	}
	for name, change := range map[string][2]string{
		"no JWKS":       {"listener.name.sasl_ssl.oauthbearer.sasl.oauthbearer.jwks.endpoint.url", ""},
		"http JWKS":     {"listener.name.sasl_ssl.oauthbearer.sasl.oauthbearer.jwks.endpoint.url", "https://idp/jwks"},
		"missing file":  {"listener.name.sasl_ssl.oauthbearer.sasl.oauthbearer.jwks.endpoint.url", "file:///nonexistent.json"},
		"bad reauth":    {"connections.max.reauth.ms", "-1"},
		"bad skew":      {"sasl.oauthbearer.clock.skew.seconds", "soon"},
		"bad mechanism": {"sasl.enabled.mechanisms", "GSSAPI"},
		"bad JAAS":      {"listener.name.sasl_ssl.oauthbearer.sasl.jaas.config", "m required"},
	} {
		bad := map[string]string{}
		for k, v := range raw {
			bad[k] = v
		}
		bad[change[0]] = change[1]
		if _, err := LoadSASL(Props{Raw: bad, Listener: "SASL_SSL"}, nil); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}
