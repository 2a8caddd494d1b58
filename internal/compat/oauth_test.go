package compat

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// es256Token signs claims with key, kid "k1", as an identity provider would.
func es256Token(t *testing.T, key *ecdsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	h, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": "k1"})
	c, _ := json.Marshal(claims)
	input := enc(h) + "." + enc(c)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + enc(append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...))
}

// TestKafkaPythonOAuthBearer runs kafka-python's OAUTHBEARER (a token provider handing it a
// signed JWT) against a listener that checks the signature with a JWKS file. kcat is not used:
// the librdkafka it bundles has no OIDC login, and its unsecured (unsigned) tokens are refused.
func TestKafkaPythonOAuthBearer(t *testing.T) {
	python := need(t, "/usr/bin/python3")
	if err := exec.Command(python, "-c", "import kafka.oauth.abstract").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("kafka-python is not installed: %v", err)
		}
		t.Skip("kafka-python is not installed")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pt, _ := key.PublicKey.Bytes() // 0x04 || x || y
	enc := base64.RawURLEncoding.EncodeToString
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{{"kty": "EC", "crv": "P-256", "kid": "k1",
		"x": enc(pt[1:33]), "y": enc(pt[33:])}}})
	n := clustertest.StartNode(t,
		"listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0",
		"sasl.enabled.mechanisms", "OAUTHBEARER",
		"sasl.oauthbearer.jwks.endpoint.url", "file://"+clustertest.WriteFile(t, t.TempDir(), "jwks.json", jwks),
		"sasl.oauthbearer.expected.audience", "kafka",
		"sasl.oauthbearer.expected.issuer", "https://idp.test",
	)
	createTopic(t, n.ListenerAddr("PLAINTEXT"), "oauth", 1)
	now := time.Now()
	token := es256Token(t, key, map[string]any{"sub": "python-client", "aud": "kafka", "iss": "https://idp.test",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	const count = 3
	out := run(t, "", python, "testdata/oauth_roundtrip.py", n.ListenerAddr("SASL_PLAINTEXT"), "oauth", fmt.Sprint(count), token)
	if lines := strings.Fields(out); len(lines) != count || lines[0] != "v0" {
		t.Fatalf("kafka-python consumed %q, want %d records from v0", out, count)
	}
}
