package records

import "encoding/binary"

// BatchHeader is what a Builder writes into the header of the batch it builds; the fields
// derived from the records (length, lastOffsetDelta, maxTimestamp, recordCount, CRC) are
// computed.
type BatchHeader struct {
	BaseOffset           int64
	PartitionLeaderEpoch int32
	// Attributes may carry the timestamp type, transactional and control bits; the codec bits
	// must be 0 (a Builder writes uncompressed records).
	Attributes    int16
	BaseTimestamp int64
	ProducerID    int64 // -1 when none
	ProducerEpoch int16 // -1 when none
	BaseSequence  int32 // -1 when none
}

// Builder builds one RecordBatch v2 from records (uncompressed, or compressed by
// BuildCompressed), for the broker's own writes
// (coordinator records, compacted segments). It keeps each record's offset and timestamp
// deltas as given, so records can keep their original offsets with gaps between them.
type Builder struct {
	hdr             BatchHeader
	buf             []byte
	n               int32
	lastOffsetDelta int32
	maxTimestamp    int64
	fixedMax        bool // SetMaxTimestamp was called
}

// NewBuilder starts a batch with the given header.
func NewBuilder(h BatchHeader) *Builder {
	b := &Builder{hdr: h, buf: make([]byte, HeaderSize, 256), maxTimestamp: h.BaseTimestamp}
	return b
}

// Add appends a record. Records must come in increasing OffsetDelta order; the builder
// does not check (the caller owns the offsets).
func (b *Builder) Add(r Record) {
	body := make([]byte, 0, 32+len(r.Key)+len(r.Value))
	body = append(body, byte(r.Attributes))
	body = binary.AppendVarint(body, r.TimestampDelta)
	body = binary.AppendVarint(body, int64(r.OffsetDelta))
	body = appendVarBytes(body, r.Key)
	body = appendVarBytes(body, r.Value)
	body = binary.AppendVarint(body, int64(len(r.Headers)))
	for _, h := range r.Headers {
		body = appendVarBytes(body, []byte(h.Key))
		body = appendVarBytes(body, h.Value)
	}
	b.buf = binary.AppendVarint(b.buf, int64(len(body)))
	b.buf = append(b.buf, body...)
	b.n++
	b.lastOffsetDelta = r.OffsetDelta
	if ts := b.hdr.BaseTimestamp + r.TimestampDelta; ts > b.maxTimestamp && !b.fixedMax {
		b.maxTimestamp = ts
	}
}

// Len is the number of records added so far.
func (b *Builder) Len() int { return int(b.n) }

// Size is the size the batch has with the records added so far.
func (b *Builder) Size() int { return len(b.buf) }

// SetLastOffsetDelta makes the batch claim offsets up to BaseOffset+delta even when its last
// record is earlier (a compacted batch keeps the offset range of the batch it came from).
func (b *Builder) SetLastOffsetDelta(delta int32) {
	if delta > b.lastOffsetDelta {
		b.lastOffsetDelta = delta
	}
}

// SetMaxTimestamp makes the batch's max timestamp ts, whatever its records say: a compacted
// batch keeps the one of the batch it came from (for LogAppendTime batches that is the append
// time, and its baseTimestamp may be a delete horizon, not a record's time).
func (b *Builder) SetMaxTimestamp(ts int64) { b.maxTimestamp, b.fixedMax = ts, true }

// Build returns the finished batch. The Builder must not be used afterwards.
func (b *Builder) Build() []byte {
	be := binary.BigEndian
	out := b.buf
	be.PutUint64(out[0:], uint64(b.hdr.BaseOffset))
	be.PutUint32(out[8:], uint32(len(out)-LogOverhead))
	be.PutUint32(out[12:], uint32(b.hdr.PartitionLeaderEpoch))
	out[16] = Magic
	be.PutUint16(out[21:], uint16(b.hdr.Attributes&^attrCodecMask))
	be.PutUint32(out[23:], uint32(b.lastOffsetDelta))
	be.PutUint64(out[27:], uint64(b.hdr.BaseTimestamp))
	be.PutUint64(out[35:], uint64(b.maxTimestamp))
	be.PutUint64(out[43:], uint64(b.hdr.ProducerID))
	be.PutUint16(out[51:], uint16(b.hdr.ProducerEpoch))
	be.PutUint32(out[53:], uint32(b.hdr.BaseSequence))
	be.PutUint32(out[57:], uint32(b.n))
	be.PutUint32(out[crcOffset:], ComputeCRC(out))
	b.buf = nil
	return out
}

// BuildCompressed returns the finished batch with its records compressed with codec at level,
// its other header fields as Build writes them. The Builder must not be used afterwards.
func (b *Builder) BuildCompressed(codec Codec, level int) ([]byte, error) {
	out := b.Build()
	if codec == CodecNone {
		return out, nil
	}
	h, _ := ParseHeader(out) // cannot fail: Build wrote a whole header
	c, _, err := Decoded{Header: h, Batch: out, Records: out[HeaderSize:]}.Recompress(codec, level)
	return c, err
}

// DefaultLevel is Kafka's default compression.<codec>.level for codec (0 where the codec has
// no levels).
func DefaultLevel(codec Codec) int {
	switch codec {
	case CodecGzip:
		return DefaultGzipLevel
	case CodecLZ4:
		return DefaultLZ4Level
	case CodecZstd:
		return DefaultZstdLevel
	}
	return 0
}

// appendVarBytes appends a varint length and the bytes; nil is written as length -1 (null).
func appendVarBytes(dst, v []byte) []byte {
	if v == nil {
		return binary.AppendVarint(dst, -1)
	}
	dst = binary.AppendVarint(dst, int64(len(v)))
	return append(dst, v...)
}

// BuildSimple builds a batch of plain records at consecutive offsets from baseOffset, all with
// timestamp ts and no producer: the shape coordinators write.
func BuildSimple(baseOffset, ts int64, recs ...Record) []byte {
	b := NewBuilder(BatchHeader{BaseOffset: baseOffset, BaseTimestamp: ts, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1})
	for i, r := range recs {
		r.OffsetDelta = int32(i)
		r.TimestampDelta = 0
		b.Add(r)
	}
	return b.Build()
}
