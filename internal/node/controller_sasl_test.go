package node_test

import (
	"context"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/gregorhq/gregor/internal/clustertest"
	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/node"
)

// controllerJAAS is a PLAIN JAAS config for the controller listener: the node's own
// credentials, and the users the listener accepts.
func controllerJAAS(user, pass string) string {
	return fmt.Sprintf(`org.apache.kafka.common.security.plain.PlainLoginModule required username=%q password=%q user_ctrl="ctrl-secret" user_alice="alice-secret";`, user, pass)
}

// TestControllerListenerSASLPlain: three voters whose controller listener is SASL_PLAINTEXT
// with PLAIN, and an authorizer whose only super user is the client listeners' ANONYMOUS. The
// nodes authenticate as User:ctrl, which is not a super user but is their own principal: they
// elect a controller, and a topic created through a node that may not be the active controller
// (a forwarded controller request) reaches every node. A Kafka client on the controller port
// with a wrong password is refused; alice, with the right one, is refused for want of
// CLUSTER_ACTION; a Raft connection that skips the preamble is closed; a broker whose
// password is wrong does not join.
func TestControllerListenerSASLPlain(t *testing.T) {
	c := clustertest.StartCluster(t, 3, clustertest.Overrides(
		"listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
		"sasl.mechanism.controller.protocol", "PLAIN",
		"listener.name.controller.plain.sasl.jaas.config", controllerJAAS("ctrl", "ctrl-secret"),
		"authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"super.users", "User:ANONYMOUS",
		"connection.failed.authentication.delay.ms", "0",
	))
	c.WaitActiveController()
	ctx := testContext(t)
	adm := clusterAdmin(t, c.Addrs()[nonController(c)])
	if res, err := adm.CreateTopic(ctx, 2, 3, nil, "over-sasl"); err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}
	c.WaitConverged()
	for i := range c.N() {
		if _, ok := c.Node(i).Controller().Image().Topics["over-sasl"]; !ok {
			t.Fatalf("node %d's image has no topic over-sasl", i+1)
		}
	}

	ctrlAddr := c.Node(0).Controller().Addr().String()
	request := func(user, pass string) error {
		cl, err := kgo.NewClient(kgo.SeedBrokers(ctrlAddr), kgo.RequestRetries(0),
			kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err = cl.SeedBrokers()[0].Request(rctx, kmsg.NewPtrApiVersionsRequest())
		return err
	}
	if err := request("ctrl", "ctrl-secret"); err != nil {
		t.Fatalf("the nodes' own principal on the controller port: %v", err)
	}
	if err := request("ctrl", "wrong"); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("wrong password: err %v, want SASL_AUTHENTICATION_FAILED", err)
	}
	if err := request("alice", "alice-secret"); !errors.Is(err, kerr.ClusterAuthorizationFailed) {
		t.Fatalf("alice, not a super user: err %v, want CLUSTER_AUTHORIZATION_FAILED", err)
	}

	// A Kafka client that does not authenticate has its first controller request refused:
	// the connection closes, and nothing is created.
	cl, err := kgo.NewClient(kgo.SeedBrokers(ctrlAddr), kgo.RequestRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	create := kmsg.NewPtrCreateTopicsRequest()
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = "unauthenticated", 1, 1
	create.Topics = append(create.Topics, ct)
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if resp, err := cl.SeedBrokers()[0].Request(rctx, create); err == nil {
		t.Fatalf("an unauthenticated CreateTopics on the controller port was answered: %+v", resp)
	}

	// A Raft connection that skips the preamble (magic byte, then Raft's bytes) is closed
	// without an answer.
	nc, err := net.DialTimeout("tcp", ctrlAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc.Write([]byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(nc); err != nil || len(got) > 0 {
		t.Fatalf("unauthenticated Raft connection: read %x, err %v; want it closed", got, err)
	}

	// A broker-only node with a wrong password cannot register: it does not start, and the
	// cluster never learns of it.
	var voters []string
	for i := range c.N() {
		voters = append(voters, fmt.Sprintf("%d@%s", i+1, c.Node(i).Controller().Addr()))
	}
	cfg, err := config.Load(map[string]string{
		"node.id":                        "4",
		"process.roles":                  "broker",
		"controller.quorum.voters":       strings.Join(voters, ","),
		"listeners":                      "PLAINTEXT://127.0.0.1:0",
		"advertised.listeners":           "PLAINTEXT://127.0.0.1:0",
		"log.dirs":                       t.TempDir(),
		"admin.listeners":                "",
		"listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
		"listener.name.controller.plain.sasl.jaas.config": controllerJAAS("ctrl", "not-the-password"),
	})
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	n, err := node.Start(sctx, cfg, nil)
	if err == nil {
		n.Close()
		t.Fatal("a broker with a wrong controller password started")
	}
	if !strings.Contains(err.Error(), "SASL_AUTHENTICATION_FAILED") {
		t.Fatalf("the broker with a wrong password: %v; want the refusal named", err)
	}
	if _, ok := c.Node(c.WaitActiveController()).Controller().Image().Brokers[4]; ok {
		t.Fatal("the broker with a wrong password registered")
	}
}

// TestControllerListenerSASLSSL: three voters and a broker-only node whose controller listener
// is SASL_SSL with PLAIN. The active controller reaches the broker-only node's Raft listener
// through the preamble too: the broker-only node registers and follows the metadata log, and
// a topic it forwards is created.
func TestControllerListenerSASLSSL(t *testing.T) {
	dir := t.TempDir()
	ca := clustertest.NewCA(t, "controller-ca")
	cert, key := ca.IssuePeer(t, pkix.Name{CommonName: "controller"})
	c := clustertest.StartCluster(t, 4, clustertest.Overrides(
		"listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_SSL",
		"listener.name.controller.ssl.keystore.type", "PEM",
		"listener.name.controller.ssl.keystore.location", clustertest.WriteFile(t, dir, "node.pem", append(cert, key...)),
		"listener.name.controller.ssl.truststore.location", clustertest.WriteFile(t, dir, "ca.pem", ca.CertPEM),
		"listener.name.controller.plain.sasl.jaas.config", controllerJAAS("ctrl", "ctrl-secret"),
		"authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"super.users", "User:ANONYMOUS",
	))
	c.WaitActiveController()
	ctx := testContext(t)
	adm := clusterAdmin(t, c.Addrs()[3])
	if res, err := adm.CreateTopic(ctx, 2, 3, nil, "over-sasl-ssl"); err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}
	c.WaitConverged()
	if _, ok := c.Node(3).Controller().Image().Topics["over-sasl-ssl"]; !ok {
		t.Fatal("the broker-only node's image has no topic over-sasl-ssl")
	}
}

// TestControllerListenerSASLMechanisms: the controller listener takes PLAIN only. SCRAM, whose
// credentials live in the metadata log, and mechanisms it does not implement make the node
// refuse to start, naming the listener and the mechanism.
func TestControllerListenerSASLMechanisms(t *testing.T) {
	for _, tc := range []struct {
		name string
		kv   []string
		want []string
	}{
		{"scram-256", []string{"sasl.mechanism.controller.protocol", "SCRAM-SHA-256"}, []string{"SCRAM-SHA-256", "metadata log"}},
		{"scram-512", []string{"sasl.mechanism.controller.protocol", "scram-sha-512"}, []string{"SCRAM-SHA-512", "metadata log"}},
		{"scram-enabled", []string{"listener.name.controller.sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-256"}, []string{"SCRAM-SHA-256", "sasl.enabled.mechanisms"}},
		{"oauthbearer", []string{"sasl.mechanism.controller.protocol", "OAUTHBEARER"}, []string{"OAUTHBEARER", "not supported"}},
		{"gssapi", []string{"sasl.mechanism.controller.protocol", "GSSAPI"}, []string{"GSSAPI", "not supported"}},
		{"plain-not-enabled", []string{"sasl.mechanism.controller.protocol", "PLAIN", "listener.name.controller.sasl.enabled.mechanisms", "OAUTHBEARER"}, []string{"OAUTHBEARER"}},
		{"no-credentials", nil, []string{"sasl.jaas.config"}},
	} {
		for _, proto := range []string{"SASL_PLAINTEXT", "SASL_SSL"} {
			t.Run(tc.name+"/"+proto, func(t *testing.T) {
				props := map[string]string{
					"listeners":                      "PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0",
					"advertised.listeners":           "PLAINTEXT://127.0.0.1:0",
					"listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:" + proto,
					"log.dirs":                       t.TempDir(),
					"admin.listeners":                "",
				}
				if proto == "SASL_SSL" {
					dir := t.TempDir()
					ca := clustertest.NewCA(t, "controller-ca")
					cert, key := ca.IssuePeer(t, pkix.Name{CommonName: "controller"})
					props["listener.name.controller.ssl.keystore.type"] = "PEM"
					props["listener.name.controller.ssl.keystore.location"] = clustertest.WriteFile(t, dir, "node.pem", append(cert, key...))
					props["listener.name.controller.ssl.truststore.location"] = clustertest.WriteFile(t, dir, "ca.pem", ca.CertPEM)
				}
				if tc.name != "no-credentials" {
					props["listener.name.controller.sasl.jaas.config"] = controllerJAAS("ctrl", "ctrl-secret")
				}
				for i := 0; i+1 < len(tc.kv); i += 2 {
					props[tc.kv[i]] = tc.kv[i+1]
				}
				cfg, err := config.Load(props)
				if err != nil {
					t.Fatal(err)
				}
				n, err := node.Start(testContext(t), cfg, nil)
				if err == nil {
					n.Close()
					t.Fatal("the node started")
				}
				for _, w := range append([]string{"CONTROLLER"}, tc.want...) {
					if !strings.Contains(err.Error(), w) {
						t.Fatalf("error %q does not say %q", err, w)
					}
				}
			})
		}
	}
}
