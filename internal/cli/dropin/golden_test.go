package dropin

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// toolGoldens is every drop-in tool and the golden files (under testdata, or under another
// package's testdata when the path says so) its output is checked against. A tool whose output
// cannot be a golden file says how it is checked instead. TestToolGoldenCoverage fails when a
// tool is missing here.
var toolGoldens = map[string]struct {
	files []string
	other string
}{
	"kafka-topics":              {files: []string{"seed_list.txt", "seed_describe.txt", "tools.txt"}},
	"kafka-console-producer":    {other: "prints nothing on success: TestSeedSession checks its stdout is empty"},
	"kafka-console-consumer":    {files: []string{"tools.txt"}},
	"kafka-consumer-groups":     {files: []string{"seed_groups_describe.txt", "tools.txt"}},
	"kafka-configs":             {files: []string{"tools.txt"}},
	"kafka-delete-records":      {files: []string{"tools.txt"}},
	"kafka-get-offsets":         {files: []string{"tools.txt"}},
	"kafka-broker-api-versions": {other: "lists every API the broker serves, which grows with the broker: TestToolsGolden checks its shape"},
	"kafka-producer-perf-test":  {files: []string{"producer_perf_test.txt"}},
	"kafka-consumer-perf-test":  {files: []string{"consumer_perf_test.txt"}},
	"kafka-verifiable-producer": {files: []string{"seed_verifiable_producer.txt"}},
	"kafka-verifiable-consumer": {files: []string{"seed_verifiable_consumer.txt"}},
	"kafka-transactions":        {files: []string{"transactions_list.txt"}},
	"kafka-reassign-partitions": {files: []string{"reassign.txt"}},
	"kafka-leader-election":     {files: []string{"reassign.txt"}},
	"kafka-acls":                {other: "an ACL set has no order, so TestACLsAndQuotas checks each line of Kafka's text"},
	"kafka-share-groups":        {files: []string{"share_groups_describe.txt"}},
	"kafka-dump-log":            {files: []string{"../../records/testdata/dump_shallow.txt", "../../records/testdata/dump_data.txt", "../../records/testdata/dump_offsets.txt", "../../records/testdata/dump_txnlog.txt"}},
}

func TestToolGoldenCoverage(t *testing.T) {
	for _, n := range Names() {
		g, ok := toolGoldens[n]
		if !ok {
			t.Errorf("%s has no entry in toolGoldens: add its golden file", n)
			continue
		}
		if len(g.files) == 0 && g.other == "" {
			t.Errorf("%s has neither a golden file nor a reason", n)
		}
		for _, f := range g.files {
			if _, err := os.Stat(filepath.Join("testdata", f)); err != nil {
				t.Errorf("%s: golden file %s: %v", n, f, err)
			}
		}
	}
	for n := range toolGoldens {
		if _, ok := tools[n]; !ok {
			t.Errorf("toolGoldens lists %s, which is not a tool", n)
		}
	}
}

var (
	numberRe   = regexp.MustCompile(`(^|[^A-Za-z_0-9.])-?[0-9]+(\.[0-9]+)?`)
	datetimeRe = regexp.MustCompile(`[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}([:.][0-9]+)?Z?`)
)

// measured replaces every number and time of a perf tool's output: they are measurements.
func measured(s string) string {
	return numberRe.ReplaceAllString(datetimeRe.ReplaceAllString(s, "DATETIME"), "${1}N")
}
