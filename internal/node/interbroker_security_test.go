package node_test

import (
	"crypto/x509/pkix"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// TestClusterOverSASLSSLOnly: three brokers whose only client listener, and so inter-broker
// listener, is SASL_SSL. Followers fetch (the ISR stays whole), and transaction markers and
// produce verification travel between brokers, each broker authenticating with its own
// credentials from the listener's JAAS config (sasl.mechanism.inter.broker.protocol PLAIN)
// and checking the others' certificates against the listener's truststore.
func TestClusterOverSASLSSLOnly(t *testing.T) {
	dir := t.TempDir()
	ca := clustertest.NewCA(t, "cluster-ca")
	cert, key := ca.Issue(t, pkix.Name{CommonName: "broker"}, true)
	jaas := `org.apache.kafka.common.security.plain.PlainLoginModule required ` +
		`username="broker" password="broker-pw" user_broker="broker-pw" user_alice="alice-pw";`
	c := clustertest.StartCluster(t, 3, clustertest.ClientListener("SASL_SSL"), clustertest.Overrides(append([]string{
		"ssl.keystore.type", "PEM",
		"ssl.keystore.location", clustertest.WriteFile(t, dir, "broker.pem", append(cert, key...)),
		"ssl.truststore.location", clustertest.WriteFile(t, dir, "ca.pem", ca.CertPEM),
		"sasl.enabled.mechanisms", "PLAIN",
		"sasl.mechanism.inter.broker.protocol", "PLAIN",
		"listener.name.sasl_ssl.plain.sasl.jaas.config", jaas,
	}, replicatedCoordinators...)...))
	ctx := testContext(t)
	secure := []kgo.Opt{
		kgo.SeedBrokers(c.Addrs()...),
		kgo.DialTLSConfig(ca.ClientTLS(t, nil, nil)),
		kgo.SASL(plain.Auth{User: "alice", Pass: "alice-pw"}.AsMechanism()),
	}
	adm := clusterAdminWith(t, secure...)
	if res, err := adm.CreateTopic(ctx, 3, 3, nil, "s"); err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}
	c.WaitConverged()

	// Transactions across the three leaders: markers and verification between brokers.
	p := newClient(t, c.Addrs()[0], append(secure, kgo.TransactionalID("s-tx"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))...)
	var want []string
	for round, commit := range []bool{true, false} {
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for part := range int32(3) {
			v := fmt.Sprintf("r%d-p%d", round, part)
			if err := p.ProduceSync(ctx, &kgo.Record{Topic: "s", Partition: part, Value: []byte(v)}).FirstErr(); err != nil {
				t.Fatalf("produce: %v", err)
			}
			if commit {
				want = append(want, v)
			}
		}
		if err := p.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatalf("end: %v", err)
		}
	}
	cl := newClient(t, c.Addrs()[0], append(secure, kgo.ConsumeTopics("s"),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	var got []string
	for len(got) < len(want) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %v, want %v", got, want)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("read_committed %v, want %v", got, want)
	}

	// Every follower has fetched everything over SASL_SSL: every replica's log ends where its
	// leader's does (2 records and 2 markers per partition).
	clustertest.WaitFor(t, 20*time.Second, "every replica caught up", func() bool {
		for i := range c.N() {
			for part := range int32(3) {
				rp, err := c.Node(i).Replicas().Partition("s", part)
				if err != nil || rp.LogEndOffset() != 4 {
					return false
				}
			}
		}
		return true
	})
}

// clusterAdminWith is clusterAdmin with client options (security, seeds).
func clusterAdminWith(t *testing.T, opts ...kgo.Opt) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}
