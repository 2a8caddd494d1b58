package records

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gregorhq/gregor/internal/records"
	"github.com/gregorhq/gregor/internal/storage"
)

// The segment dumper: kafka-dump-log.sh (Kafka's DumpLogSegments) on Gregor's files, which
// are Kafka's byte for byte. It prints what Kafka's tool prints, line for line, so that
// scripts and habits built on that text keep working:
//
//	Dumping 00000000000000000000.log
//	Log starting offset: 0
//	baseOffset: 0 lastOffset: 1 count: 2 baseSequence: -1 lastSequence: -1 producerId: -1 ... isvalid: true
//	| offset: 0 CreateTime: 1700000000000 keySize: 2 valueSize: 5 sequence: -1 headerKeys: [] key: k1 payload: hello
//
// Bytes from disk are untrusted: a batch whose header does not hold together ends the dump of
// its file with a line saying at which position and why, and records that do not decode end
// their batch's record lines the same way; nothing in a file can make the dumper panic or
// allocate more than the file's size (and, for compressed batches, DumpOptions.DecompressLimit).

// Decoders of record keys and values, as kafka-dump-log's flags choose them.
const (
	DecodeString         = ""                // keys and values as UTF-8 text (Kafka's StringDecoder)
	DecodeOffsets        = "offsets"         // __consumer_offsets records (--offsets-decoder)
	DecodeTransactionLog = "transaction-log" // __transaction_state records (--transaction-log-decoder)
)

// DumpOptions are kafka-dump-log's switches.
type DumpOptions struct {
	// PrintDataLog prints each record's key and payload; it implies DeepIteration.
	PrintDataLog bool
	// DeepIteration prints a line for each record, not only for each batch.
	DeepIteration bool
	// SkipRecordMetadata leaves the offset, timestamp, sizes and sequence out of record lines.
	SkipRecordMetadata bool
	// Decoder is how keys and values are printed: DecodeString, DecodeOffsets or
	// DecodeTransactionLog. A decoder other than DecodeString implies PrintDataLog.
	Decoder string
	// VerifyIndexOnly checks index entries against the log without printing them.
	VerifyIndexOnly bool
	// MaxBytes, when positive, limits how much of each .log file is read.
	MaxBytes int64
	// DecompressLimit bounds what one compressed batch may inflate to; 0 means
	// records.MaxDecompressedSize.
	DecompressLimit int
}

// printData and deep are the switches with what implies them applied.
func (o DumpOptions) printData() bool { return o.PrintDataLog || o.Decoder != DecodeString }
func (o DumpOptions) deep() bool      { return o.DeepIteration || o.printData() }

// DumpFiles dumps each file as kafka-dump-log does, by its suffix: .log, .index, .timeindex
// and .txnindex. Findings about the files as a whole (index entries that disagree with the log,
// offsets that do not follow each other) go to stderr after every file was dumped, as Kafka
// prints them. A file that cannot be read is reported and skipped; the error returned says
// how many could not be.
func DumpFiles(stdout, stderr io.Writer, files []string, o DumpOptions) error {
	var (
		f      findings
		failed int
	)
	for _, name := range files {
		fmt.Fprintf(stdout, "Dumping %s\n", name)
		if err := dumpFile(stdout, stderr, name, o, &f); err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
			failed++
		}
	}
	f.print(stderr)
	if failed > 0 {
		return fmt.Errorf("%d of %d files could not be dumped", failed, len(files))
	}
	return nil
}

func dumpFile(stdout, stderr io.Writer, name string, o DumpOptions, f *findings) error {
	base := filepath.Base(name)
	suffix := ""
	if i := strings.LastIndexByte(base, '.'); i >= 0 {
		suffix = base[i:]
	}
	switch suffix {
	case storage.LogFileSuffix:
		file, err := os.Open(name)
		if err != nil {
			return err
		}
		defer file.Close()
		fi, err := file.Stat()
		if err != nil {
			return err
		}
		return dumpLog(stdout, base, file, fi.Size(), o, f)
	case storage.IndexFileSuffix, storage.TimeIndexFileSuffix, storage.TxnIndexFileSuffix:
		b, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		startOffset, err := segmentBase(base)
		if err != nil {
			return err
		}
		switch suffix {
		case storage.IndexFileSuffix:
			return dumpOffsetIndex(stdout, name, b, startOffset, o, f)
		case storage.TimeIndexFileSuffix:
			return dumpTimeIndex(stdout, name, b, startOffset, o)
		default:
			return dumpTxnIndex(stdout, b)
		}
	}
	fmt.Fprintf(stderr, "Ignoring unknown file %s\n", name)
	return nil
}

// segmentBase is the base offset a segment file's name gives.
func segmentBase(base string) (int64, error) {
	off, _, ok := storage.ParseSegmentFileName(base)
	if !ok {
		return 0, fmt.Errorf("%s: the name of a segment file is its base offset, 20 digits, then its suffix", base)
	}
	return off, nil
}

// findings are what Kafka's tool reports on stderr once every file is dumped.
type findings struct {
	// indexMismatches are, per .index file, entries whose offset is not the last offset of
	// the batch at their position: (index offset, log offset).
	indexMismatches []fileFinding
	// nonConsecutive are, per .log file, records whose offset does not follow the one before.
	nonConsecutive []fileFinding
}

type fileFinding struct {
	file  string
	pairs [][2]int64
}

func addFinding(list *[]fileFinding, file string, a, b int64) {
	if n := len(*list); n == 0 || (*list)[n-1].file != file {
		*list = append(*list, fileFinding{file: file})
	}
	last := &(*list)[len(*list)-1]
	last.pairs = append(last.pairs, [2]int64{a, b})
}

func (f *findings) print(w io.Writer) {
	for _, m := range f.indexMismatches {
		fmt.Fprintf(w, "Mismatches in :%s\n", m.file)
		for _, p := range m.pairs {
			fmt.Fprintf(w, "  Index offset: %d, log offset: %d\n", p[0], p[1])
		}
	}
	for _, m := range f.nonConsecutive {
		fmt.Fprintf(w, "Non-consecutive offsets in %s\n", m.file)
		for _, p := range m.pairs {
			fmt.Fprintf(w, "  %d is followed by %d\n", p[0], p[1])
		}
	}
}

// dumpLog dumps the .log file named name whose size bytes r reads. Findings go to f.
func dumpLog(w io.Writer, name string, r io.ReaderAt, size int64, o DumpOptions, f *findings) error {
	if startOffset, err := segmentBase(name); err == nil {
		fmt.Fprintf(w, "Log starting offset: %d\n", startOffset)
	}
	end := size
	if o.MaxBytes > 0 && o.MaxBytes < end {
		end = o.MaxBytes
	}
	var (
		pos        int64
		lastOffset int64 = -1
		hdr        [records.HeaderSize]byte
	)
	for {
		stop, err := batchAt(r, pos, end, &hdr)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if stop != "" {
			fmt.Fprintf(w, "Stopped at position %d of %s: %s\n", pos, name, stop)
			break
		}
		if pos+records.LogOverhead > end || pos+records.HeaderSize > end {
			break
		}
		h, _ := records.ParseHeader(hdr[:]) // cannot fail: hdr holds a whole header
		if pos+h.Size() > end {
			break // a batch cut short by the end of the file (or of --max-bytes)
		}
		batch := make([]byte, h.Size()) // Invariant: h.Size() <= end-pos, checked above
		if _, err := r.ReadAt(batch, pos); err != nil {
			return fmt.Errorf("%s: reading the batch at position %d: %w", name, pos, err)
		}
		printBatch(w, h, batch, pos)
		if o.deep() {
			dumpRecords(w, h, batch, pos, o, func(off int64) {
				if lastOffset != -1 && off != lastOffset+1 {
					addFinding(&f.nonConsecutive, name, lastOffset, off)
				}
				lastOffset = off
			})
		}
		pos += h.Size()
	}
	if trailing := end - pos; trailing > 0 && o.MaxBytes <= 0 {
		fmt.Fprintf(w, "Found %d invalid bytes at the end of %s\n", trailing, name)
	}
	return nil
}

// minBatchLength is the smallest batchLength a v2 batch can have: its header after the
// length field, with no records.
const minBatchLength = records.HeaderSize - records.LogOverhead

// batchAt reads the header of the batch at pos into hdr when the file holds one there. It
// returns a reason to stop when the bytes there are not a batch: a length below the header's
// or a magic other than 2. A header cut short by end is not a reason: the caller stops and
// counts the bytes as trailing, as Kafka does.
func batchAt(r io.ReaderAt, pos, end int64, hdr *[records.HeaderSize]byte) (stop string, err error) {
	n := min(end-pos, records.HeaderSize)
	if n < records.LogOverhead {
		return "", nil
	}
	got, err := r.ReadAt(hdr[:n], pos)
	if int64(got) < n {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return "", fmt.Errorf("reading the batch header at position %d: %w", pos, err)
	}
	length := int32(be32(hdr[8:]))
	if length < minBatchLength {
		return fmt.Sprintf("batch length %d is shorter than a batch header (%d)", length, minBatchLength), nil
	}
	if n > 16 && hdr[16] != records.Magic {
		return fmt.Sprintf("magic %d is not 2: Gregor reads only v2 batches", int8(hdr[16])), nil
	}
	return "", nil
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// codecNames are compression.type's names of the codecs (Kafka's CompressionType.name).
var codecNames = map[records.Codec]string{
	records.CodecNone: "none", records.CodecGzip: "gzip", records.CodecSnappy: "snappy",
	records.CodecLZ4: "lz4", records.CodecZstd: "zstd",
}

func codecName(c records.Codec) string {
	if n, ok := codecNames[c]; ok {
		return n
	}
	return fmt.Sprintf("unknown(%d)", c)
}

func timestampType(h records.Header) string {
	if h.LogAppendTime() {
		return "LogAppendTime"
	}
	return "CreateTime"
}

// incrementSequence adds n to a producer sequence, wrapping past MaxInt32 to 0 as Kafka's
// sequences do.
func incrementSequence(seq, n int32) int32 {
	if seq > math.MaxInt32-n {
		return n - (math.MaxInt32 - seq) - 1
	}
	return seq + n
}

// printBatch prints a batch's line.
func printBatch(w io.Writer, h records.Header, batch []byte, pos int64) {
	lastSeq := int32(-1)
	if h.BaseSequence != -1 {
		lastSeq = incrementSequence(h.BaseSequence, h.LastOffsetDelta)
	}
	horizon := "OptionalLong.empty"
	if dh, ok := h.DeleteHorizon(); ok {
		horizon = "OptionalLong[" + strconv.FormatInt(dh, 10) + "]"
	}
	valid := records.ComputeCRC(batch) == h.CRC
	fmt.Fprintf(w, "baseOffset: %d lastOffset: %d count: %d baseSequence: %d lastSequence: %d producerId: %d producerEpoch: %d partitionLeaderEpoch: %d isTransactional: %t isControl: %t deleteHorizonMs: %s position: %d %s: %d size: %d magic: %d compresscodec: %s crc: %d isvalid: %t\n",
		h.BaseOffset, h.LastOffset(), h.NumRecords, h.BaseSequence, lastSeq, h.ProducerID, h.ProducerEpoch,
		h.PartitionLeaderEpoch, h.Transactional(), h.Control(), horizon, pos, timestampType(h), h.MaxTimestamp,
		h.Size(), h.Magic, codecName(h.Codec()), h.CRC, valid)
}

// controlTypeNames are Kafka's ControlRecordType names beyond the transaction markers.
var controlTypeNames = map[int16]string{2: "SNAPSHOT_HEADER", 3: "SNAPSHOT_FOOTER", 4: "KRAFT_VERSION", 5: "KRAFT_VOTERS"}

// dumpRecords prints a line for each record of batch; seen is told each record's offset.
func dumpRecords(w io.Writer, h records.Header, batch []byte, pos int64, o DumpOptions, seen func(int64)) {
	limit := o.DecompressLimit
	if limit <= 0 {
		limit = records.MaxDecompressedSize
	}
	d, err := records.Decode(batch, limit)
	if err != nil {
		fmt.Fprintf(w, "| records of the batch at position %d do not decode: %v\n", pos, err)
		return
	}
	var control string
	if h.Control() {
		cr, err := records.ParseControlRecord(batch)
		switch {
		case err != nil:
			control = fmt.Sprintf(" controlType: corrupt (%v)", err)
		case cr.Type == records.ControlCommit:
			control = fmt.Sprintf(" endTxnMarker: COMMIT coordinatorEpoch: %d", cr.CoordinatorEpoch)
		case cr.Type == records.ControlAbort:
			control = fmt.Sprintf(" endTxnMarker: ABORT coordinatorEpoch: %d", cr.CoordinatorEpoch)
		default:
			name, ok := controlTypeNames[cr.Type]
			if !ok {
				name = "UNKNOWN"
			}
			control = fmt.Sprintf(" controlType: %s(%d)", name, cr.Type)
		}
	}
	var line bytes.Buffer
	err = d.ForEach(func(r records.Record) bool {
		off := h.BaseOffset + int64(r.OffsetDelta)
		seen(off)
		line.Reset()
		prefix := "| "
		if !o.SkipRecordMetadata {
			ts := h.BaseTimestamp + r.TimestampDelta
			if h.LogAppendTime() {
				ts = h.MaxTimestamp
			}
			seq := int32(-1)
			if h.BaseSequence != -1 {
				seq = incrementSequence(h.BaseSequence, r.OffsetDelta)
			}
			keys := make([]string, len(r.Headers))
			for i, rh := range r.Headers {
				keys[i] = rh.Key
			}
			fmt.Fprintf(&line, "%soffset: %d %s: %d keySize: %d valueSize: %d sequence: %d headerKeys: [%s]",
				prefix, off, timestampType(h), ts, size(r.Key), size(r.Value), seq, strings.Join(keys, ","))
			prefix = " "
			line.WriteString(control)
		}
		if o.printData() && !h.Control() {
			key, payload := parseRecord(o.Decoder, off, r)
			if key != nil {
				line.WriteString(prefix + "key: " + *key)
			}
			if payload != nil {
				line.WriteString(" payload: " + *payload)
			}
		}
		line.WriteByte('\n')
		w.Write(line.Bytes())
		return true
	})
	if err != nil {
		fmt.Fprintf(w, "| records of the batch at position %d stop: %v\n", pos, err)
	}
}

// size is a key's or value's size as Kafka prints it: -1 for null.
func size(b []byte) int {
	if b == nil {
		return -1
	}
	return len(b)
}

// parseRecord is the key and payload text of a record by decoder; nil leaves one out.
func parseRecord(decoder string, offset int64, r records.Record) (key, payload *string) {
	switch decoder {
	case DecodeOffsets:
		return offsetsRecord(offset, r.Key, r.Value)
	case DecodeTransactionLog:
		return transactionLogRecord(offset, r.Key, r.Value)
	}
	if r.Key != nil {
		key = ptr(string(r.Key))
	}
	if r.Value != nil {
		payload = ptr(string(r.Value))
	}
	return key, payload
}

func ptr[T any](v T) *T { return &v }

// dumpOffsetIndex prints a .index file's entries and checks each against the batch at its
// position in the segment's .log, when there is one, as Kafka's tool does.
func dumpOffsetIndex(w io.Writer, name string, b []byte, base int64, o DumpOptions, f *findings) error {
	entries, torn := storage.ReadOffsetIndex(b, base)
	if len(entries) == 0 && torn == nil {
		fmt.Fprintf(w, "%s is empty.\n", name)
		return nil
	}
	logName := strings.TrimSuffix(name, storage.IndexFileSuffix) + storage.LogFileSuffix
	logFile, err := os.Open(logName)
	if err != nil {
		logFile = nil // no log to check against: print the entries alone
	} else {
		defer logFile.Close()
	}
	var hdr [records.HeaderSize]byte
	for i, e := range entries {
		// A preallocated index of a crashed broker ends in zero entries: stop at the first.
		if i > 0 && e.Offset == base {
			break
		}
		if logFile != nil {
			if n, _ := logFile.ReadAt(hdr[:], e.Position); n == len(hdr) {
				if h, _ := records.ParseHeader(hdr[:]); h.LastOffset() != e.Offset {
					addFinding(&f.indexMismatches, name, e.Offset, h.LastOffset())
				}
			} else {
				addFinding(&f.indexMismatches, name, e.Offset, -1)
			}
		}
		if !o.VerifyIndexOnly {
			fmt.Fprintf(w, "offset: %d position: %d\n", e.Offset, e.Position)
		}
	}
	if torn != nil {
		fmt.Fprintf(w, "Stopped at the end of %s: %v\n", name, torn)
	}
	return nil
}

// dumpTimeIndex prints a .timeindex file's entries.
func dumpTimeIndex(w io.Writer, name string, b []byte, base int64, o DumpOptions) error {
	entries, torn := storage.ReadTimeIndex(b, base)
	for i, e := range entries {
		if i > 0 && e.Offset == base {
			break
		}
		if !o.VerifyIndexOnly {
			fmt.Fprintf(w, "timestamp: %d offset: %d\n", e.Timestamp, e.Offset)
		}
	}
	if torn != nil {
		fmt.Fprintf(w, "Stopped at the end of %s: %v\n", name, torn)
	}
	return nil
}

// dumpTxnIndex prints a .txnindex file's aborted transactions.
func dumpTxnIndex(w io.Writer, b []byte) error {
	entries, err := storage.ReadTxnIndex(b)
	for _, a := range entries {
		fmt.Fprintf(w, "version: 0 producerId: %d firstOffset: %d lastOffset: %d lastStableOffset: %d\n",
			a.ProducerID, a.FirstOffset, a.LastOffset, a.LastStableOffset)
	}
	if err != nil {
		fmt.Fprintf(w, "Stopped after %d entries: %v\n", len(entries), err)
	}
	return nil
}
