package auth

// Key sets fetched over HTTP(S), as Kafka's broker fetches sasl.oauthbearer.jwks.endpoint.url
// (its RefreshingHttpsJwks):
//
//   - the set is fetched when the listener starts (a failure then stops the listener, as a
//     missing file does), with a timeout of jwksFetchTimeout;
//   - it is fetched again every sasl.oauthbearer.jwks.endpoint.refresh.ms (one hour by
//     default), by the first authentication that finds it due; one that fails keeps the keys
//     already known and is retried after jwksRetryBackoff;
//   - a token whose key id is not in the set makes it fetched at once (a key the identity
//     provider has just rotated in), at most once every jwksMissingKidInterval, so that
//     clients sending made-up key ids cannot make the broker hammer the provider.
//
// The TLS of an https:// endpoint trusts the system's roots, or the truststore named by the
// options of the listener's OAuthBearerLoginModule JAAS entry (ssl.truststore.location,
// ssl.truststore.type, ssl.truststore.password, ssl.truststore.certificates), which is where
// Kafka reads them from.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// Defaults of JWKSOptions, and the retry timings (Kafka's
// sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms is ten seconds too).
const (
	DefaultJWKSRefresh     = time.Hour
	jwksFetchTimeout       = 10 * time.Second
	jwksRetryBackoff       = 10 * time.Second
	jwksMissingKidInterval = 10 * time.Second
)

// JWKSOptions configures the fetching of an http(s):// key set; a file:// set ignores them.
type JWKSOptions struct {
	// Refresh is sasl.oauthbearer.jwks.endpoint.refresh.ms; DefaultJWKSRefresh when 0.
	Refresh time.Duration
	// Timeout bounds one fetch; 10 s when 0.
	Timeout time.Duration
	// Client makes the requests; an http.Client with the system's roots when nil.
	Client *http.Client
	// Now is the clock of the refreshes; time.Now when nil.
	Now func() time.Time
}

func (o *JWKSOptions) defaults() {
	if o.Refresh <= 0 {
		o.Refresh = DefaultJWKSRefresh
	}
	if o.Timeout <= 0 {
		o.Timeout = jwksFetchTimeout
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// fetchURL gets and parses the key set at s.url.
func (s *JWKSource) fetchURL() ([]JWK, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", s.url, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.url, err)
	}
	if len(b) > maxJWKSSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", s.url, maxJWKSSize)
	}
	return ParseJWKS(b)
}

// refreshURL fetches the set again if due(), which it asks with s.mu held, unless another
// caller is fetching it at this moment: then it returns at once, and its caller goes on with
// the keys known.
func (s *JWKSource) refreshURL(due func(now time.Time) bool) {
	// One fetch at a time, and nobody queues behind it: a slow or unreachable identity
	// provider (each try may take the whole timeout) must not stall every authentication.
	// The others go on with the keys known now.
	if !s.fetchMu.TryLock() {
		return
	}
	defer s.fetchMu.Unlock()
	s.mu.Lock()
	ok := due(s.opts.Now())
	s.mu.Unlock()
	if !ok {
		return
	}
	keys, err := s.fetchURL()
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastErr = err
	if err != nil {
		s.nextFetch = now.Add(min(s.opts.Refresh, jwksRetryBackoff))
		return
	}
	s.keys, s.nextFetch = keys, now.Add(s.opts.Refresh)
}

// refreshForKidLocked reports whether an unknown key id may make the set fetched now, and
// if so records that it did. s.mu is held.
func (s *JWKSource) refreshForKidLocked(now time.Time) bool {
	if !s.missAt.IsZero() && now.Sub(s.missAt) < jwksMissingKidInterval {
		return false
	}
	s.missAt = now
	return true
}

// jwksHTTPClient is the client for an https:// key set: the truststore of the JAAS entry's
// options when one is named, else the system's roots.
func jwksHTTPClient(jaas map[string]string) (*http.Client, error) {
	path, inline := jaas["ssl.truststore.location"], jaas["ssl.truststore.certificates"]
	if path == "" && inline == "" {
		return &http.Client{CheckRedirect: noDowngrade}, nil
	}
	trust := []byte(inline)
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("ssl.truststore.location: %w", err)
		}
		trust = b
		switch typ := strings.ToUpper(jaas["ssl.truststore.type"]); typ {
		case "", "PEM":
		case "PKCS12":
			if trust, err = PKCS12TrustStorePEM(b, jaas["ssl.truststore.password"]); err != nil {
				return nil, fmt.Errorf("ssl.truststore.location: %w", err)
			}
		default:
			return nil, fmt.Errorf("ssl.truststore.type %s is not supported; use PEM or PKCS12", typ)
		}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(trust) {
		return nil, errors.New("truststore: no PEM certificate found")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, CheckRedirect: noDowngrade}, nil
}

// noDowngrade refuses a redirect from https to http, where anyone on the path could hand the
// broker signing keys of their own.
func noDowngrade(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("refusing a redirect from https to %s", req.URL.Scheme)
	}
	return nil
}
