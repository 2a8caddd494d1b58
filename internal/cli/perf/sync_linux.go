package perf

import (
	"os"
	"syscall"
)

// fdatasync flushes f's data (not its metadata) to the disk, as the broker's
// log flush does.
func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
