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
