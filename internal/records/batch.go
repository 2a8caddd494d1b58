// Package records reads and rewrites Kafka RecordBatch v2 (magic 2) bytes.
//
// A batch on the wire and on disk is the same byte string:
//
//	offset  size  field                      covered by CRC
//	0       8     baseOffset                 no   (rewritten by the broker on append)
//	8       4     batchLength                no   (bytes after this field)
//	12      4     partitionLeaderEpoch       no   (rewritten by the broker on append)
//	16      1     magic (2)                  no
//	17      4     crc (CRC-32C)              -
//	21      2     attributes                 yes  (bits 0-2 codec, 3 timestamp type,
//	23      4     lastOffsetDelta            yes   4 transactional, 5 control,
//	                                                6 delete horizon in baseTimestamp)
//	27      8     baseTimestamp              yes
//	35      8     maxTimestamp               yes
//	43      8     producerId                 yes
//	51      2     producerEpoch              yes
//	53      4     baseSequence               yes
//	57      4     recordCount                yes
//	61      ...   records (maybe compressed) yes
//
// The broker keeps a producer's batch as it came: it rewrites the fields outside the CRC
// (base offset, leader epoch) in place, and only for LogAppendTime touches covered fields,
// recomputing the CRC. It rebuilds a batch only when the topic's compression.type names
// another codec (Decoded.Recompress), or when the log cleaner drops records from it.
package records

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// Layout constants of RecordBatch v2.
const (
	// HeaderSize is the size of the batch header, up to and including recordCount.
	HeaderSize = 61
	// LogOverhead is the size of baseOffset and batchLength, which batchLength does not count.
	LogOverhead = 12
	// Magic is the only batch format Gregor accepts.
	Magic = 2

	crcOffset        = 17
	attributesOffset = 21
	maxTimestampOff  = 35
)

// Attribute bits.
const (
	attrCodecMask     = 0x07
	attrLogAppendTime = 0x08
	attrTransactional = 0x10
	attrControl       = 0x20
	// AttrDeleteHorizon marks a batch the log cleaner rewrote while it held tombstones: its
	// baseTimestamp is then the delete horizon (KIP-534), the time after which the cleaner may
	// drop them, and record timestamps stay baseTimestamp + timestampDelta.
	AttrDeleteHorizon = 0x40
)

// Codec is the compression codec named in a batch's attributes.
type Codec int8

// The codecs Kafka defines.
const (
	CodecNone   Codec = 0
	CodecGzip   Codec = 1
	CodecSnappy Codec = 2
	CodecLZ4    Codec = 3
	CodecZstd   Codec = 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrShortHeader means fewer than HeaderSize bytes were given to ParseHeader.
var ErrShortHeader = errors.New("records: batch header truncated")

// Header is the fixed part of a RecordBatch v2.
type Header struct {
	BaseOffset           int64
	Length               int32 // batchLength: the bytes that follow this field
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32
	Attributes           int16
	LastOffsetDelta      int32
	BaseTimestamp        int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	NumRecords           int32
}

// ParseHeader decodes the first HeaderSize bytes of b. It checks nothing but the length of b.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, ErrShortHeader
	}
	be := binary.BigEndian
	return Header{
		BaseOffset:           int64(be.Uint64(b[0:])),
		Length:               int32(be.Uint32(b[8:])),
		PartitionLeaderEpoch: int32(be.Uint32(b[12:])),
		Magic:                int8(b[16]),
		CRC:                  be.Uint32(b[17:]),
		Attributes:           int16(be.Uint16(b[21:])),
		LastOffsetDelta:      int32(be.Uint32(b[23:])),
		BaseTimestamp:        int64(be.Uint64(b[27:])),
		MaxTimestamp:         int64(be.Uint64(b[35:])),
		ProducerID:           int64(be.Uint64(b[43:])),
		ProducerEpoch:        int16(be.Uint16(b[51:])),
		BaseSequence:         int32(be.Uint32(b[53:])),
		NumRecords:           int32(be.Uint32(b[57:])),
	}, nil
}

// Size is the number of bytes the whole batch occupies, header included.
func (h Header) Size() int64 { return LogOverhead + int64(h.Length) }

// LastOffset is the offset of the batch's last record.
func (h Header) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// NextOffset is the offset that follows the batch.
func (h Header) NextOffset() int64 { return h.LastOffset() + 1 }

// DeleteHorizon returns the batch's delete horizon (ms) and whether it has one; see
// AttrDeleteHorizon.
func (h Header) DeleteHorizon() (int64, bool) {
	if h.Attributes&AttrDeleteHorizon == 0 {
		return -1, false
	}
	return h.BaseTimestamp, true
}

// Codec is the batch's compression codec.
func (h Header) Codec() Codec { return Codec(h.Attributes & attrCodecMask) }

// LogAppendTime reports whether the batch's timestamps are the broker's append time.
func (h Header) LogAppendTime() bool { return h.Attributes&attrLogAppendTime != 0 }

// Transactional reports whether the batch belongs to a transaction.
func (h Header) Transactional() bool { return h.Attributes&attrTransactional != 0 }

// Control reports whether the batch holds a control record (a transaction marker).
func (h Header) Control() bool { return h.Attributes&attrControl != 0 }

// ComputeCRC returns the CRC-32C of a whole batch's covered bytes (attributes to the end).
// b must hold at least HeaderSize bytes.
func ComputeCRC(b []byte) uint32 { return crc32.Checksum(b[attributesOffset:], castagnoli) }

// SetBaseOffset rewrites the base offset of the batch at the start of b. The CRC does not
// cover the field, so the batch stays valid.
func SetBaseOffset(b []byte, offset int64) { binary.BigEndian.PutUint64(b[0:], uint64(offset)) }

// SetPartitionLeaderEpoch rewrites the leader epoch of the batch at the start of b; the CRC
// does not cover the field.
func SetPartitionLeaderEpoch(b []byte, epoch int32) {
	binary.BigEndian.PutUint32(b[12:], uint32(epoch))
}

// SetLogAppendTime marks the whole batch b as LogAppendTime with the given time, which
// becomes its max timestamp, and recomputes the CRC.
func SetLogAppendTime(b []byte, ts int64) {
	attrs := binary.BigEndian.Uint16(b[attributesOffset:]) | attrLogAppendTime
	binary.BigEndian.PutUint16(b[attributesOffset:], attrs)
	binary.BigEndian.PutUint64(b[maxTimestampOff:], uint64(ts))
	binary.BigEndian.PutUint32(b[crcOffset:], ComputeCRC(b))
}
