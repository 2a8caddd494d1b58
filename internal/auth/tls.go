package auth

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// TLS is one listener's TLS configuration, read from Kafka's ssl.* keys. Certificates named
// by file are re-read when a file's modification time or size changes, so a renewed
// certificate is served to the next connection without a restart.
type TLS struct {
	keystoreType       string // PEM or PKCS12
	keystorePath       string
	keystorePassword   string
	keyPassword        string
	inlineChain        string
	inlineKey          string
	truststoreType     string // PEM or PKCS12
	truststorePath     string
	truststorePassword string
	inlineTrust        string
	clientAuth         tls.ClientAuthType
	minVersion         uint16
	maxVersion         uint16
	cipherSuites       []uint16
	// Mapper maps client certificate names to principals (ssl.principal.mapping.rules).
	Mapper *PrincipalMapper

	mu      sync.Mutex
	current *tls.Config // guarded by mu: the config of the files as last read
	stamps  []fileStamp // guarded by mu: the files current was read from
	lastErr error       // guarded by mu: the last reload's error, if it failed
}

type fileStamp struct {
	path    string
	modTime time.Time
	size    int64
}

// LoadTLS reads the listener's TLS configuration and its certificates.
//
//	ssl.keystore.type                     PEM or PKCS12 (JKS is not supported: convert it with
//	                                      keytool -importkeystore -deststoretype PKCS12)
//	ssl.keystore.location                 PEM file (certificate chain and private key) or PKCS#12 file
//	ssl.keystore.password                 the PKCS#12 file's password
//	ssl.keystore.certificate.chain        inline PEM chain (with ssl.keystore.key)
//	ssl.keystore.key                      inline PEM key
//	ssl.key.password                      for a legacy-encrypted PEM key
//	ssl.truststore.type                   PEM or PKCS12
//	ssl.truststore.location               PEM file of trusted CA certificates, or a PKCS#12
//	                                      trust store (Java's trusted certificate entries, as
//	                                      keytool makes them)
//	ssl.truststore.password               the PKCS#12 trust store's password
//	ssl.truststore.certificates           inline PEM CA certificates
//	ssl.client.auth                       required, requested or none (default)
//	ssl.enabled.protocols                 TLSv1.2,TLSv1.3 (default)
//	ssl.cipher.suites                     IANA names; default Go's
//	ssl.principal.mapping.rules           DEFAULT, or RULE:pattern/replacement/[LU],...
func LoadTLS(p Props) (*TLS, error) {
	t := &TLS{}
	get := func(k string) string { v, _ := p.Get(k); return v }
	var err error
	if t.Mapper, err = ParsePrincipalMappingRules(get("ssl.principal.mapping.rules")); err != nil {
		return nil, err
	}
	storeType := func(key string) (string, error) {
		switch v := strings.ToUpper(get(key)); v {
		case "", "PEM":
			return "PEM", nil
		case "PKCS12":
			return v, nil
		default:
			return "", fmt.Errorf("%s %s is not supported; use PEM or PKCS12", key, v)
		}
	}
	if t.keystoreType, err = storeType("ssl.keystore.type"); err != nil {
		return nil, err
	}
	if t.truststoreType, err = storeType("ssl.truststore.type"); err != nil {
		return nil, err
	}
	t.keystorePath = get("ssl.keystore.location")
	t.keystorePassword = get("ssl.keystore.password")
	t.keyPassword = get("ssl.key.password")
	if t.keyPassword == "" {
		t.keyPassword = t.keystorePassword
	}
	t.inlineChain, t.inlineKey = get("ssl.keystore.certificate.chain"), get("ssl.keystore.key")
	t.truststorePath, t.inlineTrust = get("ssl.truststore.location"), get("ssl.truststore.certificates")
	t.truststorePassword = get("ssl.truststore.password")
	if t.keystorePath == "" && t.inlineChain == "" {
		return nil, fmt.Errorf("listener %s: ssl.keystore.location or ssl.keystore.certificate.chain is required", p.Listener)
	}
	if t.keystoreType == "PKCS12" && t.keystorePath == "" {
		return nil, errors.New("ssl.keystore.type PKCS12 needs ssl.keystore.location (inline keystores are PEM)")
	}
	if t.truststoreType == "PKCS12" && t.truststorePath == "" {
		return nil, errors.New("ssl.truststore.type PKCS12 needs ssl.truststore.location (inline truststores are PEM)")
	}
	switch ca := strings.ToLower(get("ssl.client.auth")); ca {
	case "", "none":
		t.clientAuth = tls.NoClientCert
	case "requested":
		t.clientAuth = tls.VerifyClientCertIfGiven
	case "required":
		t.clientAuth = tls.RequireAndVerifyClientCert
	default:
		return nil, fmt.Errorf("ssl.client.auth: %q is not required, requested or none", ca)
	}
	protos := get("ssl.enabled.protocols")
	if protos == "" {
		protos = "TLSv1.2,TLSv1.3"
	}
	for _, pr := range strings.Split(protos, ",") {
		var v uint16
		switch strings.TrimSpace(pr) {
		case "TLSv1.2":
			v = tls.VersionTLS12
		case "TLSv1.3":
			v = tls.VersionTLS13
		default:
			return nil, fmt.Errorf("ssl.enabled.protocols: %q is not supported (TLSv1.2, TLSv1.3)", pr)
		}
		if t.minVersion == 0 || v < t.minVersion {
			t.minVersion = v
		}
		t.maxVersion = max(t.maxVersion, v)
	}
	if cs := get("ssl.cipher.suites"); cs != "" {
		byName := map[string]uint16{}
		for _, s := range tls.CipherSuites() {
			byName[s.Name] = s.ID
		}
		for _, name := range strings.Split(cs, ",") {
			id, ok := byName[strings.TrimSpace(name)]
			if !ok {
				return nil, fmt.Errorf("ssl.cipher.suites: %q is not a supported cipher suite", name)
			}
			t.cipherSuites = append(t.cipherSuites, id)
		}
	}
	if err := t.reloadLocked(); err != nil {
		return nil, err
	}
	return t, nil
}

// ServerConfig is the tls.Config to serve with: it hands every new connection the config of
// the files as they are now.
func (t *TLS) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion: t.minVersion,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return t.config(), nil
		},
	}
}

// ClientConfig is the tls.Config a broker connects to the other brokers' listener of the same
// name with (the inter-broker listener): the listener's truststore verifies their
// certificates (the system's roots when it has none), and its keystore is this broker's
// certificate when the listener requires client certificates (ssl.client.auth=required; a
// server-only certificate offered to a listener that merely requests one would be refused).
func (t *TLS) ClientConfig() *tls.Config {
	cur := t.config()
	cfg := &tls.Config{
		RootCAs:      cur.ClientCAs,
		MinVersion:   t.minVersion,
		MaxVersion:   t.maxVersion,
		CipherSuites: t.cipherSuites,
	}
	if t.clientAuth == tls.RequireAndVerifyClientCert {
		cfg.Certificates = cur.Certificates
	}
	return cfg
}

// config returns the current config, re-reading the files first if any changed. A reload that
// fails keeps the previous config (a half-written file must not take the listener down).
func (t *TLS) config() *tls.Config {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.changedLocked() {
		t.lastErr = t.reloadLocked()
	}
	return t.current
}

func (t *TLS) changedLocked() bool {
	for _, s := range t.stamps {
		fi, err := os.Stat(s.path)
		if err != nil || !fi.ModTime().Equal(s.modTime) || fi.Size() != s.size {
			return true
		}
	}
	return false
}

// reloadLocked reads the certificates and builds a new config. t.mu is held, or t is not
// shared yet.
func (t *TLS) reloadLocked() error {
	var stamps []fileStamp
	read := func(path string) ([]byte, error) {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		stamps = append(stamps, fileStamp{path, fi.ModTime(), fi.Size()})
		return b, nil
	}
	var chainPEM, keyPEM []byte
	if t.keystorePath != "" {
		b, err := read(t.keystorePath)
		if err != nil {
			return fmt.Errorf("ssl.keystore.location: %w", err)
		}
		chainPEM, keyPEM = b, b
		if t.keystoreType == "PKCS12" {
			if chainPEM, keyPEM, err = PKCS12KeyStorePEM(b, t.keystorePassword); err != nil {
				return fmt.Errorf("ssl.keystore.location: %w", err)
			}
		}
	} else {
		chainPEM, keyPEM = []byte(t.inlineChain), []byte(t.inlineKey)
	}
	cert, err := KeyPair(chainPEM, keyPEM, t.keyPassword)
	if err != nil {
		return fmt.Errorf("keystore: %w", err)
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   t.clientAuth,
		MinVersion:   t.minVersion,
		MaxVersion:   t.maxVersion,
		CipherSuites: t.cipherSuites,
	}
	var trustPEM []byte
	if t.truststorePath != "" {
		if trustPEM, err = read(t.truststorePath); err != nil {
			return fmt.Errorf("ssl.truststore.location: %w", err)
		}
		if t.truststoreType == "PKCS12" {
			if trustPEM, err = PKCS12TrustStorePEM(trustPEM, t.truststorePassword); err != nil {
				return fmt.Errorf("ssl.truststore.location: %w", err)
			}
		}
	} else {
		trustPEM = []byte(t.inlineTrust)
	}
	if len(trustPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(trustPEM) {
			return errors.New("truststore: no PEM certificate found")
		}
		cfg.ClientCAs = pool
	} else if t.clientAuth != tls.NoClientCert {
		return errors.New("ssl.client.auth needs a truststore (ssl.truststore.location or ssl.truststore.certificates)")
	}
	t.current, t.stamps = cfg, stamps
	return nil
}

// KeyPair builds a certificate from PEM blocks: every CERTIFICATE block of chainPEM and the
// first private key block of keyPEM, decrypted with password when it is legacy-encrypted.
func KeyPair(chainPEM, keyPEM []byte, password string) (tls.Certificate, error) {
	var certs []byte
	for rest := chainPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			certs = append(certs, pem.EncodeToMemory(b)...)
		}
	}
	var key []byte
	for rest := keyPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if !strings.HasSuffix(b.Type, "PRIVATE KEY") {
			continue
		}
		if b.Type == "ENCRYPTED PRIVATE KEY" {
			return tls.Certificate{}, errors.New("encrypted PKCS#8 keys are not supported; use an unencrypted key")
		}
		//lint:ignore SA1019 legacy PEM encryption is what some keystores still use.
		if x509.IsEncryptedPEMBlock(b) { //nolint:staticcheck
			der, err := x509.DecryptPEMBlock(b, []byte(password)) //nolint:staticcheck
			if err != nil {
				return tls.Certificate{}, fmt.Errorf("decrypting the key: %w", err)
			}
			b = &pem.Block{Type: b.Type, Bytes: der}
		}
		key = pem.EncodeToMemory(b)
		break
	}
	if len(certs) == 0 || key == nil {
		return tls.Certificate{}, errors.New("want PEM certificates and a private key")
	}
	return tls.X509KeyPair(certs, key)
}

// CertPrincipal is the principal of a client certificate under the DEFAULT rule: "User:" and
// its subject's distinguished name in RFC 2253 form.
func CertPrincipal(cert *x509.Certificate) string {
	p, _ := (*PrincipalMapper)(nil).Principal(cert)
	return p
}

// PKCS12KeyStorePEM reads a PKCS#12 keystore (one private key, its certificate and the CA
// chain) and returns them as PEM, so that KeyPair checks them like any PEM keystore. The
// client tools read ssl.keystore.type=PKCS12 with it too.
func PKCS12KeyStorePEM(pfx []byte, password string) (chainPEM, keyPEM []byte, err error) {
	key, leaf, cas, err := pkcs12.DecodeChain(pfx, password)
	if err != nil {
		return nil, nil, fmt.Errorf("PKCS#12 keystore: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("PKCS#12 keystore: %w", err)
	}
	for _, c := range append([]*x509.Certificate{leaf}, cas...) {
		chainPEM = append(chainPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return chainPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// PKCS12TrustStorePEM reads a PKCS#12 trust store, whose entries are certificates marked as
// trusted the way Java's keytool marks them, and returns the certificates as PEM (for the
// broker's and the client tools' ssl.truststore.type=PKCS12).
func PKCS12TrustStorePEM(pfx []byte, password string) ([]byte, error) {
	certs, err := pkcs12.DecodeTrustStore(pfx, password)
	if err != nil {
		return nil, fmt.Errorf("PKCS#12 truststore: %w", err)
	}
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out, nil
}
