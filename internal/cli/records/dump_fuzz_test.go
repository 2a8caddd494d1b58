package records

import (
	"bytes"
	"io"
	"testing"

	"github.com/gregorhq/gregor/internal/records"
)

// FuzzDumpLog feeds arbitrary bytes to the segment dumper as a .log file, with every record
// decoder: it must never panic, and must read no further than the bytes given. The seed
// corpus in testdata/fuzz/FuzzDumpLog holds whole segments (plain, compressed, transactional,
// internal topics' records) and damaged ones.
func FuzzDumpLog(f *testing.F) {
	f.Add(records.BuildSimple(0, ts0, records.Record{Key: []byte("k"), Value: []byte("v")}))
	f.Add(records.BuildControlBatch(3, ts0, 9, 1, true, 2))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, o := range []DumpOptions{
			{},
			{PrintDataLog: true, DecompressLimit: 1 << 20},
			{Decoder: DecodeOffsets, DecompressLimit: 1 << 20},
			{Decoder: DecodeTransactionLog, DecompressLimit: 1 << 20, MaxBytes: 200},
		} {
			var f findings
			if err := dumpLog(io.Discard, "00000000000000000000.log", bytes.NewReader(b), int64(len(b)), o, &f); err != nil {
				t.Fatalf("dumping %d bytes: %v", len(b), err)
			}
		}
		dumpTxnIndex(io.Discard, b)
		dumpTimeIndex(io.Discard, "x.timeindex", b, 0, DumpOptions{})
	})
}
