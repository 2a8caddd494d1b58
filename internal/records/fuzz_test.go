package records

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// fuzzSeeds are batches valid and not: the seed corpus in testdata/fuzz adds more.
func fuzzSeeds() [][]byte {
	good := goodBatch(3, nil)
	bad := bytes.Clone(good)
	bad[len(bad)-1] ^= 0xff
	return [][]byte{
		good,
		goodBatch(1, nil),
		bad,
		buildBatch([]byte("opaque"), 2, func(rb *kmsg.RecordBatch) { rb.Attributes = int16(CodecZstd) }),
		append(bytes.Clone(good), good...),
		good[:20],
		nil,
	}
}

func FuzzValidateProduce(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s, 1<<20)
	}
	f.Fuzz(func(t *testing.T, b []byte, max int) {
		h, err := ValidateProduce(b, max)
		if err != nil {
			if ErrorCode(err) == 0 {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		// What passes is one whole, checksummed, client-legal batch.
		if h.Size() > int64(len(b)) || h.Size() > int64(max) || h.Size() < HeaderSize {
			t.Fatalf("size %d, len %d, max %d", h.Size(), len(b), max)
		}
		batch := b[:h.Size()]
		if ComputeCRC(batch) != h.CRC || h.Magic != Magic || h.BaseOffset != 0 || h.Control() {
			t.Fatalf("accepted header %+v", h)
		}
		if h.NumRecords <= 0 || h.NumRecords != h.LastOffsetDelta+1 {
			t.Fatalf("accepted counts %+v", h)
		}
		// franz-go reads it too.
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(batch); err != nil {
			t.Fatalf("kmsg cannot read an accepted batch: %v", err)
		}
		if h.Codec() != CodecNone {
			return
		}
		var i int32
		err = ForEachRecord(batch, func(r Record) bool {
			if r.OffsetDelta != i {
				t.Fatalf("record %d has offset delta %d", i, r.OffsetDelta)
			}
			i++
			return true
		})
		if err != nil || i != h.NumRecords {
			t.Fatalf("ForEachRecord on an accepted batch: %d records, %v", i, err)
		}
	})
}

func FuzzParseHeader(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if len(b) < HeaderSize {
			if err == nil {
				t.Fatal("short header parsed")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		// Agree with franz-go's decoder on every field. It wants the whole batch, so give it the
		// header alone with batchLength saying so, and compare batchLength by hand.
		hdr := bytes.Clone(b[:HeaderSize])
		binary.BigEndian.PutUint32(hdr[8:], HeaderSize-LogOverhead)
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(hdr); err != nil {
			t.Fatalf("kmsg: %v", err)
		}
		if int32(binary.BigEndian.Uint32(b[8:])) != h.Length {
			t.Fatalf("length %d", h.Length)
		}
		if rb.FirstOffset != h.BaseOffset || rb.PartitionLeaderEpoch != h.PartitionLeaderEpoch ||
			rb.Magic != h.Magic || uint32(rb.CRC) != h.CRC || rb.Attributes != h.Attributes ||
			rb.LastOffsetDelta != h.LastOffsetDelta || rb.FirstTimestamp != h.BaseTimestamp ||
			rb.MaxTimestamp != h.MaxTimestamp || rb.ProducerID != h.ProducerID ||
			rb.ProducerEpoch != h.ProducerEpoch || rb.FirstSequence != h.BaseSequence || rb.NumRecords != h.NumRecords {
			t.Fatalf("kmsg %+v, ours %+v", rb, h)
		}
	})
}

func FuzzForEachRecord(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Decode(b, 1<<20)
		if err != nil {
			return
		}
		n := 0
		err = d.ForEach(func(r Record) bool {
			n++
			// Everything a record points at lies inside the (decompressed) records.
			for _, s := range [][]byte{r.Key, r.Value} {
				if len(s) > len(d.Records) {
					t.Fatalf("field of %d bytes in %d bytes of records", len(s), len(d.Records))
				}
			}
			return true
		})
		if err == nil && int32(n) != d.Header.NumRecords {
			t.Fatalf("%d records read, header says %d", n, d.Header.NumRecords)
		}
	})
}

// TestSeedCorpus checks that the committed seeds say what their names say: valid-* batches
// pass ValidateProduce and invalid-* ones fail.
func TestSeedCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/fuzz/FuzzValidateProduce/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no seeds: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[1], "[]byte(") || !strings.HasPrefix(lines[2], "int(") {
			t.Fatalf("%s: unexpected format", f)
		}
		b, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		max, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(lines[2], "int("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		_, err = ValidateProduce([]byte(b), max)
		if valid := strings.HasPrefix(filepath.Base(f), "valid-"); valid != (err == nil) {
			t.Errorf("%s: ValidateProduce = %v", f, err)
		}
	}
}
