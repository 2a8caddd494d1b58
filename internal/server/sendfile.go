package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
)

// writeRegion sends size bytes of f from pos to w. When w is a TCP connection and f an
// operating-system file, the kernel copies the bytes from the page cache to the socket
// (sendfile with an explicit offset, so concurrent readers of one file do not share a file
// position); otherwise the bytes go through a buffer.
func writeRegion(w net.Conn, f io.ReaderAt, pos, size int64) error {
	tc, ok1 := w.(*net.TCPConn)
	fc, ok2 := f.(syscall.Conn)
	if ok1 && ok2 {
		handled, err := sendfile(tc, fc, pos, size)
		if handled {
			return err
		}
	}
	n, err := io.Copy(w, io.NewSectionReader(f, pos, size))
	if err == nil && n < size {
		err = fmt.Errorf("file region shorter than expected: %d of %d bytes", n, size)
	}
	return err
}

// sendfile copies with sendfile(2). handled is false when the descriptors cannot be had, in
// which case nothing was written.
func sendfile(tc *net.TCPConn, fc syscall.Conn, pos, size int64) (handled bool, err error) {
	frc, err := fc.SyscallConn()
	if err != nil {
		return false, nil
	}
	crc, err := tc.SyscallConn()
	if err != nil {
		return false, nil
	}
	var opErr error
	ctlErr := frc.Control(func(infd uintptr) {
		handled = true
		remain := size
		offset := pos
		werr := crc.Write(func(outfd uintptr) bool {
			for remain > 0 {
				chunk := remain
				if chunk > 1<<30 {
					chunk = 1 << 30
				}
				n, err := syscall.Sendfile(int(outfd), int(infd), &offset, int(chunk))
				if n > 0 {
					remain -= int64(n)
				}
				if errors.Is(err, syscall.EAGAIN) {
					return false // wait until the socket is writable
				}
				if errors.Is(err, syscall.EINTR) {
					continue
				}
				if err != nil {
					opErr = err
					return true
				}
				if n == 0 {
					opErr = io.ErrUnexpectedEOF // the file is shorter than the region
					return true
				}
			}
			return true
		})
		if opErr == nil {
			opErr = werr
		}
	})
	if ctlErr != nil {
		return handled, ctlErr
	}
	return handled, opErr
}
