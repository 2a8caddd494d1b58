package api

import (
	"bytes"
	"os"
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/storage"
	"github.com/gregorhq/gregor/internal/wire"
)

// TestEncodeFetchMatchesKmsg checks, for every served version, that the zero-copy encoding
// (with its file regions read back) is byte for byte what kmsg encodes for the same response.
func TestEncodeFetchMatchesKmsg(t *testing.T) {
	file := bytes.Repeat([]byte("0123456789abcdef"), 64)
	f, err := storage.NewMemFS().OpenFile("segment", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(file); err != nil {
		t.Fatal(err)
	}
	regions := [][]storage.Region{
		{{File: f, Pos: 16, Size: 100}, {}},
		{{File: f, Pos: 0, Size: int64(len(file))}},
	}
	for v := int16(4); v <= 17; v++ {
		resp := kmsg.NewPtrFetchResponse()
		resp.Version = v
		resp.ThrottleMillis = 7
		resp.SessionID = 0
		for ti, name := range []string{"alpha", "beta"} {
			rt := kmsg.NewFetchResponseTopic()
			rt.Topic = name
			rt.TopicID = [16]byte{byte(ti + 1)}
			for pi := range regions[ti] {
				rp := kmsg.NewFetchResponseTopicPartition()
				rp.Partition = int32(pi)
				rp.HighWatermark = 1000 + int64(pi)
				rp.LastStableOffset = 999
				rp.LogStartOffset = 3
				if pi == 1 && v >= 12 {
					rp.DivergingEpoch.Epoch, rp.DivergingEpoch.EndOffset = 4, 77
				}
				if pi == 1 {
					rp.ErrorCode = 1
					rp.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{{ProducerID: 5, FirstOffset: 6}}
				}
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}

		var got []byte
		for _, c := range encodeFetch(resp, regions) {
			got = append(got, chunkBytes(t, c)...)
		}

		// The same response with its records in memory, as kmsg would send it.
		for ti := range resp.Topics {
			for pi := range resp.Topics[ti].Partitions {
				r := regions[ti][pi]
				rec := []byte{}
				if r.Size > 0 {
					rec = file[r.Pos : r.Pos+r.Size]
				}
				resp.Topics[ti].Partitions[pi].RecordBatches = rec
			}
		}
		want := resp.AppendTo(nil)
		if !bytes.Equal(got, want) {
			t.Fatalf("v%d: encodings differ\n got %x\nwant %x", v, got, want)
		}
		back := kmsg.NewPtrFetchResponse()
		back.Version = v
		if err := back.ReadFrom(got); err != nil {
			t.Fatalf("v%d: kmsg cannot decode our encoding: %v", v, err)
		}
		if !reflect.DeepEqual(back.Topics[1].Partitions[0].RecordBatches, file) {
			t.Fatalf("v%d: records did not round-trip", v)
		}
	}
}

func chunkBytes(t *testing.T, c wire.Chunk) []byte {
	t.Helper()
	if c.File == nil {
		return c.Bytes
	}
	b := make([]byte, c.Size)
	if _, err := c.File.ReadAt(b, c.Pos); err != nil {
		t.Fatal(err)
	}
	return b
}
