package records

// Compression of a batch's records section (everything after the 61-byte header), as Kafka's
// clients write it:
//
//	gzip    RFC 1952 gzip stream (concatenated members are read as one stream)
//	snappy  either one raw snappy block, as librdkafka and franz-go may send, or the xerial
//	        framing of Java's snappy-java, which Kafka's Java clients and brokers write:
//	          magic   8 bytes  0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00
//	          version 4 bytes  big-endian (1)
//	          compat  4 bytes  big-endian (1)
//	          blocks  repeated: length 4 bytes big-endian, then that many bytes of raw snappy
//	        Compress writes the xerial framing, which every client reads.
//	lz4     LZ4 frame format (magic 0x184D2204), with a correct header checksum (batches
//	        of magic 2 never use the broken checksum of Kafka's old magic 0/1 messages)
//	zstd    zstd frames (Produce v7+ only, KIP-110)
//
// Decompression is bounded: a caller passes the most bytes the records may inflate to, and the
// stream is read through a limit, so a small batch that claims or inflates to gigabytes (a
// decompression bomb) is refused after at most about limit bytes are allocated. Size fields
// inside the compressed stream (snappy's decoded length, zstd's frame content size) are
// checked against the limit before anything is allocated for them.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kerr"
)

// The most a batch's records may inflate to is DecompressionRatio times the topic's
// max.message.bytes, with max.message.bytes counted as at least minDecompressBase and the
// result capped at MaxDecompressedSize. Kafka itself sets no bound; this one is far above what
// real data compresses by (text and JSON shrink 5-20x) and far below what a bomb reaches.
const (
	// DecompressionRatio is how many times max.message.bytes a batch's records may inflate to.
	DecompressionRatio = 64
	// MaxDecompressedSize is the absolute cap on a batch's decompressed records (1 GiB).
	MaxDecompressedSize = 1 << 30
	// minDecompressBase is the max.message.bytes below which the limit does not shrink (1 MiB),
	// so that a topic with a tiny max.message.bytes still takes ordinary compressed batches.
	minDecompressBase = 1 << 20
	// maxZstdWindow is the largest zstd window accepted: 128 MiB, zstd's own default limit
	// (windowLog 27), which Java's zstd-jni also applies.
	maxZstdWindow = 1 << 27
)

// DecompressLimit returns the most bytes the records of one batch of a topic whose
// max.message.bytes is maxMessageBytes may decompress to; see DecompressionRatio.
func DecompressLimit(maxMessageBytes int) int {
	base := max(maxMessageBytes, minDecompressBase)
	if base > MaxDecompressedSize/DecompressionRatio {
		return MaxDecompressedSize
	}
	return base * DecompressionRatio
}

// Default compression levels, as Kafka's compression.gzip.level, compression.lz4.level and
// compression.zstd.level default (KIP-390).
const (
	DefaultGzipLevel = -1 // the library default, 6
	DefaultLZ4Level  = 9
	DefaultZstdLevel = 3
)

// xerialMagic starts a snappy stream in snappy-java's framing.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

// xerialHeaderSize is the magic plus the version and compatible-version fields.
const xerialHeaderSize = 16

// xerialBlockSize is how much uncompressed input snappy-java puts in one block (32 KiB).
const xerialBlockSize = 32 << 10

// errTooLarge is wrapped by Decompress when the output would pass the limit.
var errTooLarge = errors.New("decompressed records exceed the limit")

// Decompress returns the decompressed form of src, the records section of a batch compressed
// with codec. It fails, with an error wrapping kerr.CorruptMessage, when src is not a valid
// stream for the codec or when the output would be larger than limit bytes; it never allocates
// much more than limit, whatever src claims. CodecNone returns src itself (if within limit).
func Decompress(codec Codec, src []byte, limit int) ([]byte, error) {
	return decompressInto(nil, codec, src, limit)
}

// decompressInto is Decompress writing into dst's capacity (from its start), grown as needed;
// the result may alias dst.
func decompressInto(dst []byte, codec Codec, src []byte, limit int) ([]byte, error) {
	var out []byte
	var err error
	switch codec {
	case CodecNone:
		if len(src) > limit {
			err = errTooLarge
		}
		out = src
	case CodecGzip:
		out, err = decompressGzip(dst, src, limit)
	case CodecSnappy:
		out, err = decompressSnappy(dst, src, limit)
	case CodecLZ4:
		out, err = decompressLZ4(dst, src, limit)
	case CodecZstd:
		out, err = decompressZstd(dst, src, limit)
	default:
		return nil, kafkaErr(kerr.UnknownServerError, "unknown compression codec %d", codec)
	}
	if errors.Is(err, errTooLarge) {
		return nil, kafkaErr(kerr.CorruptMessage, "%s records inflate to more than %d bytes", codecName(codec), limit)
	}
	if err != nil {
		return nil, kafkaErr(kerr.CorruptMessage, "cannot decompress %s records: %v", codecName(codec), err)
	}
	return out, nil
}

// Compress returns records compressed with codec at level (a compression.<codec>.level value;
// ignored for snappy). CodecNone returns records itself.
func Compress(codec Codec, level int, records []byte) ([]byte, error) {
	switch codec {
	case CodecNone:
		return records, nil
	case CodecGzip:
		return compressGzip(level, records)
	case CodecSnappy:
		return compressSnappy(records), nil
	case CodecLZ4:
		return compressLZ4(level, records)
	case CodecZstd:
		return compressZstd(level, records), nil
	}
	return nil, fmt.Errorf("records: unknown compression codec %d", codec)
}

// ParseCodec returns the codec a compression.type value names, and false for "producer" (keep
// the producer's codec) or an unknown name. "uncompressed" and "none" are CodecNone.
func ParseCodec(name string) (Codec, bool) {
	switch name {
	case "uncompressed", "none":
		return CodecNone, true
	case "gzip":
		return CodecGzip, true
	case "snappy":
		return CodecSnappy, true
	case "lz4":
		return CodecLZ4, true
	case "zstd":
		return CodecZstd, true
	}
	return CodecNone, false
}

func codecName(c Codec) string {
	switch c {
	case CodecNone:
		return "uncompressed"
	case CodecGzip:
		return "gzip"
	case CodecSnappy:
		return "snappy"
	case CodecLZ4:
		return "lz4"
	case CodecZstd:
		return "zstd"
	}
	return fmt.Sprintf("codec %d", c)
}

// readLimited reads r to its end into dst's capacity, grown as needed but never much past
// limit: it reads at most limit+1 bytes and fails with errTooLarge if it got them. sizeHint
// (the compressed size) sizes the first allocation when dst has no capacity.
func readLimited(dst []byte, r io.Reader, limit, sizeHint int) ([]byte, error) {
	if cap(dst) == 0 {
		dst = make([]byte, 0, min(max(sizeHint*4, 512), limit+1))
	}
	dst = dst[:0]
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)] // grow, as append does
		}
		n, err := r.Read(dst[len(dst):min(cap(dst), limit+1)])
		dst = dst[:len(dst)+n]
		if len(dst) > limit {
			return nil, errTooLarge
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

var gzipReaders sync.Pool // *gzip.Reader

func decompressGzip(dst, src []byte, limit int) ([]byte, error) {
	var zr *gzip.Reader
	if v := gzipReaders.Get(); v != nil {
		zr = v.(*gzip.Reader)
		if err := zr.Reset(bytes.NewReader(src)); err != nil {
			gzipReaders.Put(zr)
			return nil, err
		}
	} else {
		var err error
		if zr, err = gzip.NewReader(bytes.NewReader(src)); err != nil {
			return nil, err
		}
	}
	out, err := readLimited(dst, zr, limit, len(src))
	gzipReaders.Put(zr)
	return out, err
}

// gzipWriters holds a pool of *gzip.Writer per level, -1..9, at index level+1.
var gzipWriters [11]sync.Pool

func compressGzip(level int, records []byte) ([]byte, error) {
	if level < gzip.DefaultCompression || level > gzip.BestCompression {
		level = gzip.DefaultCompression
	}
	var out bytes.Buffer
	pool := &gzipWriters[level+1]
	zw, _ := pool.Get().(*gzip.Writer)
	if zw == nil {
		var err error
		if zw, err = gzip.NewWriterLevel(&out, level); err != nil {
			return nil, err
		}
	} else {
		zw.Reset(&out)
	}
	if _, err := zw.Write(records); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	zw.Reset(nil)
	pool.Put(zw)
	return out.Bytes(), nil
}

func decompressSnappy(dst, src []byte, limit int) ([]byte, error) {
	if !bytes.HasPrefix(src, xerialMagic) {
		return decodeSnappyBlock(dst[:0], src, limit)
	}
	if len(src) < xerialHeaderSize {
		return nil, errors.New("xerial snappy header truncated")
	}
	rest := src[xerialHeaderSize:]
	out := dst[:0]
	for len(rest) > 0 {
		if len(rest) < 4 {
			return nil, errors.New("xerial snappy block length truncated")
		}
		n := binary.BigEndian.Uint32(rest)
		rest = rest[4:]
		if uint64(n) > uint64(len(rest)) {
			return nil, fmt.Errorf("xerial snappy block of %d bytes runs past the %d bytes left", n, len(rest))
		}
		var err error
		if out, err = decodeSnappyBlock(out, rest[:n], limit); err != nil {
			return nil, err
		}
		rest = rest[n:]
	}
	if out == nil {
		out = []byte{}
	}
	return out, nil
}

// decodeSnappyBlock appends the decoded raw snappy block src to dst, refusing a block whose
// declared length would take dst past limit before allocating for it.
func decodeSnappyBlock(dst, src []byte, limit int) ([]byte, error) {
	n, err := snappy.DecodedLen(src)
	if err != nil {
		return nil, err
	}
	if n > limit-len(dst) {
		return nil, errTooLarge
	}
	if len(dst) == 0 {
		if dst == nil || cap(dst) < n {
			dst = make([]byte, n)
		}
		return snappy.Decode(dst[:n], src)
	}
	start := len(dst)
	if cap(dst)-start < n {
		grown := make([]byte, start, min(max(2*cap(dst), start+n), limit))
		copy(grown, dst)
		dst = grown
	}
	block, err := snappy.Decode(dst[start:start+n], src)
	if err != nil {
		return nil, err
	}
	if len(block) != n {
		return nil, errors.New("snappy block shorter than its declared length")
	}
	return dst[:start+n], nil
}

func compressSnappy(records []byte) []byte {
	out := make([]byte, 0, xerialHeaderSize+snappy.MaxEncodedLen(min(len(records), xerialBlockSize))*(len(records)/xerialBlockSize+1))
	out = append(out, xerialMagic...)
	out = binary.BigEndian.AppendUint32(out, 1) // version
	out = binary.BigEndian.AppendUint32(out, 1) // compatible version
	var scratch []byte
	for len(records) > 0 {
		chunk := records[:min(len(records), xerialBlockSize)]
		records = records[len(chunk):]
		scratch = snappy.Encode(scratch[:cap(scratch)], chunk)
		out = binary.BigEndian.AppendUint32(out, uint32(len(scratch)))
		out = append(out, scratch...)
	}
	return out
}

var lz4Readers sync.Pool // *lz4.Reader

func decompressLZ4(dst, src []byte, limit int) ([]byte, error) {
	zr, _ := lz4Readers.Get().(*lz4.Reader)
	if zr == nil {
		zr = lz4.NewReader(nil)
	}
	zr.Reset(bytes.NewReader(src))
	out, err := readLimited(dst, zr, limit, len(src))
	zr.Reset(nil)
	lz4Readers.Put(zr)
	return out, err
}

// lz4Level maps Kafka's compression.lz4.level (1-17, as lz4-java: 1 is the fast compressor,
// 2-17 the high-compression one at that level) to the library's levels, which stop at 9.
func lz4Level(level int) lz4.CompressionLevel {
	switch {
	case level <= 1:
		return lz4.Fast
	case level >= 9:
		return lz4.Level9
	}
	return lz4.Level1 << (level - 1)
}

func compressLZ4(level int, records []byte) ([]byte, error) {
	var out bytes.Buffer
	zw := lz4.NewWriter(&out)
	if err := zw.Apply(lz4.CompressionLevelOption(lz4Level(level)), lz4.BlockSizeOption(lz4.Block64Kb)); err != nil {
		return nil, err
	}
	if _, err := zw.Write(records); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// zstdDecoders pools synchronous streaming decoders: creating one is expensive.
var zstdDecoders sync.Pool // *zstd.Decoder

func decompressZstd(dst, src []byte, limit int) ([]byte, error) {
	d, _ := zstdDecoders.Get().(*zstd.Decoder)
	if d == nil {
		var err error
		d, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxZstdWindow))
		if err != nil {
			return nil, err
		}
	}
	if err := d.Reset(bytes.NewReader(src)); err != nil {
		zstdDecoders.Put(d)
		return nil, err
	}
	out, err := readLimited(dst, d, limit, len(src))
	d.Reset(nil)
	zstdDecoders.Put(d)
	return out, err
}

// zstdEncoders pools encoders per library level (the library has four; Kafka's 22 levels map
// onto them).
var zstdEncoders [zstd.SpeedBestCompression + 1]sync.Pool // *zstd.Encoder

func compressZstd(level int, records []byte) []byte {
	lvl := zstd.EncoderLevelFromZstd(level)
	pool := &zstdEncoders[lvl]
	e, _ := pool.Get().(*zstd.Encoder)
	if e == nil {
		// Only option errors are possible, and these options are valid.
		e, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(lvl), zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(1<<21))
	}
	out := e.EncodeAll(records, nil)
	pool.Put(e)
	return out
}
