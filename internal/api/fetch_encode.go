package api

import (
	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/storage"
	"github.com/gregorhq/gregor/internal/wire"
)

// encodeFetch encodes a Fetch response body whose records are file regions: regions[i][j]
// holds the records of resp.Topics[i].Partitions[j] (resp's own RecordBatches are ignored).
// The layout is the Fetch response's for resp.Version, field by field as kmsg encodes it
// (fetch_encode_test.go checks the two agree for every version); kmsg cannot encode a
// response without the record bytes in memory, which is the copy this avoids.
//
// Tagged fields are written empty but for a partition's diverging_epoch (follower fetches).
func encodeFetch(resp *kmsg.FetchResponse, regions [][]storage.Region) []wire.Chunk {
	v := resp.Version
	flexible := v >= 12
	var chunks []wire.Chunk
	buf := make([]byte, 0, 256)

	if v >= 1 {
		buf = kbin.AppendInt32(buf, resp.ThrottleMillis)
	}
	if v >= 7 {
		buf = kbin.AppendInt16(buf, resp.ErrorCode)
		buf = kbin.AppendInt32(buf, resp.SessionID)
	}
	buf = appendArrayLen(buf, len(resp.Topics), flexible)
	for i := range resp.Topics {
		t := &resp.Topics[i]
		if v <= 12 {
			if flexible {
				buf = kbin.AppendCompactString(buf, t.Topic)
			} else {
				buf = kbin.AppendString(buf, t.Topic)
			}
		} else {
			buf = kbin.AppendUuid(buf, t.TopicID)
		}
		buf = appendArrayLen(buf, len(t.Partitions), flexible)
		for j := range t.Partitions {
			p := &t.Partitions[j]
			buf = kbin.AppendInt32(buf, p.Partition)
			buf = kbin.AppendInt16(buf, p.ErrorCode)
			buf = kbin.AppendInt64(buf, p.HighWatermark)
			if v >= 4 {
				buf = kbin.AppendInt64(buf, p.LastStableOffset)
			}
			if v >= 5 {
				buf = kbin.AppendInt64(buf, p.LogStartOffset)
			}
			if v >= 4 {
				if flexible {
					buf = kbin.AppendCompactNullableArrayLen(buf, len(p.AbortedTransactions), p.AbortedTransactions == nil)
				} else {
					buf = kbin.AppendNullableArrayLen(buf, len(p.AbortedTransactions), p.AbortedTransactions == nil)
				}
				for _, a := range p.AbortedTransactions {
					buf = kbin.AppendInt64(buf, a.ProducerID)
					buf = kbin.AppendInt64(buf, a.FirstOffset)
					if flexible {
						buf = kbin.AppendUvarint(buf, 0)
					}
				}
			}
			if v >= 11 {
				buf = kbin.AppendInt32(buf, p.PreferredReadReplica)
			}
			region := regions[i][j]
			// Records: a (compact) length, then the region's bytes straight from the file.
			if flexible {
				buf = kbin.AppendUvarint(buf, uint32(region.Size)+1)
			} else {
				buf = kbin.AppendInt32(buf, int32(region.Size))
			}
			if region.Size > 0 {
				chunks = append(chunks, wire.Chunk{Bytes: buf}, wire.Chunk{File: region.File, Pos: region.Pos, Size: region.Size})
				buf = make([]byte, 0, 128)
			}
			if flexible {
				// Partition tags: only diverging_epoch (tag 0) is ever set.
				if d := p.DivergingEpoch; d.Epoch >= 0 || d.EndOffset >= 0 {
					buf = kbin.AppendUvarint(buf, 1)
					buf = kbin.AppendUvarint(buf, 0)
					buf = kbin.AppendUvarint(buf, 4+8+1)
					buf = kbin.AppendInt32(buf, d.Epoch)
					buf = kbin.AppendInt64(buf, d.EndOffset)
					buf = kbin.AppendUvarint(buf, 0)
				} else {
					buf = kbin.AppendUvarint(buf, 0)
				}
			}
		}
		if flexible {
			buf = kbin.AppendUvarint(buf, 0) // topic tags
		}
	}
	if flexible {
		buf = kbin.AppendUvarint(buf, 0) // response tags
	}
	return append(chunks, wire.Chunk{Bytes: buf})
}

func appendArrayLen(dst []byte, n int, flexible bool) []byte {
	if flexible {
		return kbin.AppendCompactArrayLen(dst, n)
	}
	return kbin.AppendArrayLen(dst, n)
}
