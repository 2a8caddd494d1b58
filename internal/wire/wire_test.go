package wire

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func frame(payload []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(payload))), payload...)
}

func TestReadFrame(t *testing.T) {
	big := bytes.Repeat([]byte{7}, 3*frameChunk+5)
	for _, tc := range []struct {
		name    string
		in      []byte
		max     int32
		want    []byte
		wantErr error
	}{
		{"empty frame", frame(nil), 100, []byte{}, nil},
		{"small", frame([]byte("abc")), 100, []byte("abc"), nil},
		{"larger than one chunk", frame(big), 1 << 20, big, nil},
		{"over max", frame([]byte("abcdef")), 5, nil, ErrFrameTooLarge},
		{"negative size", []byte{0xff, 0xff, 0xff, 0xfe}, 100, nil, ErrFrameTooLarge},
		{"truncated body", frame([]byte("abcdef"))[:7], 100, nil, io.ErrUnexpectedEOF},
		{"truncated big body", frame(big)[:2*frameChunk], 1 << 20, nil, io.ErrUnexpectedEOF},
		{"truncated size", []byte{0, 0}, 100, nil, io.ErrUnexpectedEOF},
		{"nothing", nil, 100, nil, io.EOF},
	} {
		for _, read := range []struct {
			name string
			fn   func(*bufio.Reader, int32) ([]byte, error)
		}{{"new", ReadFrame}, {"pooled", ReadPooledFrame}} {
			t.Run(tc.name+"/"+read.name, func(t *testing.T) {
				got, err := read.fn(bufio.NewReader(bytes.NewReader(tc.in)), tc.max)
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("err = %v, want %v", err, tc.wantErr)
					}
					return
				}
				if err != nil || !bytes.Equal(got, tc.want) {
					t.Fatalf("got %d bytes, err %v", len(got), err)
				}
				if read.name == "pooled" {
					ReleaseFrame(got)
				}
			})
		}
	}
}

// TestReadPooledFrameReuse reads frames of varied sizes through the pool, releasing each,
// and checks that every frame holds its own bytes whatever buffer it reused.
func TestReadPooledFrameReuse(t *testing.T) {
	var stream []byte
	var want [][]byte
	for i, n := range []int{5, 3 * frameChunk, 4096, 4097, 100, 3*frameChunk - 1, 0, 1 << 17} {
		p := bytes.Repeat([]byte{byte(i + 1)}, n)
		want = append(want, p)
		stream = append(stream, frame(p)...)
	}
	r := bufio.NewReader(bytes.NewReader(stream))
	for i, w := range want {
		got, err := ReadPooledFrame(r, 1<<20)
		if err != nil || !bytes.Equal(got, w) {
			t.Fatalf("frame %d: got %d bytes (want %d), err %v", i, len(got), len(w), err)
		}
		ReleaseFrame(got)
	}
	ReleaseFrame(make([]byte, 10))      // not a pooled size: ignored
	ReleaseFrame(make([]byte, 0, 4096)) // a pooled size from elsewhere: taken
	got, err := ReadPooledFrame(bufio.NewReader(bytes.NewReader(frame([]byte("xyz")))), 10)
	if err != nil || string(got) != "xyz" {
		t.Fatalf("got %q, %v", got, err)
	}
}

// request encodes a request as a client would, without the size prefix.
func request(req kmsg.Request, version int16, clientID string) []byte {
	req.SetVersion(version)
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID(clientID))
	return f.AppendRequest(nil, req, 99)[4:]
}

func TestParseHeader(t *testing.T) {
	for _, tc := range []struct {
		name     string
		req      kmsg.Request
		version  int16
		flexible bool
	}{
		{"metadata v1 (header v1)", kmsg.NewPtrMetadataRequest(), 1, false},
		{"metadata v9 (header v2)", kmsg.NewPtrMetadataRequest(), 9, true},
		{"api versions v3", kmsg.NewPtrApiVersionsRequest(), 3, true},
		{"produce v7", kmsg.NewPtrProduceRequest(), 7, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, body, err := ParseHeader(request(tc.req, tc.version, "cli"))
			if err != nil {
				t.Fatal(err)
			}
			if h.APIKey != tc.req.Key() || h.APIVersion != tc.version || h.CorrelationID != 99 ||
				h.ClientID == nil || *h.ClientID != "cli" || h.Flexible != tc.flexible {
				t.Fatalf("header %+v", h)
			}
			back := kmsg.RequestForKey(h.APIKey)
			back.SetVersion(h.APIVersion)
			if err := back.ReadFrom(body); err != nil {
				t.Fatalf("body does not decode: %v", err)
			}
		})
	}
	for name, in := range map[string][]byte{
		"empty":              nil,
		"short":              {0, 3, 0},
		"unknown key":        {0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0xff, 0xff},
		"client id past end": {0, 3, 0, 1, 0, 0, 0, 1, 0, 9, 'a'},
	} {
		if _, _, err := ParseHeader(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

func TestResponseHeader(t *testing.T) {
	h := Header{APIKey: kmsg.Metadata.Int16(), CorrelationID: 5, Flexible: true}
	if got := AppendResponseHeader(nil, h); !bytes.Equal(got, []byte{0, 0, 0, 5, 0}) {
		t.Fatalf("flexible header %x", got)
	}
	h.APIKey = kmsg.ApiVersions.Int16()
	if got := AppendResponseHeader(nil, h); !bytes.Equal(got, []byte{0, 0, 0, 5}) {
		t.Fatalf("ApiVersions header must stay v0: %x", got)
	}
}

func TestDispatch(t *testing.T) {
	reg := NewRegistry()
	var served int
	reg.Register(API{Key: kmsg.ApiVersions, MinVersion: 0, MaxVersion: 3, Handle: func(_ context.Context, r *Request) (Reply, error) {
		served++
		return Reply{Msg: kmsg.NewPtrApiVersionsResponse()}, nil
	}})
	reg.Register(API{Key: kmsg.Metadata, MinVersion: 1, MaxVersion: 12, Handle: func(context.Context, *Request) (Reply, error) {
		served++
		return Reply{Msg: kmsg.NewPtrMetadataResponse()}, nil
	}})

	dispatch := func(req kmsg.Request, v int16) (Reply, error) {
		h, body, err := ParseHeader(request(req, v, "c"))
		if err != nil {
			t.Fatal(err)
		}
		return reg.Dispatch(context.Background(), h, body, nil)
	}
	if r, err := dispatch(kmsg.NewPtrMetadataRequest(), 7); err != nil || r.Msg.GetVersion() != 7 {
		t.Fatalf("metadata v7: %v, %+v", err, r)
	}
	if _, err := dispatch(kmsg.NewPtrMetadataRequest(), 0); !errors.Is(err, ErrMalformed) {
		t.Fatalf("metadata v0 (below range): %v", err)
	}
	if _, err := dispatch(kmsg.NewPtrProduceRequest(), 3); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unregistered api: %v", err)
	}
	r, err := dispatch(kmsg.NewPtrApiVersionsRequest(), 4)
	if err != nil {
		t.Fatal(err)
	}
	av := r.Msg.(*kmsg.ApiVersionsResponse)
	if av.Version != 0 || av.ErrorCode != kerr.UnsupportedVersion.Code || len(av.ApiKeys) != 2 {
		t.Fatalf("ApiVersions above range: %+v", av)
	}
	if served != 1 {
		t.Fatalf("handlers ran %d times, want 1", served)
	}
}

// FuzzParseRequest feeds arbitrary frames to the header parser, which must not panic and must
// hand back a body that is a suffix of the frame. (Bodies are kmsg's to decode; see the note
// on forged tag counts in registry.go.)
func FuzzParseRequest(f *testing.F) {
	f.Add(request(kmsg.NewPtrMetadataRequest(), 9, "seed"))
	f.Add(request(kmsg.NewPtrApiVersionsRequest(), 3, "seed"))
	f.Add(request(kmsg.NewPtrProduceRequest(), 9, ""))
	f.Add(request(kmsg.NewPtrFetchRequest(), 12, "x"))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, in []byte) {
		_, body, err := ParseHeader(in)
		if err == nil && !bytes.HasSuffix(in, body) {
			t.Fatalf("body %x is not a suffix of the frame %x", body, in)
		}
	})
}

// FuzzReadFrame feeds arbitrary bytes to the framer.
func FuzzReadFrame(f *testing.F) {
	f.Add(frame([]byte("abc")), int32(10))
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff, 1}, int32(1<<20))
	f.Fuzz(func(t *testing.T, in []byte, max int32) {
		got, err := ReadFrame(bufio.NewReader(bytes.NewReader(in)), max)
		if err == nil && (len(in) < 4 || len(got) != int(binary.BigEndian.Uint32(in))) {
			t.Fatalf("frame of %d bytes from %d input bytes", len(got), len(in))
		}
		pooled, perr := ReadPooledFrame(bufio.NewReader(bytes.NewReader(in)), max)
		if (perr == nil) != (err == nil) || !bytes.Equal(pooled, got) {
			t.Fatalf("pooled read: %d bytes, %v; plain read: %d bytes, %v", len(pooled), perr, len(got), err)
		}
		ReleaseFrame(pooled)
		if key, ok := PeekAPIKey(bufio.NewReader(bytes.NewReader(in)), max); ok && err == nil && int16(binary.BigEndian.Uint16(got)) != key {
			t.Fatalf("peeked key %d of a frame that reads as %x, %v", key, got, err)
		}
	})
}

// TestPeekAPIKey reads the API key of the next frame without consuming it, and declines a
// frame too short to hold one, or larger than the maximum, without waiting for more bytes.
func TestPeekAPIKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		key  int16
		ok   bool
	}{
		{"produce", frame([]byte{0, 0, 0, 9, 0, 0, 0, 1}), 0, true},
		{"fetch", frame([]byte{0, 1, 0, 12}), 1, true},
		{"empty frame", frame(nil), 0, false},
		{"one byte", frame([]byte{7}), 0, false},
		{"truncated key", []byte{0, 0, 0, 8, 0}, 0, false},
		{"nothing", nil, 0, false},
		{"over max, key not awaited", []byte{0x7f, 0xff, 0xff, 0xff}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := bufio.NewReader(bytes.NewReader(tc.in))
			key, ok := PeekAPIKey(r, 100)
			if key != tc.key || ok != tc.ok {
				t.Fatalf("got %d, %v; want %d, %v", key, ok, tc.key, tc.ok)
			}
			if rest, _ := io.ReadAll(r); !bytes.Equal(rest, tc.in) {
				t.Fatalf("peek consumed bytes")
			}
		})
	}
}
