package auth_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// rawConn speaks the protocol by hand, for the parts no client library exercises: the raw
// tokens after a v0 SaslHandshake and broken frames.
type rawConn struct {
	t    *testing.T
	nc   net.Conn
	r    *bufio.Reader
	corr int32
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	// A deadline on the test's reads only: the broker is never waited on without one.
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawConn{t: t, nc: nc, r: bufio.NewReader(nc)}
}

func (c *rawConn) write(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

// frame reads one size-prefixed frame.
func (c *rawConn) frame() ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(c.r, size[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint32(size[:]))
	_, err := io.ReadFull(c.r, b)
	return b, err
}

// request sends req and decodes the response into resp.
func (c *rawConn) request(req kmsg.Request, resp kmsg.Response) error {
	c.t.Helper()
	c.corr++
	c.write(kmsg.NewRequestFormatter(kmsg.FormatterClientID("raw")).AppendRequest(nil, req, c.corr))
	b, err := c.frame()
	if err != nil {
		return err
	}
	if len(b) < 4 || int32(binary.BigEndian.Uint32(b)) != c.corr {
		c.t.Fatalf("bad correlation id in %x", b)
	}
	b = b[4:]
	resp.SetVersion(req.GetVersion()) // before IsFlexible, which depends on it
	if resp.IsFlexible() && resp.Key() != kmsg.ApiVersions.Int16() {
		b = b[1:] // empty response header tags
	}
	return resp.ReadFrom(b)
}

// token sends a raw SASL token and reads the raw answer.
func (c *rawConn) token(tok []byte) ([]byte, error) {
	c.t.Helper()
	c.write(binary.BigEndian.AppendUint32(nil, uint32(len(tok))))
	c.write(tok)
	return c.frame()
}

// closed asserts the broker closed the connection.
func (c *rawConn) closed() {
	c.t.Helper()
	if _, err := c.frame(); !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		c.t.Fatalf("connection still open: %v", err)
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

func handshakeV0(t *testing.T, c *rawConn, mech string) *kmsg.SASLHandshakeResponse {
	t.Helper()
	req := kmsg.NewPtrSASLHandshakeRequest()
	req.Version, req.Mechanism = 0, mech
	resp := kmsg.NewPtrSASLHandshakeResponse()
	if err := c.request(req, resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

func metadataV1(c *rawConn) error {
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 1
	return c.request(req, kmsg.NewPtrMetadataResponse())
}

func TestSASLv0RawTokens(t *testing.T) {
	n, _ := secureNode(t, clustertest.NewCA(t, "ca"))
	addr := n.ListenerAddr("SASL_PLAINTEXT")

	c := dialRaw(t, addr)
	hs := handshakeV0(t, c, "PLAIN")
	if hs.ErrorCode != 0 || len(hs.SupportedMechanisms) != 3 {
		t.Fatalf("handshake: %+v", hs)
	}
	reply, err := c.token([]byte("\x00alice\x00alice-secret"))
	if err != nil || len(reply) != 0 {
		t.Fatalf("PLAIN token: %x, %v", reply, err)
	}
	if err := metadataV1(c); err != nil {
		t.Fatalf("metadata after raw authentication: %v", err)
	}

	// A wrong password closes the connection.
	c = dialRaw(t, addr)
	handshakeV0(t, c, "PLAIN")
	if _, err := c.token([]byte("\x00alice\x00nope")); err == nil {
		t.Fatal("a wrong password got an answer")
	}

	// A mechanism the listener does not enable: UNSUPPORTED_SASL_MECHANISM, then closed.
	c = dialRaw(t, addr)
	if hs := handshakeV0(t, c, "GSSAPI"); hs.ErrorCode != kerr.UnsupportedSaslMechanism.Code {
		t.Fatalf("GSSAPI handshake: code %d", hs.ErrorCode)
	}
	c.closed()
}

func TestRequestBeforeAuthenticationCloses(t *testing.T) {
	n, _ := secureNode(t, clustertest.NewCA(t, "ca"))
	c := dialRaw(t, n.ListenerAddr("SASL_PLAINTEXT"))
	if err := metadataV1(c); err == nil {
		t.Fatal("metadata answered before authentication")
	}
	// ApiVersions is allowed first, as in Kafka.
	c = dialRaw(t, n.ListenerAddr("SASL_PLAINTEXT"))
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 3
	req.ClientSoftwareName, req.ClientSoftwareVersion = "raw", "1"
	if err := c.request(req, kmsg.NewPtrApiVersionsResponse()); err != nil {
		t.Fatalf("ApiVersions before authentication: %v", err)
	}
}

func TestMalformedSASLFrameClosesOnlyThatConnection(t *testing.T) {
	n, _ := secureNode(t, clustertest.NewCA(t, "ca"))
	addr := n.ListenerAddr("SASL_PLAINTEXT")
	good := newClient(t, addr, kgo.SASL(plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism()))
	if _, err := metadataPort(t, good); err != nil {
		t.Fatal(err)
	}

	// Garbage as the first SCRAM message.
	c := dialRaw(t, addr)
	handshakeV0(t, c, "SCRAM-SHA-256")
	if _, err := c.token([]byte("\xff\x00garbage,,,=")); err == nil {
		t.Fatal("a malformed SCRAM message got an answer")
	}
	// A raw token frame whose size is far beyond the pre-authentication limit.
	c = dialRaw(t, addr)
	handshakeV0(t, c, "PLAIN")
	c.write([]byte{0x7f, 0xff, 0xff, 0xff, 0, 0})
	c.closed()
	// A frame cut short: the size promises more than ever comes, then the client hangs up.
	c = dialRaw(t, addr)
	c.write([]byte{0, 0, 0, 100, 0, 17})
	c.nc.(*net.TCPConn).CloseWrite()
	c.closed()

	// The authenticated client is still served.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := good.Ping(ctx); err != nil {
		t.Fatalf("the other connection broke: %v", err)
	}
	if _, err := metadataPort(t, good); err != nil {
		t.Fatal(err)
	}
}
