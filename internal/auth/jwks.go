package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"sync"
	"time"
)

// minRSABits is the smallest RSA key accepted for signatures, as in Kafka's JOSE library.
const minRSABits = 2048

// maxJWKSSize bounds a key set file.
const maxJWKSSize = 4 << 20

// JWK is one public key of a JSON Web Key Set (RFC 7517), usable for signatures.
type JWK struct {
	// Kid is the key id; Alg, when set, the one algorithm the key may be used with.
	Kid, Alg string
	// Crv is an EC key's curve ("P-256"); empty for RSA.
	Crv string
	// Key is an *rsa.PublicKey or an *ecdsa.PublicKey.
	Key crypto.PublicKey
}

// ParseJWKS reads a JSON Web Key Set. Keys that are not signature keys Gregor can use (other
// types, "use" other than "sig", RSA under 2048 bits) are skipped, as a JOSE library would;
// a key of a known type that is malformed is an error.
func ParseJWKS(b []byte) ([]JWK, error) {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			Use string `json:"use"`
			Alg string `json:"alg"`
			N   string `json:"n"`
			E   string `json:"e"`
			Crv string `json:"crv"`
			X   string `json:"x"`
			Y   string `json:"y"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	if set.Keys == nil {
		return nil, errors.New(`JWKS: no "keys"`)
	}
	var keys []JWK
	for i, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		jwk := JWK{Kid: k.Kid, Alg: k.Alg}
		switch k.Kty {
		case "RSA":
			n, err1 := base64.RawURLEncoding.DecodeString(k.N)
			e, err2 := base64.RawURLEncoding.DecodeString(k.E)
			if err := errors.Join(err1, err2); err != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 {
				return nil, fmt.Errorf("JWKS: key %d (%q): bad RSA n or e", i, k.Kid)
			}
			pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
			if pub.E < 3 || pub.E%2 == 0 {
				return nil, fmt.Errorf("JWKS: key %d (%q): bad RSA exponent", i, k.Kid)
			}
			if pub.N.BitLen() < minRSABits {
				continue
			}
			jwk.Key = pub
		case "EC":
			var ec elliptic.Curve
			switch k.Crv {
			case "P-256":
				ec = elliptic.P256()
			case "P-384":
				ec = elliptic.P384()
			case "P-521":
				ec = elliptic.P521()
			default:
				continue
			}
			size := (ec.Params().BitSize + 7) / 8
			x, err1 := base64.RawURLEncoding.DecodeString(k.X)
			y, err2 := base64.RawURLEncoding.DecodeString(k.Y)
			if errors.Join(err1, err2) != nil || len(x) != size || len(y) != size {
				return nil, fmt.Errorf("JWKS: key %d (%q): bad EC x or y", i, k.Kid)
			}
			// ParseUncompressedPublicKey refuses a point that is not on the curve.
			point := append(append([]byte{4}, x...), y...)
			pub, err := ecdsa.ParseUncompressedPublicKey(ec, point)
			if err != nil {
				return nil, fmt.Errorf("JWKS: key %d (%q): %w", i, k.Kid, err)
			}
			jwk.Crv, jwk.Key = k.Crv, pub
		default:
			continue
		}
		keys = append(keys, jwk)
	}
	return keys, nil
}

// JWKSource is the key set of sasl.oauthbearer.jwks.endpoint.url. A file:// set is re-read
// when the file's modification time or size changes, so a rotated key is used for the next
// authentication; a re-read that fails keeps the keys already known (a half-written file must
// not lock every client out). An http(s):// set is fetched, refreshed periodically and on an
// unknown key id (jwks_http.go); a fetch that fails keeps the keys already known likewise.
//
// Lock order: fetchMu before mu.
type JWKSource struct {
	path string      // file:// set
	url  string      // http(s):// set
	opts JWKSOptions // of an http(s):// set

	fetchMu sync.Mutex // held across one fetch of url

	mu sync.Mutex
	// Guarded by mu.
	keys      []JWK
	stamp     fileStamp // file: the file keys were read from
	lastErr   error     // the last re-read's or fetch's error, if it failed
	nextFetch time.Time // url: when the set is due to be fetched again
	missAt    time.Time // url: the last fetch made for an unknown key id
}

// NewJWKSource reads the key set named by a sasl.oauthbearer.jwks.endpoint.url, with the
// default JWKSOptions.
func NewJWKSource(rawURL string) (*JWKSource, error) {
	return NewJWKSourceWith(rawURL, JWKSOptions{})
}

// NewJWKSourceWith reads the key set named by a sasl.oauthbearer.jwks.endpoint.url: a
// file:// URL, or an http:// or https:// one fetched with opts.
func NewJWKSourceWith(rawURL string, opts JWKSOptions) (*JWKSource, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("sasl.oauthbearer.jwks.endpoint.url: %w", err)
	}
	s := &JWKSource{}
	switch {
	case u.Scheme == "file" && u.Path != "":
		s.path = u.Path
		err = s.reloadLocked()
	case (u.Scheme == "https" || u.Scheme == "http") && u.Host != "":
		opts.defaults()
		s.url, s.opts = u.String(), opts
		var keys []JWK
		if keys, err = s.fetchURL(); err == nil {
			s.keys, s.nextFetch = keys, opts.Now().Add(opts.Refresh)
		}
	default:
		return nil, fmt.Errorf("sasl.oauthbearer.jwks.endpoint.url: %q: want a file://, https:// or http:// URL", rawURL)
	}
	if err != nil {
		return nil, fmt.Errorf("sasl.oauthbearer.jwks.endpoint.url: %w", err)
	}
	return s, nil
}

// reloadLocked reads the file. s.mu is held, or s is not shared yet.
func (s *JWKSource) reloadLocked() error {
	fi, err := os.Stat(s.path)
	if err != nil {
		return err
	}
	if fi.Size() > maxJWKSSize {
		return fmt.Errorf("%s: larger than %d bytes", s.path, maxJWKSSize)
	}
	b, err := os.ReadFile(s.path)
	if err != nil {
		return err
	}
	keys, err := ParseJWKS(b)
	if err != nil {
		return err
	}
	s.keys, s.stamp = keys, fileStamp{s.path, fi.ModTime(), fi.Size()}
	return nil
}

// current returns the keys, re-reading the file first if it changed, or fetching the set
// first if it is due.
func (s *JWKSource) current() []JWK {
	if s.url != "" {
		s.refreshURL(func(now time.Time) bool { return !now.Before(s.nextFetch) })
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.keys
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fi, err := os.Stat(s.path)
	if err == nil && (!fi.ModTime().Equal(s.stamp.modTime) || fi.Size() != s.stamp.size) {
		s.lastErr = s.reloadLocked()
	}
	return s.keys
}

// find returns the key a token with key id kid and algorithm alg is to be checked with. A
// token without a kid is checked with the only key that fits its algorithm, if there is one.
func (s *JWKSource) find(kid, alg string) (*JWK, error) {
	k, err := pickKey(s.current(), kid, alg)
	if err == nil || s.url == "" || kid == "" {
		return k, err
	}
	// A key id the set does not have: perhaps one the provider has just rotated in.
	s.mu.Lock()
	fetch := s.refreshForKidLocked(s.opts.Now())
	s.mu.Unlock()
	if !fetch {
		return nil, err
	}
	s.refreshURL(func(time.Time) bool {
		_, err := pickKey(s.keys, kid, alg)
		return err != nil // still unknown once this caller's turn to fetch comes
	})
	s.mu.Lock()
	keys := s.keys
	s.mu.Unlock()
	return pickKey(keys, kid, alg)
}

// pickKey is find within keys.
func pickKey(keys []JWK, kid, alg string) (*JWK, error) {
	var found *JWK
	for i := range keys {
		k := &keys[i]
		if kid != "" && k.Kid != kid {
			continue
		}
		if (k.Alg != "" && k.Alg != alg) || !keyFits(k, alg) {
			continue
		}
		if kid == "" && found != nil {
			return nil, errors.New("the token names no key id and several keys fit")
		}
		found = k
		if kid != "" {
			break
		}
	}
	if found == nil {
		return nil, fmt.Errorf("no key with id %q for %s", kid, alg)
	}
	return found, nil
}

// keyFits reports whether k is of the type (and curve) algorithm alg signs with.
func keyFits(k *JWK, alg string) bool {
	a := jwsAlgs[alg]
	switch k.Key.(type) {
	case *rsa.PublicKey:
		return a.kty == "RSA"
	case *ecdsa.PublicKey:
		return a.kty == "EC" && a.crv == k.Crv
	}
	return false
}
