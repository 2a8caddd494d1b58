//go:build !linux

package perf

import "os"

// fdatasync flushes f to the disk; outside Linux this is fsync.
func fdatasync(f *os.File) error { return f.Sync() }
