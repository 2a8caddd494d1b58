package records

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Sizes that bound a batch, as Kafka's batch reader checks them.
const (
	// minBatchLength is the smallest batchLength Kafka's batch reader accepts before it looks at
	// the magic byte: the overhead of a magic 0 message (LegacyRecord.RECORD_OVERHEAD_V0).
	// Anything smaller is CORRUPT_MESSAGE.
	minBatchLength = 14
	// headerSizeUpToMagic is how many bytes Kafka's batch reader needs to see the magic byte.
	headerSizeUpToMagic = 17
	// produceZstdMinVersion is the first Produce version that may carry zstd batches (KIP-110).
	produceZstdMinVersion = 7
)

// ErrorCode returns the Kafka error code carried by err: 0 for nil, the code of the *kerr.Error
// that err wraps, or UNKNOWN_SERVER_ERROR (-1) for any other error.
//
// Every error this package returns from ValidateProduce, ValidateProduceVersion,
// ForEachRecord, Decode, Decompress and Decoded's methods wraps a *kerr.Error, so errors.Is(err, kerr.CorruptMessage) and
// errors.As(err, &kerrErr) work, and the Produce handler puts ErrorCode(err) in the partition's
// response while it may log err.Error() (or send it as the v8+ error_message).
func ErrorCode(err error) int16 {
	if err == nil {
		return 0
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	return kerr.UnknownServerError.Code
}

// kafkaErr wraps a kerr error with a description of what was wrong.
func kafkaErr(code *kerr.Error, format string, args ...any) error {
	return fmt.Errorf("records: "+format+": %w", append(args, code)...)
}

// ValidateProduce checks the `records` bytes of one partition of a Produce request (v3+), as
// Kafka's ProduceRequest.validateRecords, UnifiedLog.analyzeAndValidateRecords and
// LogValidator do before append. It returns the parsed header of the single batch. The error,
// if any, wraps a *kerr.Error: use ErrorCode or errors.As to get the code for the response.
//
// The checks, in Kafka's order, and the error each gives:
//
//   - no whole batch in b (fewer than 12 or 17 bytes, or fewer bytes than the batch claims):
//     INVALID_RECORD, as Kafka's "must have at least one record batch per partition";
//   - batchLength below 14, or a magic byte outside 0..2: CORRUPT_MESSAGE;
//   - magic 0 or 1: INVALID_RECORD (v3+ requests may carry only magic 2);
//   - a second whole batch after the first: INVALID_RECORD. Trailing bytes that do not make a
//     whole batch are ignored, as Kafka ignores (trims) them: the caller must append only
//     b[:h.Size()];
//   - baseOffset other than 0: INVALID_RECORD;
//   - the batch (12 + batchLength bytes) larger than maxMessageBytes: MESSAGE_TOO_LARGE;
//   - batchLength too small for the v2 header, or a CRC-32C mismatch: CORRUPT_MESSAGE;
//   - a codec outside 0..4: UNKNOWN_SERVER_ERROR, which is what Kafka answers (its
//     CompressionType.forId throws IllegalArgumentException, which no handler maps);
//   - lastOffsetDelta+1 <= 0, recordCount <= 0, or recordCount != lastOffsetDelta+1:
//     INVALID_RECORD;
//   - a control batch (clients may not write transaction markers): INVALID_RECORD;
//   - a producer id >= 0 with a negative base sequence: INVALID_RECORD;
//   - for an uncompressed batch, every record is walked: a length, count or varint that runs
//     past the record or the batch, bytes left over after recordCount records, or an offset
//     delta other than the record's index: INVALID_RECORD.
//
// The last check is stricter than Kafka, which does not look at the offset deltas of
// uncompressed v2 batches and rebuilds compressed batches whose inner offsets are not 0..n-1;
// Gregor keeps the producer's bytes, so it rejects them instead. Records inside compressed
// batches are not walked here: that needs a decompression bounded by the topic's
// configuration, which Decode and Decoded.Check do. Checks that need the topic's
// configuration or the clock (timestamps, keys on compacted topics, producer state) are the
// caller's.
//
// ValidateProduce does not modify b, never panics and allocates only for an error.
func ValidateProduce(b []byte, maxMessageBytes int) (Header, error) {
	h, _, err := ValidateProduceRecords(b, maxMessageBytes)
	return h, err
}

// ValidateProduceRecords is ValidateProduce, and also returns what its walk over the records
// of an uncompressed batch learned, so that the caller's checks of every record (timestamps,
// keys on compacted topics) need no second walk. For a compressed batch the stats are not
// walked (RecordStats.Walked is false): Decoded.CheckStats walks the decompressed records.
func ValidateProduceRecords(b []byte, maxMessageBytes int) (Header, RecordStats, error) {
	size, err := nextBatchSize(b)
	if err != nil {
		return Header{}, RecordStats{}, err
	}
	if size == 0 {
		return Header{}, RecordStats{}, kafkaErr(kerr.InvalidRecord, "produce request must have at least one record batch per partition (%d bytes given)", len(b))
	}
	if magic := b[16]; magic != Magic {
		return Header{}, RecordStats{}, kafkaErr(kerr.InvalidRecord, "produce requests v3+ may contain only record batches with magic 2, not %d", magic)
	}
	next, err := nextBatchSize(b[size:])
	if err != nil {
		return Header{}, RecordStats{}, err
	}
	if next != 0 {
		return Header{}, RecordStats{}, kafkaErr(kerr.InvalidRecord, "produce requests v3+ may contain exactly one record batch per partition")
	}
	batch := b[:size]

	baseOffset := int64(binary.BigEndian.Uint64(batch))
	if baseOffset != 0 {
		return Header{}, RecordStats{}, kafkaErr(kerr.InvalidRecord, "batch base offset must be 0, not %d", baseOffset)
	}
	if int64(size) > int64(maxMessageBytes) {
		return Header{}, RecordStats{}, kafkaErr(kerr.MessageTooLarge, "batch of %d bytes exceeds the maximum of %d", size, maxMessageBytes)
	}
	if size < HeaderSize {
		return Header{}, RecordStats{}, kafkaErr(kerr.CorruptMessage, "batch of %d bytes is shorter than the %d-byte v2 header", size, HeaderSize)
	}
	h, _ := ParseHeader(batch) // cannot fail: size >= HeaderSize
	if crc := ComputeCRC(batch); crc != h.CRC {
		return Header{}, RecordStats{}, kafkaErr(kerr.CorruptMessage, "batch crc %#08x does not match the computed %#08x", h.CRC, crc)
	}
	if c := h.Codec(); c > CodecZstd {
		return Header{}, RecordStats{}, kafkaErr(kerr.UnknownServerError, "unknown compression codec %d", c)
	}
	if err := checkClientBatch(h); err != nil {
		return Header{}, RecordStats{}, err
	}
	if h.Codec() != CodecNone {
		return h, RecordStats{}, nil
	}
	st, err := walkRecords(h, batch[HeaderSize:])
	if err != nil {
		return Header{}, RecordStats{}, err
	}
	return h, st, nil
}

// ValidateProduceVersion checks what depends on the Produce request's version, as Kafka's
// ProduceRequest.validateRecords does: zstd batches need v7 or later
// (UNSUPPORTED_COMPRESSION_TYPE). Call it after ValidateProduce with the header it returned.
func ValidateProduceVersion(version int16, h Header) error {
	if h.Codec() == CodecZstd && version < produceZstdMinVersion {
		return kafkaErr(kerr.UnsupportedCompressionType, "produce requests v%d may not use zstd compression", version)
	}
	return nil
}

// nextBatchSize returns the size (batchLength + 12) of the batch at the start of b, or 0 when b
// holds no whole batch: fewer than 12 bytes, fewer than 17 once the length is known good, or
// fewer than the batch's size. Like Kafka's ByteBufferLogInputStream, it answers
// CORRUPT_MESSAGE for a batchLength below 14 or a magic byte outside 0..2 even when the batch
// is not whole.
func nextBatchSize(b []byte) (int, error) {
	if len(b) < LogOverhead {
		return 0, nil
	}
	length := int32(binary.BigEndian.Uint32(b[8:]))
	if length < minBatchLength {
		return 0, kafkaErr(kerr.CorruptMessage, "batch length %d is less than the minimum of %d", length, minBatchLength)
	}
	if len(b) < headerSizeUpToMagic {
		return 0, nil
	}
	if magic := int8(b[16]); magic < 0 || magic > Magic {
		return 0, kafkaErr(kerr.CorruptMessage, "invalid magic byte %d", magic)
	}
	size := int64(length) + LogOverhead
	if int64(len(b)) < size {
		return 0, nil
	}
	return int(size), nil
}

// checkClientBatch is Kafka's LogValidator.validateBatch for a magic 2 batch from a client.
func checkClientBatch(h Header) error {
	countFromOffsets := int64(h.LastOffsetDelta) + 1
	if countFromOffsets <= 0 {
		return kafkaErr(kerr.InvalidRecord, "batch has an invalid offset range: last offset delta %d", h.LastOffsetDelta)
	}
	if h.NumRecords <= 0 {
		return kafkaErr(kerr.InvalidRecord, "invalid record count %d", h.NumRecords)
	}
	if countFromOffsets != int64(h.NumRecords) {
		return kafkaErr(kerr.InvalidRecord, "last offset delta %d does not match record count %d", h.LastOffsetDelta, h.NumRecords)
	}
	if h.Control() {
		return kafkaErr(kerr.InvalidRecord, "clients may not write control batches")
	}
	if h.ProducerID >= 0 && h.BaseSequence < 0 {
		return kafkaErr(kerr.InvalidRecord, "invalid base sequence %d for producer id %d", h.BaseSequence, h.ProducerID)
	}
	return nil
}
