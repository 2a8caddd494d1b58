package dropin

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// TestDumpLog dumps the segments a real node wrote: a topic's records and the group's commit
// in __consumer_offsets.
func TestDumpLog(t *testing.T) {
	n := clustertest.StartNode(t, "group.initial.rebalance.delay.ms", "0")
	bs := []string{"--bootstrap-server", n.Addr()}
	mustKafka(t, "", "kafka-topics", append(bs, "--create", "--topic", "d", "--partitions", "1")...)
	mustKafka(t, "key1:value1\n", "kafka-console-producer", append(bs, "--topic", "d",
		"--property", "parse.key=true", "--property", "key.separator=:")...)
	mustKafka(t, "", "kafka-console-consumer", append(bs, "--topic", "d", "--from-beginning", "--group", "g1",
		"--max-messages", "1", "--timeout-ms", safetyTimeout)...)

	seg := filepath.Join(n.Dir, "d-0", "00000000000000000000.log")
	out, _ := mustKafka(t, "", "kafka-dump-log", "--files", seg, "--print-data-log")
	for _, want := range []string{"Dumping " + seg + "\nLog starting offset: 0\nbaseOffset: 0 lastOffset: 0 count: 1 ",
		" compresscodec: none crc: ", " isvalid: true\n| offset: 0 CreateTime: ",
		" keySize: 4 valueSize: 6 sequence: 0 headerKeys: [] key: key1 payload: value1\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("dump of d-0 lacks %q:\n%s", want, out)
		}
	}

	offsets, err := filepath.Glob(filepath.Join(n.Dir, "__consumer_offsets-*", "00000000000000000000.log"))
	if err != nil || len(offsets) == 0 {
		t.Fatalf("no __consumer_offsets segments: %v", err)
	}
	out, _ = mustKafka(t, "", "kafka-dump-log", "--offsets-decoder", "--files", strings.Join(offsets, ","))
	if want := `key: {"type":"1","data":{"group":"g1","topic":"d","partition":0}} payload: {"version":"`; !strings.Contains(out, want) {
		t.Errorf("offsets dump lacks %q:\n%s", want, out)
	}
	if want := `"offset":1,`; !strings.Contains(out, want) {
		t.Errorf("offsets dump lacks the committed offset %q:\n%s", want, out)
	}
}
