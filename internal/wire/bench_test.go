package wire

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// produceFrame returns a size-prefixed Produce v9 request frame carrying a
// records payload of n bytes, as a client sends it.
func produceFrame(n int) []byte {
	req := kmsg.NewPtrProduceRequest()
	req.Version = 9
	req.Acks = -1
	req.TimeoutMillis = 30000
	tp := kmsg.NewProduceRequestTopic()
	tp.Topic = "bench"
	pp := kmsg.NewProduceRequestTopicPartition()
	pp.Records = make([]byte, n)
	tp.Partitions = append(tp.Partitions, pp)
	req.Topics = append(req.Topics, tp)
	body := []byte{0, 0, 0, 0}                  // size, set below
	body = append(body, 0, 0, 0, 9, 0, 0, 0, 1) // api key 0, version 9, correlation id 1
	body = append(body, 0, 6)
	body = append(body, "client"...)
	body = append(body, 0) // no header tags
	body = req.AppendTo(body)
	size := len(body) - 4
	body[0], body[1], body[2], body[3] = byte(size>>24), byte(size>>16), byte(size>>8), byte(size)
	return body
}

// BenchmarkReadFrame reads 16 KiB produce frames off a buffered stream and
// parses their request headers: the per-request work of a connection's read
// loop before the API handler.
func BenchmarkReadFrame(b *testing.B) {
	frame := produceFrame(16 << 10)
	const perStream = 64
	stream := bytes.Repeat(frame, perStream)
	rd := bytes.NewReader(stream)
	br := bufio.NewReaderSize(rd, 64<<10)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%perStream == 0 {
			rd.Reset(stream)
			br.Reset(rd)
		}
		f, err := ReadFrame(br, 100<<20)
		if err != nil {
			b.Fatal(err)
		}
		h, body, err := ParseHeader(f)
		if err != nil || h.APIKey != 0 || len(body) == 0 {
			b.Fatalf("header %+v: %v", h, err)
		}
	}
}

// BenchmarkReadFrame96KiB reads 96 KiB produce frames, the size of a request carrying a
// 16 KiB batch for each of 6 partitions, as new buffers (ReadFrame) and through the frame pool
// (ReadPooledFrame then ReleaseFrame, as the connection does for Produce).
func BenchmarkReadFrame96KiB(b *testing.B) {
	frame := produceFrame(96 << 10)
	const perStream = 16
	stream := bytes.Repeat(frame, perStream)
	for _, bc := range []struct {
		name    string
		read    func(*bufio.Reader, int32) ([]byte, error)
		release func([]byte)
	}{
		{"new", ReadFrame, func([]byte) {}},
		{"pooled", ReadPooledFrame, ReleaseFrame},
	} {
		b.Run(bc.name, func(b *testing.B) {
			rd := bytes.NewReader(stream)
			br := bufio.NewReaderSize(rd, 32<<10)
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if i%perStream == 0 {
					rd.Reset(stream)
					br.Reset(rd)
				}
				f, err := bc.read(br, 100<<20)
				if err != nil {
					b.Fatal(err)
				}
				bc.release(f)
			}
		})
	}
}

// BenchmarkDecodeProduce decodes a 16 KiB Produce request body with kmsg,
// which the produce handler does for every request.
func BenchmarkDecodeProduce(b *testing.B) {
	frame := produceFrame(16 << 10)
	_, body, err := ParseHeader(frame[4:])
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		req := kmsg.NewPtrProduceRequest()
		req.Version = 9
		if err := req.ReadFrom(body); err != nil {
			b.Fatal(err)
		}
	}
}
