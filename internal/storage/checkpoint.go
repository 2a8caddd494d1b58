package storage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Kafka's offset checkpoint files (recovery-point-offset-checkpoint,
// replication-offset-checkpoint, log-start-offset-checkpoint) are text:
//
//	0                        version
//	2                        number of entries
//	orders 0 1234            <topic> <partition> <offset>
//	orders 1 987
const checkpointVersion = 0

// ReadCheckpoint reads an offset checkpoint file. A missing file is an empty map.
func ReadCheckpoint(fs FS, path string) (map[TopicPartition]int64, error) {
	f, err := fs.OpenFile(path, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return map[TopicPartition]int64{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	data := make([]byte, fi.Size())
	if n, err := f.ReadAt(data, 0); n < len(data) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("storage: read checkpoint %s: %w", path, err)
	}
	m, err := parseCheckpoint(data)
	if err != nil {
		return nil, fmt.Errorf("storage: checkpoint %s: %w", path, err)
	}
	return m, nil
}

func parseCheckpoint(data []byte) (map[TopicPartition]int64, error) {
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) < 2 {
		return nil, errors.New("missing version or count line")
	}
	if v, err := strconv.Atoi(strings.TrimSpace(lines[0])); err != nil || v != checkpointVersion {
		return nil, fmt.Errorf("unsupported version %q", lines[0])
	}
	count, err := strconv.Atoi(strings.TrimSpace(lines[1]))
	if err != nil || count < 0 {
		return nil, fmt.Errorf("bad entry count %q", lines[1])
	}
	entries := lines[2:]
	if len(entries) == 1 && entries[0] == "" {
		entries = nil
	}
	if len(entries) != count {
		return nil, fmt.Errorf("expected %d entries, found %d", count, len(entries))
	}
	m := make(map[TopicPartition]int64, count)
	for _, line := range entries {
		fields := strings.Fields(line)
		if len(fields) != 3 {
			return nil, fmt.Errorf("malformed line %q", line)
		}
		p, err1 := strconv.ParseInt(fields[1], 10, 32)
		off, err2 := strconv.ParseInt(fields[2], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("malformed line %q", line)
		}
		m[TopicPartition{Topic: fields[0], Partition: int32(p)}] = off
	}
	return m, nil
}

// WriteCheckpoint replaces the checkpoint file atomically: it writes path+".tmp", fsyncs
// it, renames it over path and fsyncs the directory.
func WriteCheckpoint(fs FS, path string, m map[TopicPartition]int64) error {
	tps := make([]TopicPartition, 0, len(m))
	for tp := range m {
		if tp.Topic == "" || strings.ContainsAny(tp.Topic, " \t\r\n") {
			return fmt.Errorf("storage: checkpoint %s: bad topic name %q", path, tp.Topic)
		}
		tps = append(tps, tp)
	}
	sort.Slice(tps, func(i, j int) bool {
		if tps[i].Topic != tps[j].Topic {
			return tps[i].Topic < tps[j].Topic
		}
		return tps[i].Partition < tps[j].Partition
	})
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%d\n%d\n", checkpointVersion, len(tps))
	for _, tp := range tps {
		fmt.Fprintf(&buf, "%s %d %d\n", tp.Topic, tp.Partition, m[tp])
	}

	if err := writeFileAtomic(fs, path, buf.Bytes()); err != nil {
		return fmt.Errorf("storage: checkpoint %s: %w", path, err)
	}
	return nil
}

// writeFileAtomic replaces path by data: written to "<path>.tmp", fsynced, renamed over path,
// and the directory fsynced, so that a crash leaves either the old file or the new one.
func writeFileAtomic(fs FS, path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := fs.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fs.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(fs, filepath.Dir(path))
	}
	return err
}
