package api

// The Produce path's look at the records inside a batch: decompression, the checks that need
// the records (keys on compacted topics, timestamps), and the codec the topic stores batches
// with.
//
// compression.type decides what is stored:
//
//	producer       the producer's bytes, untouched, whatever their codec
//	uncompressed   the records without compression
//	gzip, snappy,  the records compressed with that codec at the topic's
//	lz4, zstd      compression.<codec>.level; a batch already in that codec is kept as it is
//
// A re-encoded batch keeps every header field but the codec, length and CRC: the same offset
// deltas, timestamps, producer id, epoch and base sequence, so idempotence and LogAppendTime
// (set afterwards by the partition) work on it as on the producer's batch.
//
// Compressed records may inflate to records.DecompressLimit(max.message.bytes) bytes; a batch
// that inflates further, or does not decompress, gets CORRUPT_MESSAGE.

import (
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/records"
)

// prepareRecords checks the records of batch, a batch ValidateProduceRecords accepted
// (trimmed to hdr.Size(): bytes after it that do not make a whole second batch are ignored,
// as by Kafka; stats are what its walk learned), and returns the batch to append, re-encoded
// if the topic's compression.type asks for it. An uncompressed batch that passes every check
// and needs no re-encoding is not walked again: its records stay bytes.
func (h *Handlers) prepareRecords(batch []byte, hdr records.Header, stats records.RecordStats, topic string, partition int32, cfg config.Topic) ([]byte, records.Header, error) {
	out, oh := batch, hdr
	// The decompressed records live only as long as the callback: what is appended is the
	// producer's batch or one Recompress built anew.
	err := records.WithDecoded(batch, records.DecompressLimit(int(cfg.MaxMessageBytes)), func(d records.Decoded) error {
		if hdr.Codec() != records.CodecNone {
			// ValidateProduceRecords walked the records of an uncompressed batch; these it
			// could not see.
			var err error
			if stats, err = d.CheckStats(); err != nil {
				return err
			}
		}
		if cfg.CompactEnabled() && stats.NullKey {
			return errKeyless(topic, partition)
		}
		if err := h.checkTimestamps(d, stats, cfg); err != nil {
			return err
		}
		codec, convert := records.ParseCodec(cfg.CompressionType)
		if !convert || codec == hdr.Codec() {
			return nil
		}
		var err error
		if out, oh, err = d.Recompress(codec, compressionLevel(cfg, codec)); err != nil {
			return err
		}
		if oh.Size() > int64(cfg.MaxMessageBytes) {
			// Kafka checks the size of the batch it rebuilt too (RecordBatchTooLargeException).
			return &kafkaError{kerr.MessageTooLarge, "batch re-encoded for the topic's compression.type exceeds max.message.bytes"}
		}
		return nil
	})
	if err != nil {
		return nil, hdr, err
	}
	return out, oh, nil
}

// compressionLevel is the topic's compression.<codec>.level for codec.
func compressionLevel(cfg config.Topic, codec records.Codec) int {
	switch codec {
	case records.CodecGzip:
		return int(cfg.GzipLevel)
	case records.CodecLZ4:
		return int(cfg.LZ4Level)
	case records.CodecZstd:
		return int(cfg.ZstdLevel)
	}
	return 0
}
