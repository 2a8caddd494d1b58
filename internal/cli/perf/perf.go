// Package perf implements "gregor perf produce|consume|e2e", load generators
// with the flags and the output of Kafka's kafka-producer-perf-test and
// kafka-consumer-perf-test, and the hidden "gregor perf limits", which
// measures the machine's own loopback and disk speed for bench/run.sh.
//
// Latency percentiles come from a log-linear Histogram, so a run of any
// number of records uses bounded memory.
package perf

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/gregorhq/gregor/internal/cli/out"
)

// NewCommand returns the "perf" command and its verbs.
func NewCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "perf",
		Short: "Measure produce and consume throughput and latency (kafka-producer-perf-test, kafka-consumer-perf-test)",
	}
	cmd.AddCommand(newProduceCommand(), newConsumeCommand(), newE2ECommand(), newLimitsCommand())
	return cmd
}

// printResult writes v as Kafka's text (its String) or as JSON.
func printResult(w io.Writer, f out.Format, v fmt.Stringer) error {
	if f == out.JSON {
		return out.WriteJSON(w, v)
	}
	_, err := io.WriteString(w, v.String())
	return err
}
