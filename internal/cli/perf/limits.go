package perf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/gregorhq/gregor/internal/cli/out"
)

// Limits are the machine's own speeds, measured in the same run as a
// benchmark so its figures can be read as a share of what the hardware does.
type Limits struct {
	LoopbackMBPerSec    float64 `json:"loopback_mb_per_sec"`
	DiskMBPerSec        float64 `json:"disk_write_mb_per_sec"`
	DiskSync1MiBPerSec  float64 `json:"disk_write_fdatasync_1mib_mb_per_sec"`
	DiskSync16KiBPerSec float64 `json:"disk_write_fdatasync_16kib_mb_per_sec"`
}

// String prints one "name value" line per figure, for shell scripts.
func (l Limits) String() string {
	return fmt.Sprintf("loopback_mb_per_sec %.1f\ndisk_write_mb_per_sec %.1f\ndisk_write_fdatasync_1mib_mb_per_sec %.1f\ndisk_write_fdatasync_16kib_mb_per_sec %.1f\n",
		l.LoopbackMBPerSec, l.DiskMBPerSec, l.DiskSync1MiBPerSec, l.DiskSync16KiBPerSec)
}

func newLimitsCommand() *cobra.Command {
	var (
		dir       string
		netMiB    int
		diskMiB   int
		syncCount int
		format    out.Format
	)
	cmd := &cobra.Command{
		Use:    "limits",
		Short:  "Measure loopback TCP throughput and sequential disk writes (for bench/run.sh)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SilenceUsage = true
			l, err := MeasureLimits(cmd.Context(), dir, int64(netMiB)<<20, int64(diskMiB)<<20, syncCount)
			if err != nil {
				return err
			}
			return printResult(cmd.OutOrStdout(), format, l)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", os.TempDir(), "directory on the disk to measure")
	f.IntVar(&netMiB, "net-mib", 1024, "MiB to send over loopback")
	f.IntVar(&diskMiB, "disk-mib", 512, "MiB to write without syncing")
	f.IntVar(&syncCount, "sync-writes", 64, "writes (each followed by fdatasync) per synced measurement")
	out.AddFormatFlag(f, &format)
	return cmd
}

// MeasureLimits measures loopback TCP throughput sending netBytes, buffered
// sequential writes of diskBytes, and writes of 1 MiB and 16 KiB each
// followed by fdatasync, syncWrites of each, in a scratch file under dir.
func MeasureLimits(ctx context.Context, dir string, netBytes, diskBytes int64, syncWrites int) (Limits, error) {
	var l Limits
	var err error
	if l.LoopbackMBPerSec, err = loopback(ctx, netBytes); err != nil {
		return l, fmt.Errorf("loopback: %w", err)
	}
	if l.DiskMBPerSec, err = diskWrite(dir, 1<<20, diskBytes>>20, false); err != nil {
		return l, fmt.Errorf("disk: %w", err)
	}
	if l.DiskSync1MiBPerSec, err = diskWrite(dir, 1<<20, int64(syncWrites), true); err != nil {
		return l, fmt.Errorf("disk: %w", err)
	}
	if l.DiskSync16KiBPerSec, err = diskWrite(dir, 16<<10, int64(syncWrites), true); err != nil {
		return l, fmt.Errorf("disk: %w", err)
	}
	return l, nil
}

// loopback sends n bytes from one goroutine to another over a TCP connection
// on 127.0.0.1 and returns MB/s (MiB, as Kafka's tools count).
func loopback(ctx context.Context, n int64) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	recv := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			recv <- err
			return
		}
		defer c.Close()
		_, err = io.CopyN(io.Discard, c, n)
		recv <- err
	}()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		return 0, err
	}
	defer c.Close()
	buf := make([]byte, 256<<10)
	start := time.Now()
	for sent := int64(0); sent < n; {
		k := min(int64(len(buf)), n-sent)
		if _, err := c.Write(buf[:k]); err != nil {
			return 0, err
		}
		sent += k
	}
	if err := <-recv; err != nil {
		return 0, err
	}
	return mbPerSec(n, time.Since(start)), nil
}

// diskWrite writes count blocks of size bytes to a new file under dir,
// syncing the data after each when sync is set, and returns MB/s. Without
// sync, the file is synced once at the end so the figure is the disk's, not
// the page cache's.
func diskWrite(dir string, size int, count int64, sync bool) (float64, error) {
	if count <= 0 {
		return 0, errors.New("nothing to write")
	}
	f, err := os.CreateTemp(dir, "gregor-limits-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(filepath.Clean(f.Name()))
	defer f.Close()
	buf := make([]byte, size)
	for i := range buf {
		buf[i] = byte(i)
	}
	start := time.Now()
	for i := int64(0); i < count; i++ {
		if _, err := f.Write(buf); err != nil {
			return 0, err
		}
		if sync {
			if err := fdatasync(f); err != nil {
				return 0, err
			}
		}
	}
	if !sync {
		if err := fdatasync(f); err != nil {
			return 0, err
		}
	}
	return mbPerSec(int64(size)*count, time.Since(start)), nil
}

func mbPerSec(n int64, d time.Duration) float64 {
	return div(float64(n)/(1<<20), d.Seconds())
}
