//go:build !linux

package api

// diskSpace is not implemented on this platform: DescribeLogDirs v4 reports -1, as Kafka
// does when it cannot tell.
func diskSpace(string) (total, usable int64) { return -1, -1 }
