package compat

import (
	"context"
	"crypto/x509/pkix"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// secureNode starts a node with SASL_PLAINTEXT, SASL_SSL and SSL listeners (certificate from a
// fresh CA, PLAIN user "plain"), sets SCRAM credentials for "alice" through the PLAINTEXT
// listener, and returns the node and the CA file.
func secureNode(t *testing.T) (*clustertest.Node, string) {
	t.Helper()
	dir := t.TempDir()
	ca := clustertest.NewCA(t, "compat-ca")
	cert, key := ca.Issue(t, pkix.Name{CommonName: "broker"}, true)
	n := clustertest.StartNode(t,
		"listeners", "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0,CONTROLLER://127.0.0.1:0",
		"ssl.keystore.type", "PEM",
		"ssl.keystore.location", clustertest.WriteFile(t, dir, "broker.pem", append(cert, key...)),
		"sasl.jaas.config", `org.apache.kafka.common.security.plain.PlainLoginModule required user_plain="plain-pw";`,
	)
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.ListenerAddr("PLAINTEXT")))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, m := range []kadm.ScramMechanism{kadm.ScramSha256, kadm.ScramSha512} {
		res, err := kadm.NewClient(cl).AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{
			{User: "alice", Mechanism: m, Iterations: 4096, Password: "alice-pw"},
		})
		if err == nil {
			err = res.Error()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	createTopic(t, n.ListenerAddr("PLAINTEXT"), "secure", 1)
	return n, clustertest.WriteFile(t, dir, "ca.pem", ca.CertPEM)
}

func TestKcatSecurity(t *testing.T) {
	kcat := need(t, "kcat")
	n, caFile := secureNode(t)
	cases := []struct {
		name, listener string
		x              []string
	}{
		{"SASL_SSL SCRAM-SHA-256", "SASL_SSL", []string{"security.protocol=SASL_SSL", "sasl.mechanisms=SCRAM-SHA-256",
			"sasl.username=alice", "sasl.password=alice-pw", "ssl.ca.location=" + caFile}},
		{"SASL_PLAINTEXT SCRAM-SHA-512", "SASL_PLAINTEXT", []string{"security.protocol=SASL_PLAINTEXT", "sasl.mechanisms=SCRAM-SHA-512",
			"sasl.username=alice", "sasl.password=alice-pw"}},
		{"SASL_PLAINTEXT PLAIN", "SASL_PLAINTEXT", []string{"security.protocol=SASL_PLAINTEXT", "sasl.mechanisms=PLAIN",
			"sasl.username=plain", "sasl.password=plain-pw"}},
		{"SSL", "SSL", []string{"security.protocol=SSL", "ssl.ca.location=" + caFile}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr := n.ListenerAddr(c.listener)
			var args []string
			for _, x := range c.x {
				args = append(args, "-X", x)
			}
			out := run(t, "", kcat, append([]string{"-b", addr, "-L"}, args...)...)
			if !strings.Contains(out, "broker 1 at "+addr) {
				t.Fatalf("kcat -L does not show the %s listener's address %s:\n%s", c.listener, addr, out)
			}
			value := fmt.Sprintf("kcat-%d", i)
			run(t, value+"\n", kcat, append([]string{"-b", addr, "-P", "-t", "secure", "-p", "0"}, args...)...)
			out = run(t, "", kcat, append([]string{"-b", addr, "-C", "-t", "secure", "-p", "0", "-o", "beginning", "-e"}, args...)...)
			if !strings.Contains(out, value) {
				t.Fatalf("kcat consumed %q, want it to contain %q", out, value)
			}
		})
	}
	// A wrong password is refused.
	cmd := exec.Command(kcat, "-b", n.ListenerAddr("SASL_SSL"), "-L", "-m", "5",
		"-X", "security.protocol=SASL_SSL", "-X", "sasl.mechanisms=SCRAM-SHA-256",
		"-X", "sasl.username=alice", "-X", "sasl.password=wrong", "-X", "ssl.ca.location="+caFile)
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("kcat with a wrong password listed metadata:\n%s", out)
	}
}

func TestKafkaPythonSecurity(t *testing.T) {
	python := need(t, "/usr/bin/python3")
	if err := exec.Command(python, "-c", "import kafka").Run(); err != nil {
		t.Skip("kafka-python is not installed")
	}
	n, caFile := secureNode(t)
	cases := []struct {
		name, listener, protocol, mechanism, user, password, cafile string
	}{
		{"SASL_SSL SCRAM-SHA-256", "SASL_SSL", "SASL_SSL", "SCRAM-SHA-256", "alice", "alice-pw", caFile},
		{"SASL_PLAINTEXT SCRAM-SHA-512", "SASL_PLAINTEXT", "SASL_PLAINTEXT", "SCRAM-SHA-512", "alice", "alice-pw", "-"},
		{"SASL_PLAINTEXT PLAIN", "SASL_PLAINTEXT", "SASL_PLAINTEXT", "PLAIN", "plain", "plain-pw", "-"},
		{"SSL", "SSL", "SSL", "-", "-", "-", caFile},
	}
	total := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			const count = 3
			total += count
			out := run(t, "", python, "testdata/secure_roundtrip.py", n.ListenerAddr(c.listener), "secure",
				fmt.Sprint(count), c.protocol, c.mechanism, c.user, c.password, c.cafile)
			if lines := strings.Fields(out); len(lines) != count || lines[0] != "v0" {
				t.Fatalf("kafka-python consumed %q, want %d records from v0", out, count)
			}
		})
	}
}
