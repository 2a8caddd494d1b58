package txn

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
	"github.com/gregorhq/gregor/internal/cli/out"
)

// Description is one transactional id in "txn describe"; its JSON form is what
// the kafka-transactions drop-in reads.
type Description struct {
	TransactionalID string `json:"transactional_id"`
	Coordinator     int32  `json:"coordinator"`
	ProducerID      int64  `json:"producer_id"`
	ProducerEpoch   int16  `json:"producer_epoch"`
	State           string `json:"state"`
	TimeoutMs       int32  `json:"timeout_ms"`
	// StartMs is when the current transaction started, -1 when none has.
	StartMs int64 `json:"start_ms"`
	// DurationMs is how long the current transaction has run, -1 when none has.
	DurationMs int64 `json:"duration_ms"`
	// Partitions are "topic-partition" names, sorted.
	Partitions []string `json:"partitions"`
}

func newDescribeCommand(cf *clientflags.Flags) *cobra.Command {
	var format out.Format
	cmd := &cobra.Command{
		Use:   "describe ID...",
		Short: "Describe transactional ids: producer id and epoch, state, timeout, partitions",
		Example: `  gregor txn describe orders-tx
  gregor txn describe orders-tx --format json`,
		Args: clientflags.Positional("transactional id", 1, -1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			cmd.SilenceUsage = true
			adm, err := cf.NewAdmin()
			if err != nil {
				return err
			}
			defer adm.Close()
			described, err := adm.DescribeTransactions(clientflags.Context(cmd), ids...)
			if err != nil {
				return fmt.Errorf("describing transactions: %w", err)
			}
			descs, err := descriptions(described, ids, time.Now())
			if err != nil {
				return err
			}
			return writeDescriptions(cmd.OutOrStdout(), format, descs)
		},
	}
	out.AddFormatFlag(cmd.Flags(), &format)
	return cmd
}

// descriptions orders the described ids as asked; an id that failed is an error.
func descriptions(described kadm.DescribedTransactions, ids []string, now time.Time) ([]Description, error) {
	var out []Description
	var errs []error
	for _, id := range ids {
		d, ok := described[id]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("transactional id %q: no answer", id))
			continue
		case d.Err != nil:
			errs = append(errs, clientflags.Explain("transactional id", id, d.Err))
			continue
		}
		desc := Description{TransactionalID: id, Coordinator: d.Coordinator, ProducerID: d.ProducerID,
			ProducerEpoch: d.ProducerEpoch, State: d.State, TimeoutMs: d.TimeoutMillis, StartMs: d.StartTimestamp,
			DurationMs: -1, Partitions: []string{}}
		if d.StartTimestamp >= 0 {
			desc.DurationMs = max(now.UnixMilli()-d.StartTimestamp, 0)
		}
		for topic, ps := range d.Topics {
			for p := range ps {
				desc.Partitions = append(desc.Partitions, topic+"-"+strconv.Itoa(int(p)))
			}
		}
		sort.Strings(desc.Partitions)
		out = append(out, desc)
	}
	return out, errors.Join(errs...)
}

func writeDescriptions(w io.Writer, format out.Format, descs []Description) error {
	if format == out.JSON {
		return out.WriteJSON(w, descs)
	}
	t := out.NewTable(w, "TRANSACTIONAL-ID", "COORDINATOR", "PRODUCER-ID", "EPOCH", "STATE", "TIMEOUT-MS", "START-MS", "DURATION-MS", "PARTITIONS")
	for _, d := range descs {
		t.Row(d.TransactionalID, d.Coordinator, d.ProducerID, d.ProducerEpoch, d.State, d.TimeoutMs,
			orDash(d.StartMs), orDash(d.DurationMs), dashIfEmpty(strings.Join(d.Partitions, ",")))
	}
	return t.Flush()
}

func orDash(v int64) string {
	if v < 0 {
		return "-"
	}
	return strconv.FormatInt(v, 10)
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
