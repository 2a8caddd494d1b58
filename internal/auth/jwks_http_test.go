package auth

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// jwksServer is an https endpoint serving a key set that the test swaps, counting fetches.
type jwksServer struct {
	srv *httptest.Server

	mu      sync.Mutex
	body    []byte
	status  int
	fetches int
	hang    chan struct{} // when set, requests wait for it to close
}

func newJWKSServer(t *testing.T, body []byte) *jwksServer {
	t.Helper()
	js := &jwksServer{body: body, status: http.StatusOK}
	js.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		js.mu.Lock()
		js.fetches++
		body, status, hang := js.body, js.status, js.hang
		js.mu.Unlock()
		if hang != nil {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(js.srv.Close)
	return js
}

func (js *jwksServer) set(body []byte, status int) {
	js.mu.Lock()
	defer js.mu.Unlock()
	js.body, js.status = body, status
}

func (js *jwksServer) count() int {
	js.mu.Lock()
	defer js.mu.Unlock()
	return js.fetches
}

// TestJWKSOverHTTPS: the set is fetched at start, again for a token whose key id it lacks
// (a rotated key), at most once every jwksMissingKidInterval for unknown ids, and again when
// the refresh interval has passed; a failed fetch keeps the keys already known.
func TestJWKSOverHTTPS(t *testing.T) {
	is := NewTestIssuer(t, "")
	next := NewTestIssuer(t, "next-")
	js := newJWKSServer(t, is.JWKS())
	now := testNow
	keys, err := NewJWKSourceWith(js.srv.URL+"/jwks", JWKSOptions{
		Client: js.srv.Client(), Refresh: time.Hour, Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	// The tokens' clock stays put (they expire an hour after testNow); the key set's moves.
	v := &JWTValidator{Keys: keys, SubClaim: "sub", ScopeClaim: "scope", Now: func() time.Time { return testNow }}
	if _, err := v.Validate(is.Sign(t, "RS256", "", claims(nil))); err != nil {
		t.Fatalf("token of the fetched set: %v", err)
	}
	if n := js.count(); n != 1 {
		t.Fatalf("%d fetches, want 1 (at start)", n)
	}

	// The provider rotates a key in: a token with its id makes the broker fetch at once.
	js.set(append([]byte(nil), next.JWKS()...), http.StatusOK)
	if _, err := v.Validate(next.Sign(t, "ES256", "", claims(nil))); err != nil {
		t.Fatalf("token of a rotated-in key: %v", err)
	}
	if n := js.count(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
	// Unknown key ids do not make it fetch again within jwksMissingKidInterval.
	for range 5 {
		if _, err := v.Validate(is.Sign(t, "RS256", "made-up", claims(nil))); err == nil {
			t.Fatal("a token with an unknown key id was accepted")
		}
	}
	if n := js.count(); n != 2 {
		t.Fatalf("%d fetches after unknown key ids, want 2", n)
	}

	// A failing endpoint keeps the keys known; the refresh is retried after the backoff.
	js.set([]byte("oops"), http.StatusInternalServerError)
	now = now.Add(time.Hour)
	if _, err := v.Validate(next.Sign(t, "ES256", "", claims(nil))); err != nil {
		t.Fatalf("after a failed refresh: %v", err)
	}
	if n := js.count(); n != 3 {
		t.Fatalf("%d fetches, want 3 (the periodic refresh)", n)
	}
	now = now.Add(time.Second)
	v.Validate(next.Sign(t, "ES256", "", claims(nil)))
	if n := js.count(); n != 3 {
		t.Fatalf("%d fetches, want 3 (no retry within the backoff)", n)
	}
	// The periodic refresh picks up a set without the old key.
	js.set(append([]byte(nil), is.JWKS()...), http.StatusOK)
	now = now.Add(jwksRetryBackoff)
	if _, err := v.Validate(is.Sign(t, "RS256", "", claims(nil))); err != nil {
		t.Fatalf("after the retried refresh: %v", err)
	}
	if n := js.count(); n != 4 {
		t.Fatalf("%d fetches, want 4", n)
	}
}

// TestJWKSOverHTTPSStart: the endpoint must answer at start, within the timeout, over TLS the
// broker trusts.
func TestJWKSOverHTTPSStart(t *testing.T) {
	is := NewTestIssuer(t, "")
	js := newJWKSServer(t, is.JWKS())
	// The test server's certificate is not in the system's roots.
	if _, err := NewJWKSourceWith(js.srv.URL, JWKSOptions{}); err == nil {
		t.Fatal("an untrusted https endpoint was accepted")
	}
	js.set([]byte("nope"), http.StatusNotFound)
	if _, err := NewJWKSourceWith(js.srv.URL, JWKSOptions{Client: js.srv.Client()}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("a 404 endpoint: %v", err)
	}
	hang := make(chan struct{})
	defer close(hang)
	js.mu.Lock()
	js.hang = hang
	js.mu.Unlock()
	if _, err := NewJWKSourceWith(js.srv.URL, JWKSOptions{Client: js.srv.Client(), Timeout: 50 * time.Millisecond}); err == nil {
		t.Fatal("an endpoint that never answers was accepted")
	}
	if _, err := NewJWKSourceWith("ftp://idp.example/jwks", JWKSOptions{}); err == nil {
		t.Fatal("an ftp:// URL was accepted")
	}
}

// TestLoadOAuthBearerHTTPS: the listener's configs name the https endpoint, its refresh
// interval, and (in the JAAS entry's options) the truststore that verifies it.
func TestLoadOAuthBearerHTTPS(t *testing.T) {
	is := NewTestIssuer(t, "")
	js := newJWKSServer(t, is.JWKS())
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: js.srv.Certificate().Raw})
	trust := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(trust, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := LoadOAuthBearer(Props{Listener: "SASL_SSL", Raw: map[string]string{
		"sasl.oauthbearer.jwks.endpoint.url":        js.srv.URL,
		"sasl.oauthbearer.jwks.endpoint.refresh.ms": "60000",
		"oauthbearer.sasl.jaas.config": `org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required ` +
			`ssl.truststore.location="` + trust + `" ssl.truststore.type="PEM";`,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if v.Keys.opts.Refresh != time.Minute {
		t.Fatalf("refresh %v, want 1m", v.Keys.opts.Refresh)
	}
	v.Now = func() time.Time { return testNow }
	if _, err := v.Validate(is.Sign(t, "RS256", "", claims(nil))); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOAuthBearer(Props{Listener: "SASL_SSL", Raw: map[string]string{
		"sasl.oauthbearer.jwks.endpoint.url":        js.srv.URL,
		"sasl.oauthbearer.jwks.endpoint.refresh.ms": "soon",
	}}); err == nil {
		t.Fatal("a bad refresh.ms was accepted")
	}
}

// A fetch that hangs (an identity provider down) holds up only the authentication that
// started it: the others go on with the keys known.
func TestJWKSFetchHangBlocksOnlyItsCaller(t *testing.T) {
	is := NewTestIssuer(t, "")
	js := newJWKSServer(t, is.JWKS())
	var clockMu sync.Mutex
	now := testNow
	clock := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	keys, err := NewJWKSourceWith(js.srv.URL+"/jwks", JWKSOptions{Client: js.srv.Client(), Refresh: time.Hour, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	v := &JWTValidator{Keys: keys, SubClaim: "sub", ScopeClaim: "scope", Now: func() time.Time { return testNow }}
	token := is.Sign(t, "RS256", "", claims(nil))

	hang := make(chan struct{})
	js.mu.Lock()
	js.hang = hang
	js.mu.Unlock()
	clockMu.Lock()
	now = now.Add(2 * time.Hour) // the refresh is due
	clockMu.Unlock()
	first := make(chan error, 1)
	go func() { _, err := v.Validate(token); first <- err }()
	deadline := time.Now().Add(10 * time.Second)
	for js.count() < 2 { // the first authentication is fetching, and hangs
		if time.Now().After(deadline) {
			t.Fatal("the due refresh did not start")
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := v.Validate(token); err != nil {
		t.Fatalf("second authentication during the hung fetch: %v", err)
	}
	select {
	case <-first:
		t.Fatal("the second authentication waited for the hung fetch to end")
	default:
	}
	close(hang)
	if err := <-first; err != nil {
		t.Fatalf("the authentication that fetched: %v", err)
	}
}
