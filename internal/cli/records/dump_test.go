package records

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/cli/internal/golden"
	"github.com/gregorhq/gregor/internal/records"
	"github.com/gregorhq/gregor/internal/storage"
)

const ts0 = 1700000000000

// writeLog writes batches into a partition directory through storage.Log, so the files are
// the ones the broker writes, with an index entry for every batch; aborted are the aborted
// transactions to index.
func writeLog(t *testing.T, dir string, batches [][]byte, aborted ...storage.AbortedTxn) {
	t.Helper()
	cfg := storage.LogConfig{
		SegmentBytes: storage.DefaultSegmentBytes, IndexIntervalBytes: 1,
		SegmentIndexBytes: storage.DefaultSegmentIndexBytes, SegmentMs: storage.DefaultSegmentMs,
		RetentionMs: -1, RetentionBytes: -1,
		Now: func() time.Time { return time.UnixMilli(ts0) },
	}
	l, err := storage.Open(storage.OSFS(), dir, cfg, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		h, err := records.ParseHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(b, h); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range aborted {
		if err := l.AppendAbortedTxn(a); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

// dataBatches are a plain batch (a keyed record with headers and a null-key one), an
// idempotent gzip batch, a transaction's batch and its abort marker, and a LogAppendTime batch.
func dataBatches(t *testing.T) [][]byte {
	plain := records.NewBuilder(records.BatchHeader{BaseTimestamp: ts0, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, PartitionLeaderEpoch: 3})
	plain.Add(records.Record{Key: []byte("k1"), Value: []byte("hello"), Headers: []records.RecordHeader{{Key: "h1", Value: []byte("x")}, {Key: "h2"}}})
	plain.Add(records.Record{TimestampDelta: 5, OffsetDelta: 1, Value: []byte("world")})

	idem := records.NewBuilder(records.BatchHeader{BaseTimestamp: ts0 + 10, ProducerID: 7, ProducerEpoch: 0, BaseSequence: 4})
	idem.Add(records.Record{Key: []byte("a"), Value: []byte("one")})
	idem.Add(records.Record{OffsetDelta: 1, TimestampDelta: 1, Key: []byte("b"), Value: []byte("two")})
	gz, err := idem.BuildCompressed(records.CodecGzip, records.DefaultLevel(records.CodecGzip))
	if err != nil {
		t.Fatal(err)
	}

	txn := records.NewBuilder(records.BatchHeader{Attributes: 0x10, BaseTimestamp: ts0 + 20, ProducerID: 9, ProducerEpoch: 1, BaseSequence: 0})
	txn.Add(records.Record{Value: []byte("in a transaction")})
	abort := records.BuildControlBatch(0, ts0+30, 9, 1, false, 5)

	lat := records.NewBuilder(records.BatchHeader{BaseTimestamp: ts0 + 40, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1})
	lat.Add(records.Record{Value: nil})
	latBatch := lat.Build()
	records.SetLogAppendTime(latBatch, ts0+50)
	return [][]byte{plain.Build(), gz, txn.Build(), abort, latBatch}
}

// dump runs "records dump" with args and returns its stdout and stderr, dir replaced by DIR.
func dump(t *testing.T, dir string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := NewCommand()
	cmd.SetArgs(append([]string{"dump"}, args...))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SilenceErrors = true
	err := cmd.Execute()
	return strings.ReplaceAll(out.String(), dir, "DIR"), strings.ReplaceAll(errOut.String(), dir, "DIR"), err
}

func segFile(dir, suffix string) string {
	return filepath.Join(dir, "00000000000000000000"+suffix)
}

func TestDumpDataLog(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "orders-0")
	writeLog(t, dir, dataBatches(t), storage.AbortedTxn{ProducerID: 9, FirstOffset: 4, LastOffset: 5, LastStableOffset: 6})
	files := []string{segFile(dir, ".log"), segFile(dir, ".index"), segFile(dir, ".timeindex"), segFile(dir, ".txnindex")}

	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"dump_shallow.txt", files},
		{"dump_deep.txt", append([]string{"--deep-iteration"}, files[0])},
		{"dump_data.txt", append([]string{"--print-data-log"}, files[0])},
		{"dump_data_skip_metadata.txt", append([]string{"--print-data-log", "--skip-record-metadata"}, files[0])},
	} {
		out, stderr, err := dump(t, dir, tc.args...)
		if err != nil || stderr != "" {
			t.Fatalf("%s: %v\n%s", tc.golden, err, stderr)
		}
		golden.Assert(t, tc.golden, []byte(out))
	}
}

func TestDumpInternalTopics(t *testing.T) {
	root := t.TempDir()
	// __consumer_offsets: a group's metadata, a commit, and the commit's tombstone.
	ck := kmsg.NewOffsetCommitKey()
	ck.Version, ck.Group, ck.Topic, ck.Partition = 1, "group1", "orders", 2
	cv := kmsg.NewOffsetCommitValue()
	cv.Version, cv.Offset, cv.LeaderEpoch, cv.Metadata, cv.CommitTimestamp = 3, 42, 0, "", ts0
	gk := kmsg.NewGroupMetadataKey()
	gk.Version, gk.Group = 2, "group1"
	sub := kmsg.ConsumerMemberMetadata{Version: 1, Topics: []string{"orders"}}
	asg := kmsg.ConsumerMemberAssignment{Version: 1, Topics: []kmsg.ConsumerMemberAssignmentTopic{{Topic: "orders", Partitions: []int32{0, 1, 2}}}}
	gv := kmsg.NewGroupMetadataValue()
	gv.Version, gv.ProtocolType, gv.Generation, gv.CurrentStateTimestamp = 3, "consumer", 1, ts0
	gv.Protocol, gv.Leader = kmsg.StringPtr("range"), kmsg.StringPtr("m-1")
	m := kmsg.NewGroupMetadataValueMember()
	m.MemberID, m.ClientID, m.ClientHost, m.RebalanceTimeoutMillis, m.SessionTimeoutMillis = "m-1", "c", "/127.0.0.1", 300000, 45000
	m.Subscription, m.Assignment = sub.AppendTo(nil), asg.AppendTo(nil)
	gv.Members = []kmsg.GroupMetadataValueMember{m}
	offsetsDir := filepath.Join(root, "__consumer_offsets-0")
	writeLog(t, offsetsDir, [][]byte{
		records.BuildSimple(0, ts0, records.Record{Key: gk.AppendTo(nil), Value: gv.AppendTo(nil)}),
		records.BuildSimple(0, ts0, records.Record{Key: ck.AppendTo(nil), Value: cv.AppendTo(nil)}),
		records.BuildSimple(0, ts0, records.Record{Key: ck.AppendTo(nil)}, records.Record{Key: []byte{0, 9}, Value: []byte{1}}),
	})
	out, stderr, err := dump(t, root, "--offsets-decoder", segFile(offsetsDir, ".log"))
	if err != nil || stderr != "" {
		t.Fatalf("%v\n%s", err, stderr)
	}
	golden.Assert(t, "dump_offsets.txt", []byte(out))

	// __transaction_state: an ongoing transaction, then the id's tombstone.
	tk := kmsg.NewTxnMetadataKey()
	tk.TransactionalID = "txn-1"
	tv := kmsg.NewTxnMetadataValue()
	tv.ProducerID, tv.ProducerEpoch, tv.TimeoutMillis, tv.State = 9, 1, 60000, 1
	tv.Topics = []kmsg.TxnMetadataValueTopic{{Topic: "orders", Partitions: []int32{0, 2}}}
	tv.LastUpdateTimestamp, tv.StartTimestamp = ts0, ts0
	txnDir := filepath.Join(root, "__transaction_state-0")
	writeLog(t, txnDir, [][]byte{
		records.BuildSimple(0, ts0, records.Record{Key: tk.AppendTo(nil), Value: tv.AppendTo(nil)}),
		records.BuildSimple(0, ts0, records.Record{Key: tk.AppendTo(nil)}),
	})
	out, stderr, err = dump(t, root, "--transaction-log-decoder", segFile(txnDir, ".log"))
	if err != nil || stderr != "" {
		t.Fatalf("%v\n%s", err, stderr)
	}
	golden.Assert(t, "dump_txnlog.txt", []byte(out))
}

// TestDumpCorrupt checks that a damaged segment is dumped up to the damage, with a line that
// says where the dump stops and why.
func TestDumpCorrupt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "orders-0")
	writeLog(t, dir, dataBatches(t))
	good, err := os.ReadFile(segFile(dir, ".log"))
	if err != nil {
		t.Fatal(err)
	}
	// pos are the batches' positions, and the file's size last.
	var pos []int64
	for at := int64(0); at < int64(len(good)); {
		pos = append(pos, at)
		h, _ := records.ParseHeader(good[at:])
		at += h.Size()
	}
	pos = append(pos, int64(len(good)))
	second, last := pos[1], pos[len(pos)-2]
	for _, tc := range []struct {
		name   string
		damage func([]byte) []byte
		want   []string
	}{
		{"torn tail", func(b []byte) []byte { return b[:len(b)-7] },
			[]string{fmt.Sprintf("Found %d invalid bytes at the end of 00000000000000000000.log", int64(len(good))-7-last)}},
		{"flipped payload bit", func(b []byte) []byte { b[second-3] ^= 1; return b },
			[]string{"position: 0 CreateTime: 1700000000005 size: 96 magic: 2 compresscodec: none crc: 2554458834 isvalid: false"}},
		{"bad magic", func(b []byte) []byte { b[second+16] = 1; return b },
			[]string{fmt.Sprintf("Stopped at position %d of 00000000000000000000.log: magic 1 is not 2", second),
				fmt.Sprintf("Found %d invalid bytes", int64(len(good))-second)}},
		{"short length", func(b []byte) []byte { b[second+8], b[second+9], b[second+10], b[second+11] = 0, 0, 0, 3; return b },
			[]string{fmt.Sprintf("Stopped at position %d of 00000000000000000000.log: batch length 3 is shorter than a batch header (49)", second)}},
		{"garbage records", func(b []byte) []byte { b[records.HeaderSize] = 0x7f; return b }, []string{"| records of the batch at position 0 stop: "}},
	} {
		b := tc.damage(append([]byte(nil), good...))
		if err := os.WriteFile(segFile(dir, ".log"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		out, _, err := dump(t, dir, "--print-data-log", segFile(dir, ".log"))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", tc.name, w, out)
			}
		}
	}
}

func TestDumpErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "name at least one segment file"},
		{[]string{"--offsets-decoder", "--transaction-log-decoder", "x.log"}, "--offsets-decoder and --transaction-log-decoder"},
		{[]string{"--max-bytes", "-1", "x.log"}, "--max-bytes"},
		{[]string{filepath.Join(dir, "00000000000000000000.log")}, "1 of 1 files could not be dumped"},
	} {
		_, _, err := dump(t, dir, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want it to mention %q", tc.args, err, tc.want)
		}
	}
	_, stderr, err := dump(t, dir, filepath.Join(dir, "notes.txt"))
	if err != nil || stderr != "Ignoring unknown file DIR/notes.txt\n" {
		t.Errorf("unknown file: %v %q", err, stderr)
	}
}
