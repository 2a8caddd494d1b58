package node_test

import (
	"context"
	"crypto/x509/pkix"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// TestControllerListenerSSL: three voters and a broker-only node whose controller listener is
// SSL with client certificates required (listener.name.controller.ssl.*). The voters elect a
// controller over TLS, the broker-only node registers and follows the metadata log, a topic is
// created through a node that may not be the active controller (a forwarded controller
// request), and a plaintext connection to a controller port is refused.
func TestControllerListenerSSL(t *testing.T) {
	dir := t.TempDir()
	ca := clustertest.NewCA(t, "controller-ca")
	cert, key := ca.IssuePeer(t, pkix.Name{CommonName: "controller"})
	c := clustertest.StartCluster(t, 4, clustertest.Overrides(
		"listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:SSL",
		"listener.name.controller.ssl.keystore.type", "PEM",
		"listener.name.controller.ssl.keystore.location", clustertest.WriteFile(t, dir, "node.pem", append(cert, key...)),
		"listener.name.controller.ssl.truststore.location", clustertest.WriteFile(t, dir, "ca.pem", ca.CertPEM),
		"listener.name.controller.ssl.client.auth", "required",
	))
	c.WaitActiveController()
	ctx := testContext(t)
	adm := clusterAdmin(t, c.Addrs()[3]) // the broker-only node forwards the create
	if res, err := adm.CreateTopic(ctx, 2, 3, nil, "over-tls"); err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}
	c.WaitConverged()
	if _, ok := c.Node(3).Controller().Image().Topics["over-tls"]; !ok {
		t.Fatal("the broker-only node's image has no topic over-tls")
	}

	ctrlAddr := c.Node(0).Controller().Addr().String()
	// A Kafka client speaking plaintext gets no answer: the connection closes.
	cl, err := kgo.NewClient(kgo.SeedBrokers(ctrlAddr), kgo.RequestRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := cl.SeedBrokers()[0].Request(rctx, kmsg.NewPtrApiVersionsRequest()); err == nil {
		t.Fatal("a plaintext Kafka request to the SSL controller listener was answered")
	}
	// A plaintext Raft connection (magic byte first) is closed without a byte in return.
	nc, err := net.DialTimeout("tcp", ctrlAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc.Write([]byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	// The listener closes it; at most a TLS alert (record type 0x15) comes back first.
	got, err := io.ReadAll(nc)
	if err != nil || len(got) > 0 && got[0] != 0x15 {
		t.Fatalf("plaintext Raft connection: read %x, err %v; want it closed", got, err)
	}
}
