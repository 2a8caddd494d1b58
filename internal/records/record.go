package records

import (
	"encoding/binary"
	"errors"
	"math"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
)

// A record inside an uncompressed v2 batch, after the 61-byte header, is:
//
//	length          varint   bytes that follow, up to the end of the headers
//	attributes      int8     unused, 0
//	timestampDelta  varlong  from the batch's baseTimestamp
//	offsetDelta     varint   from the batch's baseOffset; record i has delta i
//	keyLength       varint   -1 = null key
//	key             bytes
//	valueLength     varint   -1 = null value
//	value           bytes
//	headerCount     varint
//	headers         headerCount × (keyLength varint >= 0, key, valueLength varint (-1 = null), value)
//
// varint and varlong are zigzag-encoded base-128, as in protobuf; a varint fits in 5 bytes.

// RecordHeader is one header of a record. A nil Value is a null value.
type RecordHeader struct {
	Key   string
	Value []byte
}

// Record is one record of a v2 batch. Key and Value alias the batch's bytes; nil means null
// (an empty, non-null key or value is a zero-length non-nil slice).
type Record struct {
	Attributes     int8
	TimestampDelta int64
	OffsetDelta    int32
	Key, Value     []byte
	Headers        []RecordHeader
}

// ForEachRecord calls fn for each record of the batch at the start of batch, in order, until
// fn returns false. A compressed batch is decompressed first, up to MaxDecompressedSize bytes
// (use Decode with a tighter limit for untrusted input). It returns an error wrapping
// kerr.CorruptMessage for a truncated header, wrong magic or records that do not decompress,
// or kerr.InvalidRecord for a malformed record. It does not check the CRC (ValidateProduce
// does). The Key, Value and header values of the Record passed to fn alias batch or the
// decompressed records; the Headers slice is fn's to keep.
func ForEachRecord(batch []byte, fn func(Record) bool) error {
	d, err := Decode(batch, MaxDecompressedSize)
	if err != nil {
		return err
	}
	return d.ForEach(fn)
}

// Decoded is a batch whose records section has been decompressed (or is uncompressed).
type Decoded struct {
	Header Header
	// Batch is the whole batch as given, Header.Size() bytes.
	Batch []byte
	// Records is the records section, decompressed: NumRecords records, back to back.
	Records []byte
}

// Decode parses the batch at the start of batch and decompresses its records section, which
// may inflate to at most limit bytes (see DecompressLimit). It checks the header as
// ForEachRecord does, and the codec; it does not walk the records (ForEach and Check do).
func Decode(batch []byte, limit int) (Decoded, error) {
	return decodeInto(nil, batch, limit)
}

// WithDecoded decodes batch as Decode does, but decompresses into a buffer from a pool, and
// calls fn with the result: a producer's compressed batch is decompressed only to check its
// records, so the buffer serves the next batch instead of becoming garbage. The Decoded, and
// every Record or slice taken from its Records, is valid only until fn returns; Decoded's
// Recompress builds a new batch, which fn may return. The error is Decode's, else fn's.
func WithDecoded(batch []byte, limit int, fn func(Decoded) error) error {
	bp, _ := decodeBuffers.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	d, err := decodeInto(*bp, batch, limit)
	if err == nil {
		err = fn(d)
	}
	if d.Header.Codec() != CodecNone && cap(d.Records) <= maxPooledDecodeBuffer {
		*bp = d.Records[:0] // the buffer, grown if it had to
	}
	decodeBuffers.Put(bp)
	return err
}

// decodeBuffers pools WithDecoded's decompression buffers (*[]byte); one larger than
// maxPooledDecodeBuffer is left to the collector rather than kept.
var decodeBuffers sync.Pool

const maxPooledDecodeBuffer = 8 << 20

// decodeInto is Decode decompressing into dst's capacity.
func decodeInto(dst, batch []byte, limit int) (Decoded, error) {
	h, err := ParseHeader(batch)
	if err != nil {
		return Decoded{}, kafkaErr(kerr.CorruptMessage, "batch of %d bytes is shorter than the %d-byte v2 header", len(batch), HeaderSize)
	}
	if h.Magic != Magic {
		return Decoded{}, kafkaErr(kerr.CorruptMessage, "batch magic %d is not 2", h.Magic)
	}
	if h.Size() < HeaderSize || h.Size() > int64(len(batch)) {
		return Decoded{}, kafkaErr(kerr.CorruptMessage, "batch length %d does not fit the %d bytes given", h.Length, len(batch))
	}
	batch = batch[:h.Size()]
	recs := batch[HeaderSize:]
	if h.Codec() != CodecNone {
		if recs, err = decompressInto(dst, h.Codec(), recs, limit); err != nil {
			return Decoded{}, err
		}
	}
	return Decoded{Header: h, Batch: batch, Records: recs}, nil
}

// ForEach calls fn for each record, in order, until fn returns false; see ForEachRecord.
func (d Decoded) ForEach(fn func(Record) bool) error {
	it := recordIter{b: d.Records, n: d.Header.NumRecords}
	var r rawRecord
	for {
		ok, err := it.next(&r)
		if !ok {
			return err
		}
		rec := Record{
			Attributes:     r.attributes,
			TimestampDelta: r.timestampDelta,
			OffsetDelta:    r.offsetDelta,
			Key:            r.key,
			Value:          r.value,
		}
		if r.numHeaders > 0 {
			rec.Headers = r.decodeHeaders()
		}
		if !fn(rec) {
			return nil
		}
	}
}

// Check walks every record as ValidateProduce does for an uncompressed batch: a malformed
// record, bytes left over after NumRecords records, or a record whose offset delta is not its
// index gives an error wrapping kerr.InvalidRecord. Kafka rebuilds a compressed batch whose
// inner offsets are not 0..n-1; Gregor keeps the producer's bytes, so it refuses the batch.
func (d Decoded) Check() error {
	_, err := d.CheckStats()
	return err
}

// CheckStats is Check, and returns what the walk learned of the records.
func (d Decoded) CheckStats() (RecordStats, error) {
	return walkRecords(d.Header, d.Records)
}

// RecordStats is what one walk over a batch's records learns for the checks Kafka's
// LogValidator makes of every record, so that they need no walk of their own when every
// record passes (the common case).
type RecordStats struct {
	// Walked is false when the records were not walked (ValidateProduceRecords of a
	// compressed batch): the other fields then say nothing.
	Walked bool
	// MinTimestamp and MaxTimestamp bound the records' timestamps, baseTimestamp +
	// timestampDelta computed as int64 addition (wrapping) does, leaving out records without
	// one (NO_TIMESTAMP, -1), which Kafka does not check against the topic's bounds. With no
	// timestamped record, MinTimestamp > MaxTimestamp.
	MinTimestamp, MaxTimestamp int64
	// NullKey reports whether some record has a null key.
	NullKey bool
}

// noTimestamp is RecordBatch.NO_TIMESTAMP, a record's "no timestamp".
const noTimestamp = -1

// walkRecords walks the records section recs of a batch with header h (see Check), gathering
// their stats.
func walkRecords(h Header, recs []byte) (RecordStats, error) {
	st := RecordStats{Walked: true, MinTimestamp: math.MaxInt64, MaxTimestamp: math.MinInt64}
	it := recordIter{b: recs, n: h.NumRecords}
	var r rawRecord
	for {
		ok, err := it.next(&r)
		if err != nil {
			return RecordStats{}, err
		}
		if !ok {
			return st, nil
		}
		if want := it.i - 1; r.offsetDelta != want {
			return RecordStats{}, kafkaErr(kerr.InvalidRecord, "record %d has offset delta %d, want %d", want, r.offsetDelta, want)
		}
		if ts := h.BaseTimestamp + r.timestampDelta; ts != noTimestamp {
			st.MinTimestamp, st.MaxTimestamp = min(st.MinTimestamp, ts), max(st.MaxTimestamp, ts)
		}
		st.NullKey = st.NullKey || r.key == nil
	}
}

// Recompress returns the batch rebuilt with its records compressed with codec at level: the
// same header fields (offsets, timestamps, producer id, epoch and base sequence, the other
// attribute bits) with the new codec, length and CRC. The records are not re-encoded, only
// (de)compressed, so offset and timestamp deltas are unchanged.
func (d Decoded) Recompress(codec Codec, level int) ([]byte, Header, error) {
	body, err := Compress(codec, level, d.Records)
	if err != nil {
		return nil, Header{}, err
	}
	out := make([]byte, HeaderSize+len(body))
	copy(out, d.Batch[:HeaderSize])
	copy(out[HeaderSize:], body)
	be := binary.BigEndian
	be.PutUint32(out[8:], uint32(len(out)-LogOverhead))
	attrs := uint16(d.Header.Attributes)&^attrCodecMask | uint16(codec)
	be.PutUint16(out[attributesOffset:], attrs)
	be.PutUint32(out[crcOffset:], ComputeCRC(out))
	h, _ := ParseHeader(out) // cannot fail: out holds a whole header
	return out, h, nil
}

// rawRecord is a record whose structure has been checked; headers are left undecoded.
type rawRecord struct {
	attributes     int8
	timestampDelta int64
	offsetDelta    int32
	key, value     []byte
	numHeaders     int32
	headers        []byte // Invariant: numHeaders well-formed headers, exactly.
}

// decodeHeaders decodes r.headers, which parseRecord has already checked.
func (r *rawRecord) decodeHeaders() []RecordHeader {
	hs := make([]RecordHeader, 0, r.numHeaders) // numHeaders <= len(headers)/2, checked
	d := decoder{b: r.headers}
	for range r.numHeaders {
		k := d.bytes()
		v := d.bytes()
		hs = append(hs, RecordHeader{Key: string(k), Value: v})
	}
	return hs
}

// recordIter reads the n records that must fill b exactly. Every error it returns wraps
// kerr.InvalidRecord, as Kafka's record reader throws InvalidRecordException. It is a value the
// caller keeps on its stack, so that walking a batch does not allocate.
type recordIter struct {
	b []byte
	n int32 // records declared
	i int32 // records read
}

// next fills r with the next record and reports whether there was one. After the last record
// it checks that no bytes are left.
func (it *recordIter) next(r *rawRecord) (bool, error) {
	if it.n < 0 {
		return false, kafkaErr(kerr.InvalidRecord, "invalid record count %d", it.n)
	}
	if it.i >= it.n {
		if len(it.b) != 0 {
			return false, kafkaErr(kerr.InvalidRecord, "%d bytes left in the batch after its %d records", len(it.b), it.n)
		}
		return false, nil
	}
	i := it.i
	if len(it.b) == 0 {
		return false, kafkaErr(kerr.InvalidRecord, "batch ends after %d of %d records", i, it.n)
	}
	d := decoder{b: it.b}
	length := d.varint()
	if d.bad {
		return false, kafkaErr(kerr.InvalidRecord, "record %d: bad length varint", i)
	}
	if length < 0 || int64(length) > int64(len(d.b)) {
		return false, kafkaErr(kerr.InvalidRecord, "record %d: length %d does not fit the %d bytes left in the batch", i, length, len(d.b))
	}
	if err := parseRecord(d.b[:length], r); err != nil {
		return false, kafkaErr(kerr.InvalidRecord, "record %d: %s", i, err)
	}
	it.b = d.b[length:]
	it.i++
	return true, nil
}

// parseRecord checks one record body (everything after its length) and fills r.
func parseRecord(body []byte, r *rawRecord) error {
	d := decoder{b: body}
	r.attributes = int8(d.byte())
	r.timestampDelta = d.varlong()
	r.offsetDelta = d.varint()
	r.key = d.bytes()
	r.value = d.bytes()
	r.numHeaders = d.varint()
	if d.bad {
		return errMalformed
	}
	if r.numHeaders < 0 || int64(r.numHeaders) > int64(len(d.b)) {
		return errHeaderCount
	}
	start := d.b
	for range r.numHeaders {
		if k := d.bytes(); k == nil {
			d.bad = true // a header key may not be null
		}
		d.bytes()
		if d.bad {
			return errMalformed
		}
	}
	r.headers = start[:len(start)-len(d.b)]
	if len(d.b) != 0 {
		return errTrailing
	}
	return nil
}

var (
	errMalformed   = errors.New("malformed field runs past the record's length")
	errHeaderCount = errors.New("invalid header count")
	errTrailing    = errors.New("bytes left over after the headers")
)

// decoder reads Kafka's record fields from b. Once a read fails, bad is set and every later
// read returns zero values, so a caller checks bad once after a run of reads.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) byte() byte {
	if d.bad || len(d.b) < 1 {
		d.bad = true
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// varint reads a zigzag varint of at most 5 bytes whose value fits 32 bits.
func (d *decoder) varint() int32 {
	if d.bad {
		return 0
	}
	u, n := binary.Uvarint(d.b)
	if n <= 0 || n > binary.MaxVarintLen32 || u > math.MaxUint32 {
		d.bad = true
		return 0
	}
	d.b = d.b[n:]
	u32 := uint32(u)
	return int32(u32>>1) ^ -int32(u32&1)
}

// varlong reads a zigzag varint of at most 10 bytes.
func (d *decoder) varlong() int64 {
	if d.bad {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bytes reads a varint length and that many bytes; length -1 is null (nil), any other negative
// length or one past the end is bad. A zero length gives a non-nil empty slice.
func (d *decoder) bytes() []byte {
	n := d.varint()
	if d.bad {
		return nil
	}
	if n == -1 {
		return nil
	}
	if n < 0 || int64(n) > int64(len(d.b)) {
		d.bad = true
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}
