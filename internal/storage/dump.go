package storage

import "fmt"

// Offline readers of segment files, for tools that dump them (kafka-dump-log): they decode
// the bytes of a file without opening a Log, and stop at what does not decode rather than
// failing on it.

// ParseSegmentFileName returns the base offset and suffix (".log", ".index", ".log.deleted",
// ...) of a segment file's base name; ok is false for a name that is not
// "<20 digits><suffix>".
func ParseSegmentFileName(name string) (baseOffset int64, suffix string, ok bool) {
	return parseSegmentFileName(name)
}

// OffsetIndexEntry is one entry of a .index file: a batch's last offset (absolute) and the
// batch's position in the .log.
type OffsetIndexEntry struct {
	Offset, Position int64
}

// TimeIndexEntry is one entry of a .timeindex file: a timestamp and the last offset (absolute)
// of the batch that had it.
type TimeIndexEntry struct {
	Timestamp, Offset int64
}

// ReadOffsetIndex decodes the bytes of the .index file of the segment based at base. A torn
// last entry is left out and reported in the error, with the entries before it.
func ReadOffsetIndex(b []byte, base int64) ([]OffsetIndexEntry, error) {
	n := int64(len(b)) / offsetIndexKind.entrySize
	out := make([]OffsetIndexEntry, 0, n)
	for i := range n {
		o, p := parseOffsetEntry(base, b[i*offsetIndexKind.entrySize:])
		out = append(out, OffsetIndexEntry{Offset: o, Position: p})
	}
	return out, tornIndexErr(offsetIndexKind, int64(len(b)))
}

// ReadTimeIndex decodes the bytes of the .timeindex file of the segment based at base, as
// ReadOffsetIndex does.
func ReadTimeIndex(b []byte, base int64) ([]TimeIndexEntry, error) {
	n := int64(len(b)) / timeIndexKind.entrySize
	out := make([]TimeIndexEntry, 0, n)
	for i := range n {
		ts, o := parseTimeEntry(base, b[i*timeIndexKind.entrySize:])
		out = append(out, TimeIndexEntry{Timestamp: ts, Offset: o})
	}
	return out, tornIndexErr(timeIndexKind, int64(len(b)))
}

// tornIndexErr reports the bytes of a torn last entry in an index file of size bytes.
func tornIndexErr(kind indexKind, size int64) error {
	if rest := size % kind.entrySize; rest != 0 {
		return fmt.Errorf("%s: size %d is not a multiple of %d: the last %d bytes are a torn entry",
			kind.name, size, kind.entrySize, rest)
	}
	return nil
}
