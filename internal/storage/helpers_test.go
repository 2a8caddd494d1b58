package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/gregorhq/gregor/internal/records"
)

// makeBatch builds a valid RecordBatch v2 with n records and body bytes of record data
// (arbitrary bytes: storage never looks inside), timestamps [baseTs, maxTs].
func makeBatch(n int32, body int, baseTs, maxTs int64) ([]byte, records.Header) {
	b := make([]byte, records.HeaderSize+body)
	be := binary.BigEndian
	be.PutUint32(b[8:], uint32(len(b)-records.LogOverhead))
	b[16] = records.Magic
	be.PutUint32(b[23:], uint32(n-1))
	be.PutUint64(b[27:], uint64(baseTs))
	be.PutUint64(b[35:], uint64(maxTs))
	be.PutUint64(b[43:], ^uint64(0)) // producer id -1
	be.PutUint16(b[51:], 0xffff)
	be.PutUint32(b[53:], 0xffffffff)
	be.PutUint32(b[57:], uint32(n))
	for i := records.HeaderSize; i < len(b); i++ {
		b[i] = byte(i*7 + int(n))
	}
	be.PutUint32(b[17:], records.ComputeCRC(b))
	h, err := records.ParseHeader(b)
	if err != nil {
		panic(err)
	}
	return b, h
}

// appended is what a test remembers of a batch it appended.
type appended struct {
	base, last int64
	maxTs      int64
	bytes      []byte // as written, base offset included
}

func appendBatch(t testing.TB, l *Log, n int32, body int, ts int64) appended {
	t.Helper()
	b, h := makeBatch(n, body, ts, ts)
	base, err := l.Append(b, h)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return appended{base: base, last: base + int64(n) - 1, maxTs: ts, bytes: b}
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

func mustOpen(t testing.TB, fs FS, dir string, cfg LogConfig, rp int64) *Log {
	t.Helper()
	l, err := Open(fs, dir, cfg, rp, 0, testLogger(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

// readAll reads the whole log through Read and returns its batches.
func readAll(t testing.TB, l *Log) []appended {
	t.Helper()
	var out []appended
	for off := l.LogStartOffset(); off < l.LogEndOffset(); {
		r, err := l.Read(off, 1<<20, l.LogEndOffset(), true)
		if err != nil {
			t.Fatalf("Read(%d): %v", off, err)
		}
		if r.Size == 0 {
			t.Fatalf("Read(%d) below LEO %d returned nothing", off, l.LogEndOffset())
		}
		data, err := r.ReadBytes()
		if err != nil {
			t.Fatal(err)
		}
		for len(data) > 0 {
			h, err := records.ParseHeader(data)
			if err != nil || h.Size() > int64(len(data)) {
				t.Fatalf("Read(%d): partial batch in region", off)
			}
			out = append(out, appended{base: h.BaseOffset, last: h.LastOffset(), maxTs: h.MaxTimestamp, bytes: data[:h.Size()]})
			off = h.NextOffset()
			data = data[h.Size():]
		}
	}
	return out
}

func sameBatches(t testing.TB, got, want []appended) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d batches, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].base != want[i].base || got[i].last != want[i].last || !bytes.Equal(got[i].bytes, want[i].bytes) {
			t.Fatalf("batch %d: got [%d,%d] %d bytes, want [%d,%d] %d bytes", i,
				got[i].base, got[i].last, len(got[i].bytes), want[i].base, want[i].last, len(want[i].bytes))
		}
	}
}

func readFile(t testing.TB, fs FS, name string) []byte {
	t.Helper()
	f, err := fs.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, fi.Size())
	if _, err := f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, fs FS, name string, data []byte) {
	t.Helper()
	f, err := fs.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// checkInvariants checks, from the files alone, what the log promises: offsets and
// positions agree between .log, .index and .timeindex, segments are contiguous, and the
// log's counters match. Call it after Flush or Close (index files lag before).
func checkInvariants(t testing.TB, fs FS, dir string, lso, leo int64) {
	t.Helper()
	checkLogFiles(t, fs, dir, lso, leo, false)
}

// checkCompactedInvariants is checkInvariants for a compacted log: batches may leave gaps
// between their offsets, but segments still start where the previous one ended.
func checkCompactedInvariants(t testing.TB, fs FS, dir string, lso, leo int64) {
	t.Helper()
	checkLogFiles(t, fs, dir, lso, leo, true)
}

func checkLogFiles(t testing.TB, fs FS, dir string, lso, leo int64, gaps bool) {
	t.Helper()
	entries, err := fs.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var bases []int64
	for _, e := range entries {
		if base, suffix, ok := parseSegmentFileName(e.Name()); ok && suffix == LogFileSuffix {
			bases = append(bases, base)
		}
	}
	if len(bases) == 0 || bases[0] != lso {
		t.Fatalf("segments %v, log start offset %d", bases, lso)
	}
	next := lso
	for i, base := range bases {
		if base != next {
			t.Fatalf("segment %d starts at %d, previous ended at %d", i, base, next)
		}
		logData := readFile(t, fs, filepath.Join(dir, segmentFileName(base, LogFileSuffix)))
		starts := map[int64]int64{} // position -> last offset
		var maxTs int64 = -1
		for pos := int64(0); pos < int64(len(logData)); {
			h, err := records.ParseHeader(logData[pos:])
			if err != nil || pos+h.Size() > int64(len(logData)) || h.BaseOffset < next || (!gaps && h.BaseOffset != next) {
				t.Fatalf("segment %d: bad batch at %d (base %d, want %d)", base, pos, h.BaseOffset, next)
			}
			if records.ComputeCRC(logData[pos:pos+h.Size()]) != h.CRC {
				t.Fatalf("segment %d: bad CRC at %d", base, pos)
			}
			starts[pos] = h.LastOffset()
			maxTs = max(maxTs, h.MaxTimestamp)
			next = h.NextOffset()
			pos += h.Size()
		}
		idx := readFile(t, fs, filepath.Join(dir, segmentFileName(base, IndexFileSuffix)))
		if len(idx)%8 != 0 {
			t.Fatalf("segment %d: index size %d", base, len(idx))
		}
		prev := int64(-1)
		for e := idx; len(e) > 0; e = e[8:] {
			off, pos := parseOffsetEntry(base, e)
			if last, ok := starts[pos]; !ok || last != off || off <= prev {
				t.Fatalf("segment %d: index entry %d@%d does not match a batch (last %d, ok %v)", base, off, pos, last, ok)
			}
			prev = off
		}
		tidx := readFile(t, fs, filepath.Join(dir, segmentFileName(base, TimeIndexFileSuffix)))
		if len(tidx)%12 != 0 {
			t.Fatalf("segment %d: time index size %d", base, len(tidx))
		}
		prevTs, prevOff := int64(-1), int64(-1)
		for e := tidx; len(e) > 0; e = e[12:] {
			ts, off := parseTimeEntry(base, e)
			if ts <= prevTs || off < prevOff || off < base || off >= next || ts > maxTs {
				t.Fatalf("segment %d: time index entry %d@%d out of order or range", base, ts, off)
			}
			prevTs, prevOff = ts, off
		}
		if i < len(bases)-1 && prevTs != maxTs {
			t.Fatalf("segment %d: inactive segment's time index ends at %d, max timestamp %d", base, prevTs, maxTs)
		}
	}
	if next != leo {
		t.Fatalf("files end at offset %d, log end offset %d", next, leo)
	}
}
