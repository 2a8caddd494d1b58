package auth_test

import (
	"context"
	"crypto/x509/pkix"
	"errors"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/gregorhq/gregor/internal/clustertest"
)

const allListeners = "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0,CONTROLLER://127.0.0.1:0"

// secureNode starts a node with the four security protocols, PLAIN users alice and bob, and a
// server certificate from ca. extra are more config overrides.
func secureNode(t *testing.T, ca *clustertest.CA, extra ...string) (*clustertest.Node, string) {
	t.Helper()
	dir := t.TempDir()
	cert, key := ca.Issue(t, pkix.Name{CommonName: "broker"}, true)
	keystore := clustertest.WriteFile(t, dir, "broker.pem", append(cert, key...))
	truststore := clustertest.WriteFile(t, dir, "ca.pem", ca.CertPEM)
	jaas := `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="x" user_alice="alice-secret" user_bob="bob \"quoted\"";`
	overrides := append([]string{
		"listeners", allListeners,
		"ssl.keystore.type", "PEM",
		"ssl.keystore.location", keystore,
		"ssl.truststore.location", truststore,
		"listener.name.sasl_plaintext.plain.sasl.jaas.config", jaas,
		"listener.name.sasl_ssl.plain.sasl.jaas.config", jaas,
		"connection.failed.authentication.delay.ms", "1",
	}, extra...)
	return clustertest.StartNode(t, overrides...), keystore
}

func newClient(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.RequestRetries(0)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// metadataPort asks for metadata and returns the port the broker advertises to this client.
func metadataPort(t *testing.T, cl *kgo.Client) (int32, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := kadm.NewClient(cl).BrokerMetadata(ctx)
	if err != nil {
		return 0, err
	}
	if len(m.Brokers) != 1 {
		return 0, errors.New("want one broker")
	}
	return m.Brokers[0].Port, nil
}

func portOf(t *testing.T, addr string) int32 {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return int32(n)
}

func TestListenersAdvertiseTheirOwnEndpoint(t *testing.T) {
	ca := clustertest.NewCA(t, "ca")
	n, _ := secureNode(t, ca)
	cases := []struct {
		listener string
		opts     []kgo.Opt
	}{
		{"PLAINTEXT", nil},
		{"SSL", []kgo.Opt{kgo.DialTLSConfig(ca.ClientTLS(t, nil, nil))}},
		{"SASL_PLAINTEXT", []kgo.Opt{kgo.SASL(plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism())}},
		{"SASL_SSL", []kgo.Opt{kgo.DialTLSConfig(ca.ClientTLS(t, nil, nil)),
			kgo.SASL(plain.Auth{User: "bob", Pass: `bob "quoted"`}.AsMechanism())}},
	}
	for _, c := range cases {
		t.Run(c.listener, func(t *testing.T) {
			addr := n.ListenerAddr(c.listener)
			port, err := metadataPort(t, newClient(t, addr, c.opts...))
			if err != nil {
				t.Fatal(err)
			}
			if port != portOf(t, addr) {
				t.Fatalf("metadata advertises port %d, want %s's %s", port, c.listener, addr)
			}
		})
	}
}

func TestSSLRefusals(t *testing.T) {
	ca := clustertest.NewCA(t, "ca")
	n, _ := secureNode(t, ca)
	other := clustertest.NewCA(t, "other")
	// A client that does not trust the broker's CA.
	if _, err := metadataPort(t, newClient(t, n.ListenerAddr("SSL"), kgo.DialTLSConfig(other.ClientTLS(t, nil, nil)))); err == nil {
		t.Fatal("a client trusting another CA connected")
	}
	// Plaintext against the SSL listener.
	if _, err := metadataPort(t, newClient(t, n.ListenerAddr("SSL"))); err == nil {
		t.Fatal("a plaintext client got metadata from the SSL listener")
	}
}

func TestMutualTLS(t *testing.T) {
	ca := clustertest.NewCA(t, "ca")
	n, _ := secureNode(t, ca, "listener.name.ssl.ssl.client.auth", "required")
	addr := n.ListenerAddr("SSL")
	if _, err := metadataPort(t, newClient(t, addr, kgo.DialTLSConfig(ca.ClientTLS(t, nil, nil)))); err == nil {
		t.Fatal("a client without a certificate connected")
	}
	other := clustertest.NewCA(t, "other")
	cert, key := other.Issue(t, pkix.Name{CommonName: "mallory"}, false)
	if _, err := metadataPort(t, newClient(t, addr, kgo.DialTLSConfig(ca.ClientTLS(t, cert, key)))); err == nil {
		t.Fatal("a client with an untrusted certificate connected")
	}
	cert, key = ca.Issue(t, pkix.Name{CommonName: "client", Organization: []string{"Gregor"}}, false)
	if _, err := metadataPort(t, newClient(t, addr, kgo.DialTLSConfig(ca.ClientTLS(t, cert, key)))); err != nil {
		t.Fatalf("a client with a trusted certificate: %v", err)
	}
}

func TestCertificateReloadedFromDisk(t *testing.T) {
	ca := clustertest.NewCA(t, "ca")
	n, keystore := secureNode(t, ca)
	addr := n.ListenerAddr("SSL")
	ca2 := clustertest.NewCA(t, "ca2")
	if _, err := metadataPort(t, newClient(t, addr, kgo.DialTLSConfig(ca2.ClientTLS(t, nil, nil)))); err == nil {
		t.Fatal("a client trusting only ca2 connected before the certificate changed")
	}
	cert, key := ca2.Issue(t, pkix.Name{CommonName: "broker2"}, true)
	if err := os.WriteFile(keystore, append(cert, key...), 0o600); err != nil {
		t.Fatal(err)
	}
	// Make the change visible even on a file system with coarse timestamps.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(keystore, later, later); err != nil {
		t.Fatal(err)
	}
	if _, err := metadataPort(t, newClient(t, addr, kgo.DialTLSConfig(ca2.ClientTLS(t, nil, nil)))); err != nil {
		t.Fatalf("the new certificate was not served: %v", err)
	}
}

func TestSASLPlain(t *testing.T) {
	ca := clustertest.NewCA(t, "ca")
	n, _ := secureNode(t, ca)
	addr := n.ListenerAddr("SASL_PLAINTEXT")
	if _, err := metadataPort(t, newClient(t, addr, kgo.SASL(plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism()))); err != nil {
		t.Fatal(err)
	}
	for _, m := range []sasl.Mechanism{
		plain.Auth{User: "alice", Pass: "wrong"}.AsMechanism(),
		plain.Auth{User: "nobody", Pass: "alice-secret"}.AsMechanism(),
	} {
		_, err := metadataPort(t, newClient(t, addr, kgo.SASL(m)))
		if !errors.Is(err, kerr.SaslAuthenticationFailed) {
			t.Fatalf("bad credentials: got %v, want SASL_AUTHENTICATION_FAILED", err)
		}
	}
	// No SASL at all on a SASL listener: the first request (ApiVersions) is served, the next
	// one closes the connection.
	if _, err := metadataPort(t, newClient(t, addr)); err == nil {
		t.Fatal("an unauthenticated client got metadata")
	}
}

func TestSCRAM(t *testing.T) {
	ca := clustertest.NewCA(t, "ca")
	n, _ := secureNode(t, ca)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	plainCl := newClient(t, n.ListenerAddr("PLAINTEXT"))
	adm := kadm.NewClient(plainCl)
	// One change per user per request, as Kafka's controller wants it.
	for _, up := range []kadm.UpsertSCRAM{
		{User: "alice", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "pw-256"},
		{User: "alice", Mechanism: kadm.ScramSha512, Iterations: 8192, Password: "pw-512"},
	} {
		res, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{up})
		if err == nil {
			err = res.Error()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	res, err := adm.AlterUserSCRAMs(ctx, []kadm.DeleteSCRAM{{User: "alice", Mechanism: kadm.ScramSha256}},
		[]kadm.UpsertSCRAM{{User: "alice", Mechanism: kadm.ScramSha512, Iterations: 4096, Password: "other"}})
	if err != nil || len(res) != 1 || !errors.Is(res["alice"].Err, kerr.DuplicateResource) {
		t.Fatalf("two changes of alice in one request: %v %+v", err, res)
	}

	// What kadm checks client side, the broker checks too.
	req := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
	for _, u := range []struct {
		name  string
		mech  int8
		iters int32
	}{{"weak", 1, 100}, {"strong", 1, 20000}, {"odd", 3, 4096}, {"", 1, 4096}} {
		up := kmsg.NewAlterUserSCRAMCredentialsRequestUpsertion()
		up.Name, up.Mechanism, up.Iterations = u.name, u.mech, u.iters
		up.Salt, up.SaltedPassword = []byte("salt"), []byte("salted")
		req.Upsertions = append(req.Upsertions, up)
	}
	resp, err := req.RequestWith(ctx, plainCl)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*kerr.Error{"weak": kerr.UnacceptableCredential, "strong": kerr.UnacceptableCredential,
		"odd": kerr.UnsupportedSaslMechanism, "": kerr.UnacceptableCredential}
	for _, r := range resp.Results {
		if r.ErrorCode != want[r.User].Code {
			t.Errorf("alter %q: code %d, want %v", r.User, r.ErrorCode, want[r.User])
		}
	}
	if len(resp.Results) != len(want) {
		t.Fatalf("%d results, want %d", len(resp.Results), len(want))
	}
	described, err := adm.DescribeUserSCRAMs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := described["alice"]; !ok || len(d.CredInfos) != 2 || d.CredInfos[1].Iterations != 8192 {
		t.Fatalf("describe: %+v", described)
	}
	if _, ok := described["weak"]; ok {
		t.Fatal("a refused credential was stored")
	}
	if d, err := adm.DescribeUserSCRAMs(ctx, "ghost"); err != nil || !errors.Is(d["ghost"].Err, kerr.ResourceNotFound) {
		t.Fatalf("describe ghost: %v %+v", err, d)
	}

	tlsOpt := kgo.DialTLSConfig(ca.ClientTLS(t, nil, nil))
	cases := []struct {
		name     string
		listener string
		mech     sasl.Mechanism
		ok       bool
	}{
		{"sha256", "SASL_PLAINTEXT", scram.Auth{User: "alice", Pass: "pw-256"}.AsSha256Mechanism(), true},
		{"sha512", "SASL_PLAINTEXT", scram.Auth{User: "alice", Pass: "pw-512"}.AsSha512Mechanism(), true},
		{"sha256 over TLS", "SASL_SSL", scram.Auth{User: "alice", Pass: "pw-256"}.AsSha256Mechanism(), true},
		{"wrong password", "SASL_PLAINTEXT", scram.Auth{User: "alice", Pass: "pw-512"}.AsSha256Mechanism(), false},
		{"unknown user", "SASL_SSL", scram.Auth{User: "ghost", Pass: "pw-256"}.AsSha256Mechanism(), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := []kgo.Opt{kgo.SASL(c.mech)}
			if c.listener == "SASL_SSL" {
				opts = append(opts, tlsOpt)
			}
			_, err := metadataPort(t, newClient(t, n.ListenerAddr(c.listener), opts...))
			if c.ok && err != nil {
				t.Fatal(err)
			}
			if !c.ok && !errors.Is(err, kerr.SaslAuthenticationFailed) {
				t.Fatalf("got %v, want SASL_AUTHENTICATION_FAILED", err)
			}
		})
	}

	// Credentials survive a restart (they are in the metadata log), and deleting one works.
	n.Restart()
	adm = kadm.NewClient(newClient(t, n.ListenerAddr("PLAINTEXT")))
	if _, err := metadataPort(t, newClient(t, n.ListenerAddr("SASL_PLAINTEXT"), kgo.SASL(scram.Auth{User: "alice", Pass: "pw-512"}.AsSha512Mechanism()))); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	res, err = adm.AlterUserSCRAMs(ctx, []kadm.DeleteSCRAM{{User: "alice", Mechanism: kadm.ScramSha512}, {User: "ghost", Mechanism: kadm.ScramSha256}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if (r.User == "alice") != (r.Err == nil) || (r.User == "ghost" && !errors.Is(r.Err, kerr.ResourceNotFound)) {
			t.Fatalf("delete %s: %v", r.User, r.Err)
		}
	}
	if _, err := metadataPort(t, newClient(t, n.ListenerAddr("SASL_PLAINTEXT"), kgo.SASL(scram.Auth{User: "alice", Pass: "pw-512"}.AsSha512Mechanism()))); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("deleted credential: got %v", err)
	}
}
