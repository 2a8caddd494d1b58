package auth_test

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/cli/clientflags"
	"github.com/gregorhq/gregor/internal/clustertest"
)

func parseCert(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(certPEM)
	if b == nil {
		t.Fatal("no PEM certificate")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// keyStore encodes a PKCS#12 keystore of a certificate issued by ca, as keytool or openssl
// would write one.
func keyStore(t *testing.T, ca *clustertest.CA, cn string, server bool, password string) []byte {
	t.Helper()
	certPEM, keyPEM := ca.Issue(t, pkix.Name{CommonName: cn}, server)
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pfx, err := pkcs12.Modern.Encode(pair.PrivateKey, parseCert(t, certPEM), []*x509.Certificate{parseCert(t, ca.CertPEM)}, password)
	if err != nil {
		t.Fatal(err)
	}
	return pfx
}

func TestPKCS12KeystoreAndTruststore(t *testing.T) {
	ca := clustertest.NewCA(t, "ca")
	dir := t.TempDir()
	keystore := clustertest.WriteFile(t, dir, "broker.p12", keyStore(t, ca, "broker", true, "ks-secret"))
	trust, err := pkcs12.Modern.EncodeTrustStore([]*x509.Certificate{parseCert(t, ca.CertPEM)}, "ts-secret")
	if err != nil {
		t.Fatal(err)
	}
	truststore := clustertest.WriteFile(t, dir, "ca.p12", trust)
	n := clustertest.StartNode(t,
		"listeners", "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,CONTROLLER://127.0.0.1:0",
		"ssl.keystore.type", "PKCS12",
		"ssl.keystore.location", keystore,
		"ssl.keystore.password", "ks-secret",
		"ssl.truststore.type", "PKCS12",
		"ssl.truststore.location", truststore,
		"ssl.truststore.password", "ts-secret",
		"ssl.client.auth", "required",
	)
	addr := n.ListenerAddr("SSL")

	// The broker serves the PKCS#12 keystore's certificate, and the PKCS#12 truststore decides
	// which client certificates it accepts.
	cert, key := ca.Issue(t, pkix.Name{CommonName: "client"}, false)
	if _, err := metadataPort(t, newClient(t, addr, kgo.DialTLSConfig(ca.ClientTLS(t, cert, key)))); err != nil {
		t.Fatalf("a client with a certificate of the trusted CA: %v", err)
	}
	if _, err := metadataPort(t, newClient(t, addr, kgo.DialTLSConfig(ca.ClientTLS(t, nil, nil)))); err == nil {
		t.Fatal("a client without a certificate connected")
	}
	// The client tools read PKCS#12 stores from Kafka's client properties too.
	opts, err := clientflags.SecurityOpts(map[string]string{"security.protocol": "SSL",
		"ssl.keystore.type": "PKCS12", "ssl.keystore.password": "c-secret",
		"ssl.keystore.location": clustertest.WriteFile(t, dir, "client.p12", keyStore(t, ca, "tool", false, "c-secret")),
		"ssl.truststore.type":   "PKCS12", "ssl.truststore.password": "ts-secret", "ssl.truststore.location": truststore})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := metadataPort(t, newClient(t, addr, opts...)); err != nil {
		t.Fatalf("a client with PKCS#12 stores: %v", err)
	}
	other := clustertest.NewCA(t, "other")
	cert, key = other.Issue(t, pkix.Name{CommonName: "mallory"}, false)
	if _, err := metadataPort(t, newClient(t, addr, kgo.DialTLSConfig(ca.ClientTLS(t, cert, key)))); err == nil {
		t.Fatal("a client with a certificate of an untrusted CA connected")
	}
}

func TestPKCS12Refusals(t *testing.T) {
	ca := clustertest.NewCA(t, "ca")
	dir := t.TempDir()
	keystore := clustertest.WriteFile(t, dir, "broker.p12", keyStore(t, ca, "broker", true, "right"))
	pemTrust := clustertest.WriteFile(t, dir, "ca.pem", ca.CertPEM)
	cases := map[string]map[string]string{
		"wrong password": {"ssl.keystore.type": "PKCS12", "ssl.keystore.password": "wrong"},
		"JKS":            {"ssl.keystore.type": "JKS", "ssl.keystore.password": "right"},
		"PKCS12 as PEM":  {"ssl.keystore.type": "PEM"},
		"inline PKCS12":  {"ssl.keystore.type": "PKCS12", "ssl.keystore.location": "", "ssl.keystore.certificate.chain": "x"},
		"PEM file as a PKCS12 truststore": {"ssl.keystore.type": "PKCS12", "ssl.keystore.password": "right",
			"ssl.truststore.type": "PKCS12", "ssl.truststore.location": pemTrust},
	}
	for name, extra := range cases {
		raw := map[string]string{"ssl.keystore.location": keystore}
		for k, v := range extra {
			raw[k] = v
		}
		if _, err := auth.LoadTLS(auth.Props{Raw: raw, Listener: "SSL"}); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
	// The listener-prefixed password wins, as for every ssl.* key.
	raw := map[string]string{"ssl.keystore.location": keystore, "ssl.keystore.type": "PKCS12",
		"ssl.keystore.password": "wrong", "listener.name.ssl.ssl.keystore.password": "right"}
	if _, err := auth.LoadTLS(auth.Props{Raw: raw, Listener: "SSL"}); err != nil {
		t.Fatal(err)
	}
}
