package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"sync"
)

// ErrFrameTooLarge means a frame's size prefix exceeds the configured maximum
// (socket.request.max.bytes); the connection must be closed.
var ErrFrameTooLarge = errors.New("wire: frame larger than socket.request.max.bytes")

// frameChunk bounds how much a frame read allocates ahead of the bytes that actually arrived,
// so that a size prefix alone never makes the broker allocate a large buffer.
const frameChunk = 64 << 10

// ReadFrame reads one size-prefixed frame from r into a new buffer the caller keeps. A size
// that is negative or above max is an error; the buffer grows only as bytes arrive.
func ReadFrame(r *bufio.Reader, max int32) ([]byte, error) {
	size, err := readSize(r, max)
	if err != nil {
		return nil, err
	}
	return readGrowing(r, size, size)
}

// ReadPooledFrame is ReadFrame into a buffer taken from a pool of frame buffers. Once nothing
// refers to the frame's bytes any more (the request it holds was handled and its reply
// encoded), ReleaseFrame gives the buffer back, so that a connection streaming Produce
// requests reads them without allocating or zeroing a buffer per request. A frame never
// released is simply collected.
//
// A buffer the pool does not have yet still grows only as bytes arrive, as with ReadFrame.
func ReadPooledFrame(r *bufio.Reader, max int32) ([]byte, error) {
	size, err := readSize(r, max)
	if err != nil {
		return nil, err
	}
	class, ok := frameClass(size)
	if !ok {
		return readGrowing(r, size, size)
	}
	if v := framePools[class].Get(); v != nil {
		buf := (*v.(*[]byte))[:size]
		if _, err := io.ReadFull(r, buf); err != nil {
			framePools[class].Put(v)
			return nil, noEOF(err)
		}
		return buf, nil
	}
	// The final capacity is the class's size, so the buffer goes back to the same pool.
	return readGrowing(r, size, 1<<(class+minFrameShift))
}

// PeekAPIKey returns the API key of the request frame at the head of r without consuming
// anything, so that the reader can choose how to read the frame (ReadPooledFrame for an API
// that releases its frames). It waits for the size, and for the key of a frame whose size is
// valid (at most max) and large enough to hold one; otherwise, or when r fails first, ok is
// false, and reading the frame reports what is wrong with it.
func PeekAPIKey(r *bufio.Reader, max int32) (key int16, ok bool) {
	b, err := r.Peek(4)
	if err != nil {
		return 0, false
	}
	if size := int32(binary.BigEndian.Uint32(b)); size < 2 || size > max {
		return 0, false
	}
	if b, err = r.Peek(6); err != nil {
		return 0, false
	}
	return int16(binary.BigEndian.Uint16(b[4:])), true
}

// ReleaseFrame returns a frame read by ReadPooledFrame to the pool. The caller must hold the
// only reference to its bytes: the next ReadPooledFrame may overwrite them.
func ReleaseFrame(frame []byte) {
	c := cap(frame)
	class, ok := frameClass(c)
	if !ok || c != 1<<(class+minFrameShift) {
		return // not a pooled size: ReadPooledFrame gave it without the pool
	}
	frame = frame[:0]
	framePools[class].Put(&frame)
}

// Pooled frame buffers come in power-of-two sizes from 4 KiB to 16 MiB; larger frames are
// allocated each time (a client's batches are usually at most 1 MiB per partition).
const (
	minFrameShift = 12
	maxFrameShift = 24
)

// framePools holds *[]byte of capacity exactly 1<<(class+minFrameShift), class being the index.
var framePools [maxFrameShift - minFrameShift + 1]sync.Pool

// frameClass is the pool of the smallest buffer that holds n bytes; false when n is larger than
// the largest pooled size.
func frameClass(n int) (int, bool) {
	if n > 1<<maxFrameShift {
		return 0, false
	}
	shift := max(bits.Len(uint(max(n, 1)-1)), minFrameShift)
	return shift - minFrameShift, true
}

// readSize reads a frame's size prefix and checks it against max.
func readSize(r *bufio.Reader, max int32) (int, error) {
	var sizeBuf [4]byte
	if _, err := io.ReadFull(r, sizeBuf[:]); err != nil {
		return 0, err
	}
	size := int32(binary.BigEndian.Uint32(sizeBuf[:]))
	if size < 0 || size > max {
		return 0, fmt.Errorf("%w: %d bytes (max %d)", ErrFrameTooLarge, size, max)
	}
	return int(size), nil
}

// readGrowing reads size bytes into a buffer that starts at no more than frameChunk bytes and
// doubles, up to capacity capTo (>= size), as the bytes arrive.
func readGrowing(r *bufio.Reader, size, capTo int) ([]byte, error) {
	buf := make([]byte, 0, min(capTo, frameChunk))
	for len(buf) < size {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(2*cap(buf), capTo))
			copy(grown, buf)
			buf = grown
		}
		n, err := io.ReadFull(r, buf[len(buf):min(cap(buf), size)])
		buf = buf[:len(buf)+n]
		if err != nil {
			return nil, noEOF(err)
		}
	}
	return buf, nil
}

// noEOF turns a clean EOF in the middle of a frame into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
