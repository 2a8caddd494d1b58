package wire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrFrameTooLarge means a frame's size prefix exceeds the configured maximum
// (socket.request.max.bytes); the connection must be closed.
var ErrFrameTooLarge = errors.New("wire: frame larger than socket.request.max.bytes")

// frameChunk bounds how much ReadFrame allocates ahead of the bytes that actually arrived, so
// that a size prefix alone never makes the broker allocate a large buffer.
const frameChunk = 64 << 10

// ReadFrame reads one size-prefixed frame from r. A size that is negative or above max is an
// error; the buffer grows only as bytes arrive.
func ReadFrame(r *bufio.Reader, max int32) ([]byte, error) {
	var sizeBuf [4]byte
	if _, err := io.ReadFull(r, sizeBuf[:]); err != nil {
		return nil, err
	}
	size := int32(binary.BigEndian.Uint32(sizeBuf[:]))
	if size < 0 || size > max {
		return nil, fmt.Errorf("%w: %d bytes (max %d)", ErrFrameTooLarge, size, max)
	}
	if size <= frameChunk {
		buf := make([]byte, size)
		_, err := io.ReadFull(r, buf)
		return buf, noEOF(err)
	}
	var buf bytes.Buffer
	buf.Grow(frameChunk)
	n, err := io.CopyN(&buf, r, int64(size))
	if n < int64(size) {
		return nil, noEOF(err)
	}
	return buf.Bytes(), nil
}

// noEOF turns a clean EOF in the middle of a frame into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
