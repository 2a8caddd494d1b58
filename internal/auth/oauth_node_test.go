package auth_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/clustertest"
)

// oauthNode starts a node whose SASL_PLAINTEXT listener enables OAUTHBEARER (keys of is) and
// PLAIN (alice and bob).
func oauthNode(t *testing.T, is *auth.TestIssuer, extra ...string) *clustertest.Node {
	t.Helper()
	jwks := clustertest.WriteFile(t, t.TempDir(), "jwks.json", is.JWKS())
	return clustertest.StartNode(t, append([]string{
		"listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0",
		"listener.name.sasl_plaintext.sasl.enabled.mechanisms", "OAUTHBEARER,PLAIN",
		"listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config",
		"org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config",
		`org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret" user_bob="bob-secret";`,
		"sasl.oauthbearer.jwks.endpoint.url", "file://" + jwks,
		"sasl.oauthbearer.expected.audience", "kafka,other",
		"sasl.oauthbearer.expected.issuer", "https://idp.example",
		"connection.failed.authentication.delay.ms", "1",
	}, extra...)...)
}

// liveClaims are claims valid now, with changes (a nil value deletes a claim).
func liveClaims(changes map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{"sub": "alice", "iss": "https://idp.example", "aud": "kafka",
		"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range changes {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func oauthOpt(token string) kgo.Opt { return kgo.SASL(oauth.Auth{Token: token}.AsMechanism()) }

// saslV1 runs a v1 handshake for mech and returns its error code.
func saslV1(t *testing.T, c *rawConn, mech string) int16 {
	t.Helper()
	req := kmsg.NewPtrSASLHandshakeRequest()
	req.Version, req.Mechanism = 1, mech
	resp := kmsg.NewPtrSASLHandshakeResponse()
	if err := c.request(req, resp); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	return resp.ErrorCode
}

func saslAuthenticate(t *testing.T, c *rawConn, tok []byte) *kmsg.SASLAuthenticateResponse {
	t.Helper()
	req := kmsg.NewPtrSASLAuthenticateRequest()
	req.Version, req.SASLAuthBytes = 2, tok
	resp := kmsg.NewPtrSASLAuthenticateResponse()
	if err := c.request(req, resp); err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return resp
}

func TestOAuthBearerAgainstNode(t *testing.T) {
	is := auth.NewTestIssuer(t, "")
	other := auth.NewTestIssuer(t, "other-")
	n := oauthNode(t, is)
	addr := n.ListenerAddr("SASL_PLAINTEXT")

	for _, alg := range []string{"RS256", "PS256", "ES256", "ES384"} {
		if _, err := metadataPort(t, newClient(t, addr, oauthOpt(is.Sign(t, alg, "", liveClaims(nil))))); err != nil {
			t.Fatalf("valid %s token: %v", alg, err)
		}
	}
	now := time.Now()
	bad := map[string]string{
		"expired":         is.Sign(t, "RS256", "", liveClaims(map[string]any{"exp": now.Add(-time.Hour).Unix()})),
		"not yet valid":   is.Sign(t, "RS256", "", liveClaims(map[string]any{"nbf": now.Add(time.Hour).Unix()})),
		"wrong audience":  is.Sign(t, "RS256", "", liveClaims(map[string]any{"aud": "billing"})),
		"wrong issuer":    is.Sign(t, "RS256", "", liveClaims(map[string]any{"iss": "https://evil.example"})),
		"bad signature":   other.Sign(t, "ES256", "p256", liveClaims(nil)),
		"unknown kid":     other.Sign(t, "RS256", "", liveClaims(nil)),
		"alg none":        is.Sign(t, "none", "", liveClaims(nil)),
		"no subject":      is.Sign(t, "RS256", "", liveClaims(map[string]any{"sub": nil})),
		"not even a JWT":  "abc.def.ghi",
		"other algorithm": is.Sign(t, "ES256", "rsa", liveClaims(nil)),
	}
	for name, tok := range bad {
		if _, err := metadataPort(t, newClient(t, addr, oauthOpt(tok))); err == nil {
			t.Errorf("%s: the token was accepted", name)
		}
	}

	// On the wire, as Kafka does it: the error JSON as a challenge, the client's %x01, then
	// SASL_AUTHENTICATION_FAILED with the JSON as the message, and the connection closes.
	c := dialRaw(t, addr)
	if code := saslV1(t, c, "OAUTHBEARER"); code != 0 {
		t.Fatalf("handshake: code %d", code)
	}
	resp := saslAuthenticate(t, c, []byte("n,,\x01auth=Bearer "+bad["expired"]+"\x01\x01"))
	if resp.ErrorCode != 0 || string(resp.SASLAuthBytes) != `{"status":"invalid_token"}` {
		t.Fatalf("expired token: code %d, challenge %q", resp.ErrorCode, resp.SASLAuthBytes)
	}
	resp = saslAuthenticate(t, c, []byte{1})
	if resp.ErrorCode != kerr.SaslAuthenticationFailed.Code || resp.ErrorMessage == nil || *resp.ErrorMessage != `{"status":"invalid_token"}` {
		t.Fatalf("after %%x01: code %d, message %v", resp.ErrorCode, resp.ErrorMessage)
	}
	c.closed()

	// A good token on the wire, with an extension; the principal is the subject.
	c = dialRaw(t, addr)
	saslV1(t, c, "OAUTHBEARER")
	resp = saslAuthenticate(t, c, []byte("n,,\x01auth=Bearer "+is.Sign(t, "ES256", "", liveClaims(nil))+"\x01traceId=42\x01\x01"))
	if resp.ErrorCode != 0 || len(resp.SASLAuthBytes) != 0 || resp.SessionLifetimeMillis != 0 {
		t.Fatalf("valid token: %+v", resp)
	}
	if err := metadataV1(c); err != nil {
		t.Fatal(err)
	}
}

// reauthCounter is a kgo.Logger that counts franz-go's in-place re-authentications and the
// ones that failed.
type reauthCounter struct{ n, failed atomic.Int32 }

func (r *reauthCounter) Level() kgo.LogLevel { return kgo.LogLevelDebug }
func (r *reauthCounter) Log(_ kgo.LogLevel, msg string, _ ...any) {
	switch {
	case strings.Contains(msg, "reauth failed"):
		r.failed.Add(1)
	case strings.Contains(msg, "reauthenticating"):
		r.n.Add(1)
	}
}

func TestReauthenticationKeepsClientsProducing(t *testing.T) {
	is := auth.NewTestIssuer(t, "")
	n := oauthNode(t, is, "connections.max.reauth.ms", "2000")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(newClient(t, n.ListenerAddr("PLAINTEXT"))).CreateTopic(ctx, 1, 1, nil, "reauth"); err != nil {
		t.Fatal(err)
	}
	addr := n.ListenerAddr("SASL_PLAINTEXT")
	var plainCount, oauthCount reauthCounter
	clients := []*kgo.Client{
		newClient(t, addr, kgo.SASL(plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism()),
			kgo.DefaultProduceTopic("reauth"), kgo.WithLogger(&plainCount)),
		newClient(t, addr, oauthOpt(is.Sign(t, "RS256", "", liveClaims(nil))),
			kgo.DefaultProduceTopic("reauth"), kgo.WithLogger(&oauthCount)),
	}
	// Produce at a steady pace across several 2s session lifetimes: franz-go re-authenticates
	// on the same connections, and no produce fails.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for plainCount.n.Load() < 3 || oauthCount.n.Load() < 3 {
		select {
		case <-ctx.Done():
			t.Fatalf("re-authentications: PLAIN %d, OAUTHBEARER %d", plainCount.n.Load(), oauthCount.n.Load())
		case <-tick.C:
		}
		for i, cl := range clients {
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("v")}).FirstErr(); err != nil {
				t.Fatalf("client %d: produce after %d/%d re-authentications: %v", i, plainCount.n.Load(), oauthCount.n.Load(), err)
			}
		}
	}
	if f := plainCount.failed.Load() + oauthCount.failed.Load(); f != 0 {
		t.Fatalf("%d re-authentications failed", f)
	}
}

func TestExpiredSessionClosedOnNextRequest(t *testing.T) {
	is := auth.NewTestIssuer(t, "")
	n := oauthNode(t, is, "connections.max.reauth.ms", "1000",
		"listener.name.sasl_plaintext.oauthbearer.connections.max.reauth.ms", "3000")
	addr := n.ListenerAddr("SASL_PLAINTEXT")
	plainAuth := []byte("\x00alice\x00alice-secret")

	// The per-mechanism form wins for OAUTHBEARER; the token's hour is longer.
	c := dialRaw(t, addr)
	saslV1(t, c, "OAUTHBEARER")
	if resp := saslAuthenticate(t, c, []byte("n,,\x01auth=Bearer "+is.Sign(t, "ES256", "", liveClaims(nil))+"\x01\x01")); resp.ErrorCode != 0 || resp.SessionLifetimeMillis != 3000 {
		t.Fatalf("OAUTHBEARER: code %d, lifetime %d, want 3000", resp.ErrorCode, resp.SessionLifetimeMillis)
	}
	// A token expiring sooner than the configured lifetime cuts it short.
	c = dialRaw(t, addr)
	saslV1(t, c, "OAUTHBEARER")
	exp := time.Now().Add(2 * time.Second).Unix()
	if resp := saslAuthenticate(t, c, []byte("n,,\x01auth=Bearer "+is.Sign(t, "ES256", "", liveClaims(map[string]any{"exp": exp}))+"\x01\x01")); resp.ErrorCode != 0 || resp.SessionLifetimeMillis > 2000 {
		t.Fatalf("short token: code %d, lifetime %d", resp.ErrorCode, resp.SessionLifetimeMillis)
	}

	// Re-authentication in time keeps the connection; another principal closes it.
	c = dialRaw(t, addr)
	saslV1(t, c, "PLAIN")
	if resp := saslAuthenticate(t, c, plainAuth); resp.ErrorCode != 0 || resp.SessionLifetimeMillis != 1000 {
		t.Fatalf("PLAIN: code %d, lifetime %d, want 1000", resp.ErrorCode, resp.SessionLifetimeMillis)
	}
	if code := saslV1(t, c, "PLAIN"); code != 0 {
		t.Fatalf("re-authentication handshake: code %d", code)
	}
	if resp := saslAuthenticate(t, c, plainAuth); resp.ErrorCode != 0 || resp.SessionLifetimeMillis != 1000 {
		t.Fatalf("re-authentication: code %d, lifetime %d", resp.ErrorCode, resp.SessionLifetimeMillis)
	}
	if err := metadataV1(c); err != nil {
		t.Fatalf("after re-authentication: %v", err)
	}
	saslV1(t, c, "PLAIN")
	resp := saslAuthenticate(t, c, []byte("\x00bob\x00bob-secret"))
	if resp.ErrorCode != kerr.SaslAuthenticationFailed.Code || resp.ErrorMessage == nil || !strings.Contains(*resp.ErrorMessage, "Cannot change principals") {
		t.Fatalf("bob re-authenticating alice's connection: code %d, message %v", resp.ErrorCode, resp.ErrorMessage)
	}
	c.closed()

	// A client that ignores the lifetime is served until it ends, then its next request closes
	// the connection.
	c = dialRaw(t, addr)
	saslV1(t, c, "PLAIN")
	saslAuthenticate(t, c, plainAuth)
	authenticated := time.Now()
	served := 0
	deadline := time.Now().Add(20 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatal("the expired session was never closed")
		}
		err := metadataV1(c)
		if err == nil {
			served++
			time.Sleep(50 * time.Millisecond) // pace the polling
			continue
		}
		if since := time.Since(authenticated); since < time.Second {
			t.Fatalf("closed %v after authentication, before the 1s lifetime ended: %v", since, err)
		}
		if !errors.Is(err, io.EOF) && !isReset(err) {
			t.Fatalf("want the connection closed, got %v", err)
		}
		break
	}
	if served == 0 {
		t.Fatal("no request was served within the lifetime")
	}
}
