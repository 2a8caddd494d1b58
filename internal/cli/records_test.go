package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRecordsDelete(t *testing.T) {
	addr := startBroker(t)
	mustGregor(t, addr, "", "topic", "create", "--topic", "r", "--partitions", "2")
	mustGregor(t, addr, "a\nb\nc\nd\ne\n", "produce", "--topic", "r", "--partition", "0")
	mustGregor(t, addr, "a\nb\nc\n", "produce", "--topic", "r", "--partition", "1")

	out, _ := mustGregor(t, addr, "", "records", "delete", "--topic", "r", "--partition", "0", "--offset", "3")
	want := "TOPIC  PARTITION  LOW-WATERMARK\nr      0          3\n"
	if out != want {
		t.Errorf("delete one partition: stdout\n%s\nwant\n%s", out, want)
	}

	file := filepath.Join(t.TempDir(), "offsets.json")
	doc := `{"partitions": [{"topic": "r", "partition": 1, "offset": -1}, {"topic": "r", "partition": 0, "offset": 9}], "version": 1}`
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := gregor(t, addr, "", "records", "delete", "--offset-json-file", file, "--format", "json")
	if err == nil || !strings.Contains(err.Error(), "1 of 2 partitions") {
		t.Errorf("delete with one bad offset: err %v", err)
	}
	var got []struct {
		Topic        string `json:"topic"`
		Partition    int32  `json:"partition"`
		LowWatermark int64  `json:"low_watermark"`
		Error        string `json:"error"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("--format json: %v\n%s", err, out)
	}
	if len(got) != 2 || got[0].Partition != 0 || !strings.HasPrefix(got[0].Error, "OFFSET_OUT_OF_RANGE") ||
		got[1].Partition != 1 || got[1].LowWatermark != 3 || got[1].Error != "" {
		t.Errorf("delete with one bad offset: %s", out)
	}

	// Consumers from the beginning now start at the low watermark.
	out, _ = mustGregor(t, addr, "", "consume", "--topic", "r", "--partition", "0", "--from-beginning",
		"--max-messages", "2", "--timeout-ms", safetyTimeout)
	if out != "d\ne\n" {
		t.Errorf("consume after delete: %q", out)
	}

	if _, _, err := gregor(t, addr, "", "records", "delete", "--topic", "r"); err == nil {
		t.Error("delete without --partition and --offset succeeded")
	}
}
