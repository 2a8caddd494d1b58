package storage

import (
	"fmt"
	"strconv"
	"strings"
)

// File name suffixes in a partition directory.
const (
	LogFileSuffix       = ".log"
	IndexFileSuffix     = ".index"
	TimeIndexFileSuffix = ".timeindex"

	deletedFileSuffix = ".deleted" // a segment file scheduled for deletion
	cleanedFileSuffix = ".cleaned" // the log cleaner's output before swapping in
	swapFileSuffix    = ".swap"    // a cleaned segment being swapped in
	deleteDirSuffix   = "-delete"  // a partition directory being deleted
)

// TopicPartition names one partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func (tp TopicPartition) String() string { return DirName(tp.Topic, tp.Partition) }

// DirName is the name of a partition's directory in a log dir: "<topic>-<partition>".
func DirName(topic string, partition int32) string {
	return topic + "-" + strconv.FormatInt(int64(partition), 10)
}

// ParseDirName parses a partition directory name made by DirName. It rejects anything
// else, such as the "<topic>-<partition>.<id>-delete" names of directories being deleted.
func ParseDirName(name string) (topic string, partition int32, ok bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 || i == len(name)-1 {
		return "", 0, false
	}
	digits := name[i+1:]
	for _, c := range digits {
		if c < '0' || c > '9' {
			return "", 0, false
		}
	}
	if len(digits) > 1 && digits[0] == '0' {
		return "", 0, false // DirName never writes leading zeros
	}
	p, err := strconv.ParseInt(digits, 10, 32)
	if err != nil {
		return "", 0, false
	}
	return name[:i], int32(p), true
}

// segmentFileName is "<20-digit zero-padded base offset><suffix>", Kafka's naming, so that
// names sort in offset order.
func segmentFileName(baseOffset int64, suffix string) string {
	return fmt.Sprintf("%020d%s", baseOffset, suffix)
}

// parseSegmentFileName returns the base offset and suffix of a segment file name, including
// the ".deleted"-style double suffixes (".log.deleted" gives suffix ".log.deleted").
func parseSegmentFileName(name string) (baseOffset int64, suffix string, ok bool) {
	if len(name) < 21 || name[20] != '.' {
		return 0, "", false
	}
	for _, c := range name[:20] {
		if c < '0' || c > '9' {
			return 0, "", false
		}
	}
	off, err := strconv.ParseInt(name[:20], 10, 64)
	if err != nil {
		return 0, "", false
	}
	return off, name[20:], true
}

// IsDeleteDirName reports whether name is a partition directory that Log.Delete renamed
// before removing it; startup should finish removing such directories.
func IsDeleteDirName(name string) bool {
	return strings.HasSuffix(name, deleteDirSuffix) && strings.LastIndexByte(name, '.') > 0
}
