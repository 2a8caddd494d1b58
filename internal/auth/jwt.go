package auth

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	_ "crypto/sha256" // SHA-256 for RS256, PS256, ES256
	_ "crypto/sha512" // SHA-384 and SHA-512
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"
	"time"
)

// maxJWTSize bounds a token before anything is decoded. A SASL frame is already bounded by
// saslMaxReceive in the server; this keeps the parser safe when called on its own.
const maxJWTSize = 64 << 10

// JWT is a parsed, not yet verified, JSON Web Token in compact form (RFC 7519):
// base64url(header) "." base64url(claims) "." base64url(signature).
type JWT struct {
	// Alg and Kid are the header's "alg" and "kid".
	Alg, Kid string
	// Claims are the token's claims, numbers kept as json.Number.
	Claims map[string]any
	// signingInput is header "." claims, as the issuer signed it.
	signingInput []byte
	signature    []byte
}

// ParseJWT splits and decodes a compact JWT. It checks only the form: three base64url parts,
// a JSON object header naming an algorithm and without critical extensions, a JSON object of
// claims. The signature and the claims are checked by JWTValidator.
func ParseJWT(token string) (*JWT, error) {
	if len(token) > maxJWTSize {
		return nil, errors.New("token too large")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("a compact JWT has 3 parts, not %d", len(parts))
	}
	var raw [3][]byte
	for i, p := range parts {
		b, err := base64.RawURLEncoding.DecodeString(p)
		if err != nil {
			return nil, fmt.Errorf("part %d: %w", i+1, err)
		}
		raw[i] = b
	}
	var header struct {
		Alg  string          `json:"alg"`
		Kid  string          `json:"kid"`
		Crit json.RawMessage `json:"crit"`
	}
	if err := json.Unmarshal(raw[0], &header); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if header.Alg == "" {
		return nil, errors.New("header: no alg")
	}
	if header.Crit != nil {
		// RFC 7515 4.1.11: a recipient must refuse critical extensions it does not understand,
		// and Gregor understands none.
		return nil, errors.New("header: critical extensions are not supported")
	}
	claims, err := decodeObject(raw[1])
	if err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	return &JWT{
		Alg:          header.Alg,
		Kid:          header.Kid,
		Claims:       claims,
		signingInput: []byte(parts[0] + "." + parts[1]),
		signature:    raw[2],
	}, nil
}

func decodeObject(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("not a JSON object")
	}
	if d.More() {
		return nil, errors.New("data after the JSON object")
	}
	return m, nil
}

// jwsAlgs are the signature algorithms accepted (RFC 7518 3.1); "none" and the HMAC ones
// (a shared secret has no place in a public key set) are not among them.
var jwsAlgs = map[string]struct {
	hash crypto.Hash
	kty  string
	pss  bool
	crv  string // for EC keys
}{
	"RS256": {crypto.SHA256, "RSA", false, ""},
	"RS384": {crypto.SHA384, "RSA", false, ""},
	"RS512": {crypto.SHA512, "RSA", false, ""},
	"PS256": {crypto.SHA256, "RSA", true, ""},
	"PS384": {crypto.SHA384, "RSA", true, ""},
	"PS512": {crypto.SHA512, "RSA", true, ""},
	"ES256": {crypto.SHA256, "EC", false, "P-256"},
	"ES384": {crypto.SHA384, "EC", false, "P-384"},
	"ES512": {crypto.SHA512, "EC", false, "P-521"},
}

// verify checks the token's signature with key.
func (t *JWT) verify(key *JWK) error {
	a, ok := jwsAlgs[t.Alg]
	if !ok {
		return fmt.Errorf("algorithm %q is not accepted", t.Alg)
	}
	h := a.hash.New()
	h.Write(t.signingInput)
	sum := h.Sum(nil)
	switch pub := key.Key.(type) {
	case *rsa.PublicKey:
		if a.kty != "RSA" {
			return fmt.Errorf("key %q is RSA, the token is %s", key.Kid, t.Alg)
		}
		if a.pss {
			return rsa.VerifyPSS(pub, a.hash, sum, t.signature, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
		return rsa.VerifyPKCS1v15(pub, a.hash, sum, t.signature)
	case *ecdsa.PublicKey:
		if a.kty != "EC" || key.Crv != a.crv {
			return fmt.Errorf("key %q is EC %s, the token is %s", key.Kid, key.Crv, t.Alg)
		}
		// RFC 7518 3.4: R and S, each as long as the curve's order, concatenated.
		n := (pub.Curve.Params().BitSize + 7) / 8
		if len(t.signature) != 2*n {
			return errors.New("bad ECDSA signature length")
		}
		r := new(big.Int).SetBytes(t.signature[:n])
		s := new(big.Int).SetBytes(t.signature[n:])
		if !ecdsa.Verify(pub, sum, r, s) {
			return errors.New("bad ECDSA signature")
		}
		return nil
	}
	return errors.New("unsupported key type")
}

// Token is what a valid JWT says about its bearer.
type Token struct {
	// Principal is the value of the subject claim (sasl.oauthbearer.sub.claim.name).
	Principal string
	// Expiry is the "exp" claim; IssuedAt the "iat" claim.
	Expiry, IssuedAt time.Time
	// Scope is the scope claim (sasl.oauthbearer.scope.claim.name): a space-separated
	// string or a list of strings; nil when absent.
	Scope []string
}

// JWTValidator checks tokens as Kafka's broker-side OAUTHBEARER validator does: a signature
// by a key of the JWKS, a registered algorithm, "exp" and "iat" present, "exp" and "nbf"
// honoured within the clock skew, the expected audience and issuer when configured, and a
// non-empty subject.
type JWTValidator struct {
	// Keys is the key set the signatures are checked with.
	Keys *JWKSource
	// Audience is sasl.oauthbearer.expected.audience: when not empty, the token's "aud" must
	// name one of these.
	Audience []string
	// Issuer is sasl.oauthbearer.expected.issuer: when set, "iss" must equal it.
	Issuer string
	// SubClaim and ScopeClaim name the subject and scope claims ("sub" and "scope").
	SubClaim, ScopeClaim string
	// ClockSkew is sasl.oauthbearer.clock.skew.seconds.
	ClockSkew time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Validate parses and checks token.
func (v *JWTValidator) Validate(token string) (Token, error) {
	t, err := ParseJWT(token)
	if err != nil {
		return Token{}, err
	}
	if _, ok := jwsAlgs[t.Alg]; !ok {
		return Token{}, fmt.Errorf("algorithm %q is not accepted", t.Alg)
	}
	key, err := v.Keys.find(t.Kid, t.Alg)
	if err != nil {
		return Token{}, err
	}
	if err := t.verify(key); err != nil {
		return Token{}, err
	}
	return v.checkClaims(t.Claims)
}

func (v *JWTValidator) checkClaims(c map[string]any) (Token, error) {
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	var tok Token
	var err error
	var ok bool
	if tok.Expiry, ok, err = numericDate(c, "exp"); err != nil || !ok {
		return Token{}, errors.Join(errors.New("no valid exp claim"), err)
	}
	if tok.IssuedAt, ok, err = numericDate(c, "iat"); err != nil || !ok {
		return Token{}, errors.Join(errors.New("no valid iat claim"), err)
	}
	if !now.Before(tok.Expiry.Add(v.ClockSkew)) {
		return Token{}, fmt.Errorf("expired at %s", tok.Expiry.UTC().Format(time.RFC3339))
	}
	nbf, ok, err := numericDate(c, "nbf")
	if err != nil {
		return Token{}, err
	}
	if ok && now.Add(v.ClockSkew).Before(nbf) {
		return Token{}, fmt.Errorf("not valid before %s", nbf.UTC().Format(time.RFC3339))
	}
	if v.Issuer != "" {
		if iss, _ := c["iss"].(string); iss != v.Issuer {
			return Token{}, fmt.Errorf("issuer %q is not the expected one", iss)
		}
	}
	if len(v.Audience) > 0 {
		aud, err := stringOrList(c["aud"])
		if err != nil {
			return Token{}, fmt.Errorf("aud: %w", err)
		}
		if !slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(v.Audience, a) }) {
			return Token{}, fmt.Errorf("audience %q is not an expected one", aud)
		}
	}
	sub, _ := c[v.SubClaim].(string)
	if strings.TrimSpace(sub) == "" {
		return Token{}, fmt.Errorf("no %s claim", v.SubClaim)
	}
	tok.Principal = sub
	if s, present := c[v.ScopeClaim]; present {
		if str, isStr := s.(string); isStr {
			tok.Scope = strings.Fields(str)
		} else if tok.Scope, err = stringOrList(s); err != nil {
			return Token{}, fmt.Errorf("%s: %w", v.ScopeClaim, err)
		}
	}
	return tok, nil
}

// numericDate reads a NumericDate claim (seconds since the epoch, possibly fractional).
func numericDate(c map[string]any, name string) (time.Time, bool, error) {
	v, present := c[name]
	if !present {
		return time.Time{}, false, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false, fmt.Errorf("%s is not a number", name)
	}
	f, err := n.Float64()
	// Beyond ±2^53 seconds a float has no exact second, and time.Unix would overflow.
	if err != nil || math.IsNaN(f) || math.Abs(f) > 1<<53 {
		return time.Time{}, false, fmt.Errorf("%s is not a date", name)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true, nil
}

// stringOrList reads a claim that is a string or a list of strings ("aud", "scope" as a list).
func stringOrList(v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{x}, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, errors.New("not a list of strings")
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, errors.New("not a string or a list of strings")
}
