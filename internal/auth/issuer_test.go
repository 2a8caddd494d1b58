package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"sync"
	"testing"
)

// TestIssuer signs JWTs the way an identity provider does, for the tests of this package and
// of auth_test: it holds an RSA 2048, an EC P-256 and an EC P-384 key, each with a key id.
type TestIssuer struct {
	RSA  *rsa.PrivateKey
	P256 *ecdsa.PrivateKey
	P384 *ecdsa.PrivateKey
	// Prefix makes the key ids of two issuers differ ("<prefix>rsa", "<prefix>p256", ...).
	Prefix string
}

var (
	rsaKeysMu sync.Mutex
	rsaKeys   = map[string]*rsa.PrivateKey{}
)

// NewTestIssuer returns an issuer; the RSA key of a prefix is made once per test binary, as
// 2048-bit keys are slow to make under the race detector.
func NewTestIssuer(t testing.TB, prefix string) *TestIssuer {
	t.Helper()
	rsaKeysMu.Lock()
	k, ok := rsaKeys[prefix]
	if !ok {
		var err error
		if k, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			t.Fatal(err)
		}
		rsaKeys[prefix] = k
	}
	rsaKeysMu.Unlock()
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &TestIssuer{RSA: k, P256: p256, P384: p384, Prefix: prefix}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// JWKS is the issuer's public key set.
func (is *TestIssuer) JWKS() []byte {
	point := func(k *ecdsa.PrivateKey) (x, y string) {
		b, _ := k.PublicKey.Bytes() // 0x04 || x || y
		n := (len(b) - 1) / 2
		return b64(b[1 : 1+n]), b64(b[1+n:])
	}
	x256, y256 := point(is.P256)
	x384, y384 := point(is.P384)
	keys := []map[string]string{
		{"kty": "RSA", "kid": is.Prefix + "rsa", "use": "sig", "n": b64(is.RSA.N.Bytes()),
			"e": b64(big.NewInt(int64(is.RSA.E)).Bytes())},
		{"kty": "EC", "kid": is.Prefix + "p256", "crv": "P-256", "alg": "ES256",
			"x": x256, "y": y256},
		{"kty": "EC", "kid": is.Prefix + "p384", "crv": "P-384",
			"x": x384, "y": y384},
		{"kty": "oct", "kid": "ignored", "k": "c2VjcmV0"},
	}
	b, _ := json.Marshal(map[string]any{"keys": keys})
	return b
}

// Sign returns a compact JWT of claims signed with alg (RS*, PS* with the RSA key, ES256 with
// P-256, ES384 with P-384) and header kid; kid "" uses the key's own id, "-" sends no kid.
// alg "none" gives an unsigned token.
func (is *TestIssuer) Sign(t testing.TB, alg, kid string, claims map[string]any) string {
	t.Helper()
	if kid == "" {
		switch alg[:2] {
		case "RS", "PS":
			kid = is.Prefix + "rsa"
		case "ES":
			kid = is.Prefix + map[string]string{"ES256": "p256", "ES384": "p384"}[alg]
		}
	}
	header := map[string]string{"alg": alg, "typ": "JWT"}
	if kid != "-" {
		header["kid"] = kid
	}
	hb, _ := json.Marshal(header)
	cb, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := b64(hb) + "." + b64(cb)
	hashOf := map[string]crypto.Hash{"RS256": crypto.SHA256, "RS384": crypto.SHA384, "RS512": crypto.SHA512,
		"PS256": crypto.SHA256, "PS384": crypto.SHA384, "PS512": crypto.SHA512, "ES256": crypto.SHA256, "ES384": crypto.SHA384}
	if alg == "none" {
		return input + "."
	}
	h := hashOf[alg].New()
	h.Write([]byte(input))
	sum := h.Sum(nil)
	var sig []byte
	switch alg[:2] {
	case "RS":
		sig, err = rsa.SignPKCS1v15(rand.Reader, is.RSA, hashOf[alg], sum)
	case "PS":
		sig, err = rsa.SignPSS(rand.Reader, is.RSA, hashOf[alg], sum, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case "ES":
		key, size := is.P256, 32
		if alg == "ES384" {
			key, size = is.P384, 48
		}
		var r, s *big.Int
		r, s, err = ecdsa.Sign(rand.Reader, key, sum)
		if err == nil {
			sig = append(r.FillBytes(make([]byte, size)), s.FillBytes(make([]byte, size))...)
		}
	default:
		t.Fatalf("no signer for %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + b64(sig)
}
