package perf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
	"github.com/gregorhq/gregor/internal/cli/out"
)

// pollInterval bounds one poll, as Kafka's tool polls for 100 ms at a time,
// so that --timeout is checked between polls.
const pollInterval = 100 * time.Millisecond

// consumeOptions are "perf consume"'s flags.
type consumeOptions struct {
	cf                clientflags.Flags
	topic             string
	messages          int64
	timeout           time.Duration
	group             string
	fromLatest        bool
	fetchSize         int32
	detailed          bool
	reportingInterval time.Duration
	hideHeader        bool
	format            out.Format
}

func newConsumeCommand() *cobra.Command {
	var (
		o          consumeOptions
		timeoutMs  int64
		intervalMs int64
	)
	cmd := &cobra.Command{
		Use:   "consume --topic NAME --messages N",
		Short: "Consume records as a group member and report throughput (kafka-consumer-perf-test)",
		Long: `Join --group (default perf-consumer-N), consume --messages records of
--topic (from the earliest offset unless --from-latest) and print Kafka's
consumer-perf-test CSV: a header and one data line, or a line per
--reporting-interval with --show-detailed-stats. The run stops early, with a
warning, when no record arrives for --timeout ms.`,
		Example: `  gregor perf consume --topic bench --messages 100000`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SilenceUsage = true
			o.timeout = time.Duration(timeoutMs) * time.Millisecond
			o.reportingInterval = time.Duration(intervalMs) * time.Millisecond
			return o.run(clientflags.Context(cmd), cmd.OutOrStdout())
		},
	}
	o.cf.Register(cmd.Flags())
	f := cmd.Flags()
	f.StringVar(&o.topic, "topic", "", "topic to consume")
	f.Int64Var(&o.messages, "messages", 0, "number of records to consume")
	f.Int64Var(&o.messages, "num-records", 0, "the same as --messages (Kafka 4's name)")
	f.Int64Var(&timeoutMs, "timeout", 10000, "stop when no record arrives for this many milliseconds")
	f.StringVar(&o.group, "group", fmt.Sprintf("perf-consumer-%d", rand.IntN(100000)), "consumer group to join")
	f.BoolVar(&o.fromLatest, "from-latest", false, "without a committed offset, start at the log end rather than the earliest record")
	f.Int32Var(&o.fetchSize, "fetch-size", 1024*1024, "bytes to fetch per partition per request")
	f.BoolVar(&o.detailed, "show-detailed-stats", false, "print a line every --reporting-interval")
	f.Int64Var(&intervalMs, "reporting-interval", 5000, "milliseconds between --show-detailed-stats lines")
	f.BoolVar(&o.hideHeader, "hide-header", false, "do not print the CSV header")
	out.AddFormatFlag(f, &o.format)
	cmd.MarkFlagRequired("topic")
	return cmd
}

func (o *consumeOptions) run(ctx context.Context, stdout io.Writer) error {
	if o.messages <= 0 {
		return errors.New("--messages: give the number of records to consume (more than 0)")
	}
	if o.fetchSize <= 0 {
		return fmt.Errorf("--fetch-size %d: must be positive", o.fetchSize)
	}
	if o.reportingInterval <= 0 {
		return fmt.Errorf("--reporting-interval: must be positive")
	}
	text := o.format != out.JSON
	if text && !o.hideHeader {
		if o.detailed {
			io.WriteString(stdout, detailedHeader)
		} else {
			io.WriteString(stdout, consumerHeader)
		}
	}

	// Join time, as Kafka's rebalance listener keeps it: from the moment the
	// member has no partitions until it is given some.
	var (
		mu        sync.Mutex // guards the join bookkeeping; callbacks run on the client's goroutines
		assigned  int
		joinStart = time.Now()
		joinTotal time.Duration
		joinRound time.Duration
	)
	reset := kgo.NewOffset().AtStart()
	if o.fromLatest {
		reset = kgo.NewOffset().AtEnd()
	}
	cl, err := o.cf.NewClient(
		kgo.ClientID("perf-consumer-client"),
		kgo.ConsumerGroup(o.group),
		kgo.ConsumeTopics(o.topic),
		kgo.ConsumeResetOffset(reset),
		kgo.FetchMaxPartitionBytes(o.fetchSize),
		kgo.WithPools(new(recordPool)),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			mu.Lock()
			defer mu.Unlock()
			if assigned == 0 {
				d := time.Since(joinStart)
				joinTotal += d
				joinRound += d
			}
			assigned += countPartitions(m)
		}),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			mu.Lock()
			defer mu.Unlock()
			if assigned -= countPartitions(m); assigned <= 0 {
				assigned = 0
				joinStart = time.Now()
			}
		}),
	)
	if err != nil {
		return err
	}
	defer cl.Close()

	start := time.Now()
	var bytes, msgs, lastBytes, lastMsgs int64
	lastReport, lastConsumed := start, start
	for msgs < o.messages && ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, pollInterval)
		fs := cl.PollRecords(pctx, int(min(o.messages-msgs, 1<<20)))
		cancel()
		now := time.Now()
		if fs.IsClientClosed() {
			break
		}
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			n++
			msgs++
			bytes += int64(len(r.Key) + len(r.Value))
			r.Recycle()
		})
		if n > 0 {
			lastConsumed = now
		} else if now.Sub(lastConsumed) > o.timeout {
			fmt.Fprintf(stdout, "WARNING: Exiting before consuming the expected number of messages: timeout (%d ms) exceeded. You can use the --timeout option to increase the timeout.\n", o.timeout.Milliseconds())
			break
		}
		if now.Sub(lastReport) >= o.reportingInterval {
			if o.detailed && text {
				mu.Lock()
				round := joinRound
				mu.Unlock()
				io.WriteString(stdout, progressLine(now, now.Sub(lastReport), bytes, lastBytes, msgs, lastMsgs, round))
			}
			mu.Lock()
			joinRound = 0
			mu.Unlock()
			lastReport, lastBytes, lastMsgs = now, bytes, msgs
		}
	}
	end := time.Now()
	mu.Lock()
	join := joinTotal
	mu.Unlock()
	sum := NewConsumerSummary(start, end, bytes, msgs, join)
	if o.detailed && text {
		return nil // Kafka's tool prints no summary with detailed stats
	}
	return printResult(stdout, o.format, sum)
}

func countPartitions(m map[string][]int32) int {
	n := 0
	for _, ps := range m {
		n += len(ps)
	}
	return n
}

// recordPool lends the client the slices it decodes each fetched batch's records into, and
// takes them back once every record of the batch is recycled, so that counting records does
// not leave a slice per batch to the garbage collector.
type recordPool struct{ p sync.Pool }

// GetRecords returns a slice of capacity at least n.
func (rp *recordPool) GetRecords(n int) []kgo.Record {
	if s, ok := rp.p.Get().(*[]kgo.Record); ok && cap(*s) >= n {
		return (*s)[:0]
	}
	return make([]kgo.Record, 0, max(n, 64))
}

// PutRecords takes a slice back.
func (rp *recordPool) PutRecords(s []kgo.Record) {
	s = s[:0]
	rp.p.Put(&s)
}
