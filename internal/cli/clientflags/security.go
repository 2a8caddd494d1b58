package clientflags

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/config"
)

// ReadCommandConfig reads a Kafka client properties file, as --command-config names it.
func ReadCommandConfig(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--command-config: %w", err)
	}
	defer f.Close()
	props, err := config.ParseProperties(f)
	if err != nil {
		return nil, fmt.Errorf("--command-config %s: %w", path, err)
	}
	return props, nil
}

// SecurityOpts turns Kafka client security properties into franz-go options:
//
//	security.protocol          PLAINTEXT (default), SSL, SASL_PLAINTEXT, SASL_SSL
//	sasl.mechanism             PLAIN (default here; Kafka's is GSSAPI), SCRAM-SHA-256, SCRAM-SHA-512
//	sasl.jaas.config           ... username="alice" password="secret";
//	ssl.truststore.type        PEM (default) or PKCS12 (with ssl.truststore.password)
//	ssl.truststore.location    CA certificates (ssl.truststore.certificates: inline PEM)
//	ssl.keystore.type          PEM (default) or PKCS12 (with ssl.keystore.password)
//	ssl.keystore.location      certificate chain and key, for mutual TLS
//	                           (ssl.keystore.certificate.chain and ssl.keystore.key: inline PEM)
//	ssl.key.password           for a legacy-encrypted PEM key
//	ssl.endpoint.identification.algorithm  https (default) checks the host name; empty does not
//
// Other keys are ignored, as Kafka's tools ignore what does not apply to them.
func SecurityOpts(props map[string]string) ([]kgo.Opt, error) {
	get := func(k string) string { return strings.TrimSpace(props[k]) }
	proto := strings.ToUpper(get("security.protocol"))
	var opts []kgo.Opt
	switch proto {
	case "", auth.ProtocolPlaintext:
		return nil, nil
	case auth.ProtocolSSL, auth.ProtocolSASLPlaintext, auth.ProtocolSASLSSL:
	default:
		return nil, fmt.Errorf("security.protocol: unknown %q", proto)
	}
	if proto == auth.ProtocolSSL || proto == auth.ProtocolSASLSSL {
		tc, err := clientTLS(props)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if proto == auth.ProtocolSASLPlaintext || proto == auth.ProtocolSASLSSL {
		jaas, err := auth.ParseJAAS(get("sasl.jaas.config"))
		if err != nil {
			return nil, fmt.Errorf("sasl.jaas.config: %w", err)
		}
		user, pass := jaas["username"], jaas["password"]
		if user == "" {
			return nil, errors.New("sasl.jaas.config: no username")
		}
		switch mech := strings.ToUpper(get("sasl.mechanism")); mech {
		case "", auth.MechanismPlain:
			opts = append(opts, kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism()))
		case auth.MechanismScramSHA256:
			opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()))
		case auth.MechanismScramSHA512:
			opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()))
		default:
			return nil, fmt.Errorf("sasl.mechanism: %s is not supported (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)", mech)
		}
	}
	return opts, nil
}

func clientTLS(props map[string]string) (*tls.Config, error) {
	get := func(k string) string { return strings.TrimSpace(props[k]) }
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	pkcs12 := map[string]bool{}
	for _, k := range []string{"ssl.truststore.type", "ssl.keystore.type"} {
		switch t := strings.ToUpper(get(k)); t {
		case "", "PEM":
		case "PKCS12":
			pkcs12[k] = true
		default:
			return nil, fmt.Errorf("%s %s is not supported; use PEM or PKCS12", k, t)
		}
	}
	trust := []byte(get("ssl.truststore.certificates"))
	if p := get("ssl.truststore.location"); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("ssl.truststore.location: %w", err)
		}
		if pkcs12["ssl.truststore.type"] {
			if b, err = auth.PKCS12TrustStorePEM(b, get("ssl.truststore.password")); err != nil {
				return nil, fmt.Errorf("ssl.truststore.location: %w", err)
			}
		}
		trust = b
	}
	if len(trust) > 0 {
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(trust) {
			return nil, errors.New("truststore: no PEM certificate found")
		}
	}
	chain, key := []byte(get("ssl.keystore.certificate.chain")), []byte(get("ssl.keystore.key"))
	if p := get("ssl.keystore.location"); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("ssl.keystore.location: %w", err)
		}
		chain, key = b, b
		if pkcs12["ssl.keystore.type"] {
			if chain, key, err = auth.PKCS12KeyStorePEM(b, get("ssl.keystore.password")); err != nil {
				return nil, fmt.Errorf("ssl.keystore.location: %w", err)
			}
		}
	}
	if len(chain) > 0 {
		cert, err := auth.KeyPair(chain, key, get("ssl.key.password"))
		if err != nil {
			return nil, fmt.Errorf("keystore: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if alg, set := props["ssl.endpoint.identification.algorithm"]; set && strings.TrimSpace(alg) == "" {
		// Verify the chain but not the host name, as Kafka does with an empty algorithm.
		roots := cfg.RootCAs
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("no server certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
			return err
		}
	}
	return cfg, nil
}
