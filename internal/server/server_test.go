package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/wire"
)

// TestWriteRegionSendfile sends a region of a real file over a real TCP connection (the
// sendfile path) and over a pipe (the copy path); both deliver exactly the region.
func TestWriteRegionSendfile(t *testing.T) {
	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	path := filepath.Join(t.TempDir(), "segment.log")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()

	const pos, size = 12345, 2<<20 + 17
	errc := make(chan error, 1)
	go func() { errc <- writeRegion(server, f, pos, size) }()
	got := make([]byte, size)
	if _, err := io.ReadFull(client, got); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data[pos:pos+size]) {
		t.Fatal("sendfile delivered other bytes than the region")
	}

	a, b := net.Pipe()
	go func() { errc <- writeRegion(a, f, 10, 1000); a.Close() }()
	piped, _ := io.ReadAll(b)
	if err := <-errc; err != nil || !bytes.Equal(piped, data[10:1010]) {
		t.Fatalf("copy path: %d bytes, err %v", len(piped), err)
	}
	if err := writeRegion(a, f, int64(len(data))-10, 20); err == nil {
		t.Fatal("a region past the end of the file must fail")
	}
}

// TestPipelinedResponsesInOrder sends many requests in one write without waiting and reads
// the responses: every one arrives, in request order.
func TestPipelinedResponsesInOrder(t *testing.T) {
	reg := wire.NewRegistry()
	reg.Register(wire.API{Key: kmsg.ApiVersions, MinVersion: 0, MaxVersion: 4, Handle: func(_ context.Context, r *wire.Request) (wire.Reply, error) {
		return wire.Reply{Msg: kmsg.NewPtrApiVersionsResponse()}, nil
	}})
	srv, err := Listen(Config{Addr: "127.0.0.1:0", MaxRequestSize: 1 << 20, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	defer srv.Close()

	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	const n = 500
	var out []byte
	f := kmsg.NewRequestFormatter()
	for i := 0; i < n; i++ {
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version = 3
		out = append(out, f.AppendRequest(nil, req, int32(i))...)
	}
	if _, err := c.Write(out); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	for i := 0; i < n; i++ {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		if id := int32(binary.BigEndian.Uint32(hdr[4:])); id != int32(i) {
			t.Fatalf("response %d has correlation id %d", i, id)
		}
		if _, err := r.Discard(int(binary.BigEndian.Uint32(hdr[:4])) - 4); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDeferredReplyKeepsReading: while a request's reply waits (a Produce waiting for the
// in-sync replicas), the connection's next requests are read and handled; the responses
// still leave in request order once the wait is over.
func TestDeferredReplyKeepsReading(t *testing.T) {
	release := make(chan struct{})
	handled := make(chan string, 16)
	reg := wire.NewRegistry()
	reg.Register(wire.API{Key: kmsg.ApiVersions, MinVersion: 0, MaxVersion: 4, Handle: func(_ context.Context, r *wire.Request) (wire.Reply, error) {
		name := r.Body.(*kmsg.ApiVersionsRequest).ClientSoftwareName
		handled <- name
		if name == "wait" {
			return wire.Reply{Deferred: func() kmsg.Response {
				<-release
				return kmsg.NewPtrApiVersionsResponse()
			}}, nil
		}
		return wire.Reply{Msg: kmsg.NewPtrApiVersionsResponse()}, nil
	}})
	srv, err := Listen(Config{Addr: "127.0.0.1:0", MaxRequestSize: 1 << 20, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	defer srv.Close()

	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	names := []string{"go", "wait", "go", "wait", "go"}
	var out []byte
	f := kmsg.NewRequestFormatter()
	for i, name := range names {
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version = 3
		req.ClientSoftwareName, req.ClientSoftwareVersion = name, "1"
		out = append(out, f.AppendRequest(nil, req, int32(i))...)
	}
	if _, err := c.Write(out); err != nil {
		t.Fatal(err)
	}
	// Every request is handled while the first deferred reply still waits.
	deadline := time.After(30 * time.Second)
	for i := range names {
		select {
		case name := <-handled:
			if name != names[i] {
				t.Fatalf("request %d handled as %q, want %q: handled out of order", i, name, names[i])
			}
		case <-deadline:
			t.Fatalf("request %d was not handled while an earlier reply waited", i)
		}
	}
	close(release)
	r := bufio.NewReader(c)
	for i := range names {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		if id := int32(binary.BigEndian.Uint32(hdr[4:])); id != int32(i) {
			t.Fatalf("response %d has correlation id %d", i, id)
		}
		if _, err := r.Discard(int(binary.BigEndian.Uint32(hdr[:4])) - 4); err != nil {
			t.Fatal(err)
		}
	}
}
