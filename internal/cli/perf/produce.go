package perf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
	"github.com/gregorhq/gregor/internal/cli/out"
)

// produceOptions are "perf produce"'s flags.
type produceOptions struct {
	cf               clientflags.Flags
	topic            string
	numRecords       int64
	recordSize       int
	throughput       float64
	props            []string
	configFile       string
	payloadFile      string
	payloadDelimiter string
	printMetrics     bool
	format           out.Format
}

func newProduceCommand() *cobra.Command {
	var o produceOptions
	cmd := &cobra.Command{
		Use:   "produce --topic NAME --num-records N --record-size BYTES --throughput RATE",
		Short: "Produce records as fast as allowed and report throughput and latency (kafka-producer-perf-test)",
		Long: `Produce --num-records records of --record-size random bytes (or payloads
picked at random from --payload-file) at up to --throughput records/sec (-1:
unlimited), printing Kafka's producer-perf-test lines: one every 5 seconds and
a summary with latency percentiles at the end. Latency is from the send call
to the acknowledgement.`,
		Example: `  gregor perf produce --topic bench --num-records 100000 --record-size 1024 --throughput -1 --producer-props acks=1 linger.ms=5`,
		Args:    producerPropsArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SilenceUsage = true
			o.props = append(o.props, args...)
			return o.run(clientflags.Context(cmd), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	o.cf.Register(cmd.Flags())
	f := cmd.Flags()
	f.StringVar(&o.topic, "topic", "", "topic to produce to")
	f.Int64Var(&o.numRecords, "num-records", 0, "number of records to produce")
	f.IntVar(&o.recordSize, "record-size", 0, "record size in bytes (or --payload-file)")
	f.Float64Var(&o.throughput, "throughput", -1, "maximum records/sec; -1 for no limit")
	f.StringArrayVar(&o.props, "producer-props", nil, "producer properties key=value (acks, linger.ms, batch.size, compression.type, ...); several may follow one flag")
	f.StringVar(&o.configFile, "producer.config", "", "producer properties file")
	f.StringVar(&o.payloadFile, "payload-file", "", "file of payloads, one picked at random per record")
	f.StringVar(&o.payloadDelimiter, "payload-delimiter", "\\n", "delimiter between payloads in --payload-file")
	f.BoolVar(&o.printMetrics, "print-metrics", false, "print the client's counters at the end")
	out.AddFormatFlag(f, &o.format)
	cmd.MarkFlagRequired("topic")
	cmd.MarkFlagRequired("num-records")
	return cmd
}

// payloads returns the payloads to send: one of --record-size random
// uppercase letters (as Kafka's tool), or those of --payload-file.
func (o *produceOptions) payloads(stdout io.Writer) ([][]byte, error) {
	if (o.recordSize > 0) == (o.payloadFile != "") {
		return nil, errors.New("give exactly one of --record-size and --payload-file")
	}
	if o.payloadFile == "" {
		p := make([]byte, o.recordSize)
		for i := range p {
			p[i] = byte('A' + rand.IntN(26))
		}
		return [][]byte{p}, nil
	}
	data, err := os.ReadFile(o.payloadFile)
	if err != nil {
		return nil, err
	}
	delim := strings.ReplaceAll(o.payloadDelimiter, "\\n", "\n")
	var ps [][]byte
	for _, p := range bytes.Split(data, []byte(delim)) {
		if len(p) > 0 {
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("--payload-file %s: no payloads", o.payloadFile)
	}
	fmt.Fprintf(stdout, "Number of messages read: %d\n", len(ps))
	return ps, nil
}

func (o *produceOptions) run(ctx context.Context, stdout, stderr io.Writer) error {
	if o.numRecords < 0 {
		return fmt.Errorf("--num-records %d: must not be negative", o.numRecords)
	}
	payloads, err := o.payloads(stdout)
	if err != nil {
		return err
	}
	props, err := loadProps("producer-props", o.configFile, o.props)
	if err != nil {
		return err
	}
	opts, bs, err := producerOptsWarn(props, stderr, "perf producer")
	if err != nil {
		return err
	}
	if bs != "" && o.cf.BootstrapServer == clientflags.DefaultBootstrapServer {
		o.cf.BootstrapServer = bs
	}
	metrics := &clientMetrics{}
	opts = append([]kgo.Opt{
		kgo.ClientID("perf-producer-client"),
		kgo.DefaultProduceTopic(o.topic),
		kgo.AllowAutoTopicCreation(),
		kgo.WithHooks(metrics),
	}, opts...)
	cl, err := o.cf.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()

	var windows io.Writer = stdout
	if o.format == out.JSON {
		windows = nil
	}
	stats := NewProducerStats(time.Now, windows)
	var (
		failed   atomic.Int64
		errOnce  sync.Once
		firstErr error
	)
	pacer := NewPacer(o.throughput, time.Now)
	for i := int64(0); i < o.numRecords; i++ {
		if err := pacer.Wait(ctx); err != nil {
			break
		}
		payload := payloads[0]
		if len(payloads) > 1 {
			payload = payloads[rand.IntN(len(payloads))]
		}
		sent := time.Now()
		size := len(payload)
		cl.Produce(ctx, &kgo.Record{Value: payload}, func(_ *kgo.Record, err error) {
			if err != nil {
				failed.Add(1)
				errOnce.Do(func() { firstErr = err })
				return
			}
			stats.Record(time.Since(sent).Milliseconds(), size)
		})
	}
	flushErr := cl.Flush(ctx)
	sum := stats.Summary()
	sum.Failed = failed.Load()
	if err := printResult(stdout, o.format, sum); err != nil {
		return err
	}
	if o.printMetrics {
		printClientMetrics(stdout, metrics)
	}
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("%d of %d records failed, first: %w", n, o.numRecords, firstErr)
	}
	return flushErr
}

// printClientMetrics prints what the client can tell of itself, in the shape
// of Kafka's --print-metrics table (name, then value).
func printClientMetrics(w io.Writer, m *clientMetrics) {
	t := out.NewTable(w, "metric name", "value")
	m.mu.Lock()
	defer m.mu.Unlock()
	t.Row("producer-metrics:request-total", m.requests)
	t.Row("producer-metrics:outgoing-byte-total", m.bytes)
	if m.requests > 0 {
		t.Row("producer-metrics:request-latency-avg", fmt.Sprintf("%.3f", float64(m.latency.Milliseconds())/float64(m.requests)))
	}
	t.Flush()
}

// clientMetrics counts the client's produce requests through a kgo hook, for
// --print-metrics.
type clientMetrics struct {
	mu       sync.Mutex // guards the counters; hooks run on many goroutines
	requests int64
	bytes    int64
	latency  time.Duration
}

// OnBrokerE2E implements kgo.HookBrokerE2E.
func (m *clientMetrics) OnBrokerE2E(_ kgo.BrokerMetadata, key int16, e2e kgo.BrokerE2E) {
	if key != 0 || e2e.Err() != nil { // 0 is Produce
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests++
	m.bytes += int64(e2e.BytesWritten)
	m.latency += e2e.DurationE2E()
}
