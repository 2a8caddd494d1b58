package records

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
	"github.com/gregorhq/gregor/internal/cli/out"
)

// offsetFile is kafka-delete-records.sh's --offset-json-file:
//
//	{"partitions": [{"topic": "t", "partition": 0, "offset": 3}], "version": 1}
//
// An offset of -1 means the high watermark: delete every record consumers can see.
type offsetFile struct {
	Version    int `json:"version"`
	Partitions []struct {
		Topic     string `json:"topic"`
		Partition int32  `json:"partition"`
		Offset    int64  `json:"offset"`
	} `json:"partitions"`
}

// parseOffsetFile reads an offset JSON file into the offsets to delete before.
func parseOffsetFile(r io.Reader) (kadm.Offsets, error) {
	var f offsetFile
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("offset json file: %w", err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("offset json file: unknown version %d, want 1", f.Version)
	}
	if len(f.Partitions) == 0 {
		return nil, errors.New("offset json file: no partitions")
	}
	offs := kadm.Offsets{}
	for _, p := range f.Partitions {
		if p.Topic == "" {
			return nil, errors.New("offset json file: a partition has no topic")
		}
		if _, dup := offs.Lookup(p.Topic, p.Partition); dup {
			return nil, fmt.Errorf("offset json file: partition %s-%d given twice", p.Topic, p.Partition)
		}
		offs.Add(kadm.Offset{Topic: p.Topic, Partition: p.Partition, At: p.Offset})
	}
	return offs, nil
}

// deleteResult is one partition's line of output.
type deleteResult struct {
	Topic        string `json:"topic"`
	Partition    int32  `json:"partition"`
	LowWatermark int64  `json:"low_watermark"`
	Error        string `json:"error,omitempty"`
}

func newDeleteCommand(cf *clientflags.Flags) *cobra.Command {
	var (
		topic     string
		partition int32
		offset    int64
		jsonFile  string
		format    out.Format
	)
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete the records of partitions before an offset",
		Long: `Delete the records of partitions before an offset: each partition's log start
offset moves up to it. Offset -1 means the high watermark. Give one partition
with --topic, --partition and --offset, or many with --offset-json-file, as for
kafka-delete-records.sh:

  {"partitions": [{"topic": "t", "partition": 0, "offset": 3}], "version": 1}

Prints each partition's new low watermark (log start offset) or its error, and
fails if any partition failed.`,
		Example: `  gregor records delete --topic events --partition 0 --offset 100
  gregor records delete --offset-json-file offsets.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var offsets kadm.Offsets
			single := cmd.Flags().Changed("topic") || cmd.Flags().Changed("partition") || cmd.Flags().Changed("offset")
			switch {
			case jsonFile != "" && single:
				return errors.New("give either --offset-json-file or --topic, --partition and --offset")
			case jsonFile != "":
				f, err := os.Open(jsonFile)
				if err != nil {
					return err
				}
				offsets, err = parseOffsetFile(f)
				f.Close()
				if err != nil {
					return err
				}
			default:
				if topic == "" || !cmd.Flags().Changed("partition") || !cmd.Flags().Changed("offset") {
					return errors.New("give --topic, --partition and --offset, or --offset-json-file")
				}
				offsets = kadm.Offsets{}
				offsets.Add(kadm.Offset{Topic: topic, Partition: partition, At: offset})
			}
			cmd.SilenceUsage = true

			adm, err := cf.NewAdmin()
			if err != nil {
				return err
			}
			defer adm.Close()
			resp, err := adm.DeleteRecords(clientflags.Context(cmd), offsets)
			var shardErrs *kadm.ShardErrors
			if err != nil && !errors.As(err, &shardErrs) {
				return fmt.Errorf("deleting records: %w", err)
			}
			results, failed, first := collect(offsets, resp, err)
			if err := printResults(cmd.OutOrStdout(), format, results); err != nil {
				return err
			}
			if failed > 0 {
				return fmt.Errorf("deleting records failed for %d of %d partitions; the first: %w", failed, len(results), first)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&topic, "topic", "", "topic of the partition")
	f.Int32Var(&partition, "partition", 0, "partition to delete records from")
	f.Int64Var(&offset, "offset", 0, "delete the records before this offset (-1: the high watermark)")
	f.StringVar(&jsonFile, "offset-json-file", "", "JSON file of partitions and offsets, as kafka-delete-records.sh takes")
	out.AddFormatFlag(f, &format)
	return cmd
}

// collect lines up every requested partition with its answer; a partition the responses
// lack failed with the request's error (a partition kadm could not send, for one). first is
// the first failure in partition order.
func collect(offsets kadm.Offsets, resp kadm.DeleteRecordsResponses, reqErr error) (results []deleteResult, failed int, first error) {
	var firstAt *deleteResult
	offsets.Each(func(o kadm.Offset) {
		r := deleteResult{Topic: o.Topic, Partition: o.Partition, LowWatermark: -1}
		var rerr error
		if got, err := resp.On(o.Topic, o.Partition, nil); err == nil {
			r.LowWatermark = got.LowWatermark
			rerr = got.Err
		} else if reqErr != nil {
			rerr = reqErr
		} else {
			rerr = err
		}
		if rerr != nil {
			if errors.Is(rerr, kerr.UnknownTopicOrPartition) {
				// The code says the topic, or this partition of it, does not exist.
				rerr = &clientflags.NotFound{Kind: "partition", Name: fmt.Sprintf("%s-%d", o.Topic, o.Partition), Err: rerr}
			}
			r.Error = rerr.Error()
			r.LowWatermark = -1
			failed++
			if firstAt == nil || o.Topic < firstAt.Topic || o.Topic == firstAt.Topic && o.Partition < firstAt.Partition {
				firstAt, first = &r, rerr
				if !errors.Is(rerr, kerr.UnknownTopicOrPartition) {
					first = fmt.Errorf("partition %s-%d: %w", o.Topic, o.Partition, rerr)
				}
			}
		}
		results = append(results, r)
	})
	sort.Slice(results, func(i, j int) bool {
		if results[i].Topic != results[j].Topic {
			return results[i].Topic < results[j].Topic
		}
		return results[i].Partition < results[j].Partition
	})
	return results, failed, first
}

func printResults(w io.Writer, format out.Format, results []deleteResult) error {
	if format == out.JSON {
		return out.WriteJSON(w, results)
	}
	// The ERROR column only when something failed, so a clean run has no empty column.
	anyErr := false
	for _, r := range results {
		anyErr = anyErr || r.Error != ""
	}
	headers := []string{"topic", "partition", "low-watermark"}
	if anyErr {
		headers = append(headers, "error")
	}
	t := out.NewTable(w, headers...)
	for _, r := range results {
		if anyErr {
			lw := "-"
			if r.Error == "" {
				lw = fmt.Sprint(r.LowWatermark)
			}
			t.Row(r.Topic, r.Partition, lw, r.Error)
			continue
		}
		t.Row(r.Topic, r.Partition, r.LowWatermark)
	}
	return t.Flush()
}
