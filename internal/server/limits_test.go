package server

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gregorhq/gregor/internal/wire"
)

// TestMaxConnectionsPerIP: a second connection from the same address is closed at once; once
// the first closes, a new one is served.
func TestMaxConnectionsPerIP(t *testing.T) {
	srv, err := Listen(Config{Addr: "127.0.0.1:0", Registry: wire.NewRegistry(), MaxRequestSize: 1 << 20,
		Limits: &ConnLimits{PerIP: 1}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	defer srv.Close()

	first, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	// closedByServer reports whether the server closed c (EOF), as opposed to keeping it open
	// (the read deadline passes).
	closedByServer := func(c net.Conn) bool {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := c.Read(make([]byte, 1))
		return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err)
	}
	second, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if !closedByServer(second) {
		t.Fatal("the second connection from one address was kept")
	}
	first.Close()
	// The server forgets the first connection once its goroutines end; retry until then.
	deadline := time.Now().Add(10 * time.Second)
	for {
		third, err := net.Dial("tcp", srv.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		third.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		_, err = third.Read(make([]byte, 1))
		third.Close()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return // kept open: served
		}
		if time.Now().After(deadline) {
			t.Fatal("no connection was served after the first closed")
		}
	}
}

func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && !oe.Timeout()
}

// badFrame is a frame header claiming more than any MaxRequestSize: a served connection that
// reads it is closed at once.
var badFrame = []byte{0x7f, 0xff, 0xff, 0xff}

// readsEOF reports whether the server closes c within d, as opposed to keeping it open.
func readsEOF(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := c.Read(make([]byte, 1))
	return errors.Is(err, io.EOF) || isReset(err)
}

// TestMaxConnectionsWaitsForASlot: at max.connections a new connection is neither served nor
// closed, as Kafka's acceptor waits for a slot; it is served once a connection closes.
func TestMaxConnectionsWaitsForASlot(t *testing.T) {
	srv, err := Listen(Config{Addr: "127.0.0.1:0", Registry: wire.NewRegistry(), MaxRequestSize: 1 << 20,
		Limits: &ConnLimits{Max: 1}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	defer srv.Close()

	first, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	second, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if _, err := second.Write(badFrame); err != nil {
		t.Fatal(err)
	}
	// Not served (it would read the bad frame and close) and not refused (closed): waiting.
	if readsEOF(second, 300*time.Millisecond) {
		t.Fatal("the connection over max.connections was closed instead of waiting")
	}
	first.Close()
	if !readsEOF(second, 10*time.Second) {
		t.Fatal("the waiting connection was not served after a slot freed")
	}
}

// fixedRate throttles every connection after the first by delay.
type fixedRate struct {
	delay time.Duration
	n     int
}

func (r *fixedRate) RecordConnection(string) time.Duration {
	if r.n++; r.n == 1 {
		return 0
	}
	return r.delay
}

// TestConnectionRateClosesAfterTheThrottle: a connection over its IP's connection rate is not
// served and is closed once its throttle time has passed (Kafka's DelayedCloseSocket), and is
// not counted against max.connections.per.ip.
func TestConnectionRateClosesAfterTheThrottle(t *testing.T) {
	const delay = 300 * time.Millisecond
	limits := &ConnLimits{PerIP: 1, Rate: &fixedRate{delay: delay}}
	srv, err := Listen(Config{Addr: "127.0.0.1:0", Registry: wire.NewRegistry(), MaxRequestSize: 1 << 20, Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	defer srv.Close()

	first, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	start := time.Now()
	second, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if _, err := second.Write(badFrame); err != nil {
		t.Fatal(err)
	}
	if !readsEOF(second, 10*time.Second) {
		t.Fatal("the throttled connection was not closed")
	}
	if waited := time.Since(start); waited < delay {
		t.Fatalf("the throttled connection was closed after %v, before its %v throttle (served or refused at once)", waited, delay)
	}
	limits.mu.Lock()
	total := limits.total
	limits.mu.Unlock()
	if total != 1 {
		t.Fatalf("%d connections counted, want 1 (the throttled one is not)", total)
	}
}
