package out

import (
	"fmt"
	"strconv"
)

// Sizes and rates for people. Tables print them in human units; --format json keeps the raw
// numbers (bytes, bytes per second), so scripts never parse "1.2 MiB".

// Bytes is n bytes in binary units, as ls -h and Kafka's docs count storage: "512 B",
// "1.2 KiB", "3.4 MiB", "1.0 GiB". Negative sizes (Kafka's -1 for unknown) print as they are.
func Bytes(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	const units = "KMGTPE"
	v, i := float64(n)/1024, 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, units[i])
}

// Rate is a throughput of bytes per second in decimal units, as network rates are counted:
// "950 B/s", "3.4 MB/s", "1.2 GB/s".
func Rate(bytesPerSec float64) string {
	if bytesPerSec < 1000 {
		return fmt.Sprintf("%.0f B/s", bytesPerSec)
	}
	const units = "kMGTPE"
	v, i := bytesPerSec/1000, 0
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	return fmt.Sprintf("%.1f %cB/s", v, units[i])
}
