package topic

// "gregor topic reassign": kafka-reassign-partitions' actions as verbs, with its JSON files
// and its output text, so that the drop-in tool is a translation of flags:
//
//	generate --topics-to-move-json-file F --broker-list 1,2,3   propose an assignment
//	execute  --reassignment-json-file F [--throttle B/s]         start reassignments
//	verify   --reassignment-json-file F [--preserve-throttles]   show progress; clear throttles when done
//	cancel   --reassignment-json-file F [--preserve-throttles]   revert reassignments in progress
//	list                                                         the reassignments in progress
//
// The reassignment file is Kafka's:
//
//	{"version":1,"partitions":[{"topic":"foo","partition":0,"replicas":[2,3,4],"log_dirs":["any","any","any"]}]}

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
)

// Reassignment is one partition's entry in a reassignment JSON file.
type Reassignment struct {
	Topic     string   `json:"topic"`
	Partition int32    `json:"partition"`
	Replicas  []int32  `json:"replicas"`
	LogDirs   []string `json:"log_dirs,omitempty"`
}

// reassignmentFile is the JSON of --reassignment-json-file and of generate's output.
type reassignmentFile struct {
	Version    int            `json:"version"`
	Partitions []Reassignment `json:"partitions"`
}

// topicsToMoveFile is the JSON of --topics-to-move-json-file.
type topicsToMoveFile struct {
	Version int `json:"version"`
	Topics  []struct {
		Topic string `json:"topic"`
	} `json:"topics"`
}

// formatReassignment writes parts as Kafka's tool does: compact JSON, log_dirs "any".
func formatReassignment(parts []Reassignment) string {
	out := make([]Reassignment, len(parts))
	for i, p := range parts {
		p.LogDirs = make([]string, len(p.Replicas))
		for j := range p.LogDirs {
			p.LogDirs[j] = "any"
		}
		out[i] = p
	}
	b, _ := json.Marshal(reassignmentFile{Version: 1, Partitions: out})
	return string(b)
}

// readReassignmentFile parses a reassignment JSON file and checks it as Kafka does: at least
// one partition, no partition twice, no empty or duplicate replica list.
func readReassignmentFile(path string) ([]Reassignment, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f reassignmentFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	if len(f.Partitions) == 0 {
		return nil, errors.New("Partition reassignment list cannot be empty")
	}
	seen := map[string]bool{}
	for _, p := range f.Partitions {
		key := p.Topic + "-" + strconv.Itoa(int(p.Partition))
		if seen[key] {
			return nil, fmt.Errorf("Reassignment contains duplicate topic partitions: %s", key)
		}
		seen[key] = true
		if len(p.Replicas) == 0 {
			return nil, fmt.Errorf("Partition replica list cannot be empty: %s", key)
		}
		sorted := slices.Sorted(slices.Values(p.Replicas))
		if len(slices.Compact(sorted)) != len(p.Replicas) {
			return nil, fmt.Errorf("Partition replica lists may not contain duplicate entries: %s contains duplicate entries", key)
		}
	}
	return f.Partitions, nil
}

// parseBrokerList parses "1,2,3".
func parseBrokerList(s string) ([]int32, error) {
	var ids []int32
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.ParseInt(f, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("invalid broker id %q in --broker-list", f)
		}
		ids = append(ids, int32(n))
	}
	if len(ids) == 0 {
		return nil, errors.New("--broker-list is empty")
	}
	sorted := slices.Sorted(slices.Values(ids))
	if len(slices.Compact(sorted)) != len(ids) {
		return nil, fmt.Errorf("Duplicate brokers in --broker-list %s", s)
	}
	return ids, nil
}

func newReassignCommand(cf *clientflags.Flags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reassign",
		Short: "Move partitions between brokers (kafka-reassign-partitions)",
		Long: `Move partition replicas between brokers, with kafka-reassign-partitions'
JSON files and output: generate a plan, execute it (optionally throttled),
verify its progress, cancel it, list reassignments in progress.`,
	}
	cmd.AddCommand(
		newReassignGenerateCommand(cf),
		newReassignExecuteCommand(cf),
		newReassignVerifyCommand(cf),
		newReassignCancelCommand(cf),
		newReassignListCommand(cf),
	)
	return cmd
}
