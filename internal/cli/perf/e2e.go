package perf

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
	"github.com/gregorhq/gregor/internal/cli/out"
)

// stampSize is the send time, in Unix nanoseconds, at the head of each e2e
// record's value: the consumer reads it back to time the record's trip.
const stampSize = 8

// e2eOptions are "perf e2e"'s flags.
type e2eOptions struct {
	cf         clientflags.Flags
	topic      string
	numRecords int64
	recordSize int
	throughput float64
	props      []string
	timeout    time.Duration
	format     out.Format
}

// E2ESummary is the result of an e2e run: end-to-end latency, from before the
// produce call to the record's arrival at a consumer, in milliseconds with
// microsecond resolution.
//
// The Ack figures time the same records from before the produce call to the
// producer's acknowledgement: what is left of the end-to-end latency is the
// delivery to the consumer (its fetch's wake-up, the response and the
// client's decoding), so a run tells on which side the time goes.
//
// RecordsPerSec is the rate the consumer received at, from the first send to
// the last arrival: run with --throughput -1 it is the most this producer and
// consumer pair gets through with the given producer properties, which is the
// "max load" a latency run at a fraction of it needs.
type E2ESummary struct {
	Records       int64   `json:"records"`
	Throughput    float64 `json:"target_records_per_sec"`
	RecordsPerSec float64 `json:"records_per_sec"`
	AvgLatencyMs  float64 `json:"avg_latency_ms"`
	MaxLatencyMs  float64 `json:"max_latency_ms"`
	P50Ms         float64 `json:"p50_ms"`
	P99Ms         float64 `json:"p99_ms"`
	P999Ms        float64 `json:"p999_ms"`
	AckP50Ms      float64 `json:"ack_p50_ms"`
	AckP99Ms      float64 `json:"ack_p99_ms"`
	AckP999Ms     float64 `json:"ack_p999_ms"`
}

// String prints the figures in the words of Kafka's EndToEndLatency tool, then
// the acknowledgement percentiles.
func (s E2ESummary) String() string {
	return fmt.Sprintf("%d records received at a target of %.0f records/sec (received at %.0f records/sec).\nAvg latency: %.4f ms\nPercentiles: 50th = %.3f, 99th = %.3f, 99.9th = %.3f (max %.3f) ms\nProduce acknowledged: 50th = %.3f, 99th = %.3f, 99.9th = %.3f ms\n",
		s.Records, s.Throughput, s.RecordsPerSec, s.AvgLatencyMs, s.P50Ms, s.P99Ms, s.P999Ms, s.MaxLatencyMs, s.AckP50Ms, s.AckP99Ms, s.AckP999Ms)
}

func newE2ECommand() *cobra.Command {
	var (
		o         e2eOptions
		timeoutMs int64
	)
	cmd := &cobra.Command{
		Use:   "e2e --topic NAME --num-records N --record-size BYTES --throughput RATE",
		Short: "Produce at a target rate while consuming, and report end-to-end latency",
		Long: `Produce --num-records records at --throughput records/sec while a consumer
reads the topic from its current end, and report the end-to-end latency (send
call to arrival at the consumer) with percentiles, and the percentiles of the
producer's acknowledgements. Values are random uppercase letters after an
8-byte send time, as Kafka's EndToEndLatency sends. The topic is created with
the broker's defaults when it does not exist.`,
		Example: `  gregor perf e2e --topic lat --num-records 10000 --record-size 1024 --throughput 1000 --producer-props acks=all`,
		Args:    producerPropsArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SilenceUsage = true
			o.props = append(o.props, args...)
			o.timeout = time.Duration(timeoutMs) * time.Millisecond
			return o.run(clientflags.Context(cmd), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	o.cf.Register(cmd.Flags())
	f := cmd.Flags()
	f.StringVar(&o.topic, "topic", "", "topic to produce to and consume from")
	f.Int64Var(&o.numRecords, "num-records", 0, "number of records")
	f.IntVar(&o.recordSize, "record-size", 100, "record size in bytes (at least 8)")
	f.Float64Var(&o.throughput, "throughput", 1000, "records/sec to produce; -1 for no limit")
	f.StringArrayVar(&o.props, "producer-props", nil, "producer properties key=value; several may follow one flag")
	f.Int64Var(&timeoutMs, "timeout", 30000, "give up when no record arrives for this many milliseconds")
	out.AddFormatFlag(f, &o.format)
	cmd.MarkFlagRequired("topic")
	cmd.MarkFlagRequired("num-records")
	return cmd
}

func (o *e2eOptions) run(ctx context.Context, stdout, stderr io.Writer) error {
	if o.numRecords <= 0 {
		return errors.New("--num-records: must be more than 0")
	}
	if o.recordSize < stampSize {
		return fmt.Errorf("--record-size %d: must be at least %d (the send time is carried in the value)", o.recordSize, stampSize)
	}
	props, err := loadProps("producer-props", "", o.props)
	if err != nil {
		return err
	}
	popts, _, err := producerOptsWarn(props, stderr, "perf tools")
	if err != nil {
		return err
	}
	starts, err := o.endOffsets(ctx)
	if err != nil {
		return err
	}
	consumer, err := o.cf.NewClient(kgo.ClientID("perf-e2e-consumer"), kgo.ConsumePartitions(starts),
		kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return err
	}
	defer consumer.Close()
	producer, err := o.cf.NewClient(append([]kgo.Opt{kgo.ClientID("perf-e2e-producer"), kgo.DefaultProduceTopic(o.topic)}, popts...)...)
	if err != nil {
		return err
	}
	defer producer.Close()

	// The producer runs alongside; the consumer loop below measures.
	var failed atomic.Int64
	var (
		ackMu   sync.Mutex // guards acks; promises run on the client's goroutines
		ackHist Histogram  // microseconds from send to acknowledgement
	)
	prodCtx, stopProducing := context.WithCancel(ctx)
	defer stopProducing()
	// The value is random uppercase letters, as Kafka's EndToEndLatency sends,
	// behind the send time: a value of zeros would shrink to nothing under
	// compression and measure records that carry no bytes.
	payload := make([]byte, o.recordSize)
	for i := range payload {
		payload[i] = byte('A' + rand.IntN(26))
	}
	start := time.Now()
	go func() {
		pacer := NewPacer(o.throughput, time.Now)
		for i := int64(0); i < o.numRecords; i++ {
			if pacer.Wait(prodCtx) != nil {
				return
			}
			v := append([]byte(nil), payload...)
			binary.BigEndian.PutUint64(v, uint64(time.Now().UnixNano()))
			producer.Produce(prodCtx, &kgo.Record{Value: v}, func(r *kgo.Record, err error) {
				if err != nil {
					failed.Add(1)
					return
				}
				us := time.Since(time.Unix(0, int64(binary.BigEndian.Uint64(r.Value)))).Microseconds()
				ackMu.Lock()
				ackHist.Record(us)
				ackMu.Unlock()
			})
		}
	}()

	var hist Histogram // microseconds
	var total, maxUs, got int64
	last := time.Now()
	progress := out.NewProgress(stderr, "records received:", o.numRecords)
	for got < o.numRecords-failed.Load() {
		pctx, cancel := context.WithTimeout(ctx, pollInterval)
		fs := consumer.PollFetches(pctx)
		cancel()
		now := time.Now()
		if ctx.Err() != nil || fs.IsClientClosed() {
			break
		}
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			if len(r.Value) < stampSize {
				return // not one of ours
			}
			us := now.Sub(time.Unix(0, int64(binary.BigEndian.Uint64(r.Value)))).Microseconds()
			hist.Record(us)
			total += us
			maxUs = max(maxUs, us)
			got++
			n++
		})
		if n > 0 {
			last = now
			progress.Add(int64(n))
		} else if now.Sub(last) > o.timeout {
			break
		}
	}
	progress.Done()
	sum := E2ESummary{Records: got, Throughput: o.throughput, MaxLatencyMs: float64(maxUs) / 1000,
		P50Ms: float64(hist.Percentile(0.5)) / 1000, P99Ms: float64(hist.Percentile(0.99)) / 1000,
		P999Ms: float64(hist.Percentile(0.999)) / 1000}
	// The consumer can see the last records before their producer has the
	// acknowledgements: wait for those (bounded), so every record is counted.
	fctx, cancelFlush := context.WithTimeout(ctx, o.timeout)
	producer.Flush(fctx)
	cancelFlush()
	ackMu.Lock()
	sum.AckP50Ms, sum.AckP99Ms = float64(ackHist.Percentile(0.5))/1000, float64(ackHist.Percentile(0.99))/1000
	sum.AckP999Ms = float64(ackHist.Percentile(0.999)) / 1000
	ackMu.Unlock()
	if got > 0 {
		sum.AvgLatencyMs = float64(total) / float64(got) / 1000
		if d := last.Sub(start).Seconds(); d > 0 {
			sum.RecordsPerSec = float64(got) / d
		}
	}
	if err := printResult(stdout, o.format, sum); err != nil {
		return err
	}
	if f := failed.Load(); f > 0 {
		return fmt.Errorf("%d records failed to produce", f)
	}
	if got < o.numRecords {
		return fmt.Errorf("received %d of %d records before the timeout", got, o.numRecords)
	}
	return nil
}

// endOffsets returns where the consumer starts: each partition's current
// end, creating the topic first when it does not exist.
func (o *e2eOptions) endOffsets(ctx context.Context) (map[string]map[int32]kgo.Offset, error) {
	adm, err := o.cf.NewAdmin()
	if err != nil {
		return nil, err
	}
	defer adm.Close()
	// A topic just created may take a moment to reach every broker's metadata.
	deadline := time.Now().Add(10 * time.Second)
	created := false
	var ends kadm.ListedOffsets
	for {
		ends, err = adm.ListEndOffsets(ctx, o.topic)
		if err == nil {
			err = ends.Error()
		}
		if !errors.Is(err, kerr.UnknownTopicOrPartition) || time.Now().After(deadline) {
			break
		}
		if !created {
			if _, cerr := adm.CreateTopic(ctx, -1, -1, nil, o.topic); cerr != nil && !errors.Is(cerr, kerr.TopicAlreadyExists) {
				return nil, fmt.Errorf("creating topic %q: %w", o.topic, cerr)
			}
			created = true
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return nil, err
		}
	}
	if err != nil {
		return nil, fmt.Errorf("listing end offsets of %q: %w", o.topic, err)
	}
	starts := map[string]map[int32]kgo.Offset{o.topic: {}}
	ends.Each(func(l kadm.ListedOffset) {
		starts[o.topic][l.Partition] = kgo.NewOffset().At(l.Offset)
	})
	if len(starts[o.topic]) == 0 {
		return nil, fmt.Errorf("topic %q has no partitions", o.topic)
	}
	return starts, nil
}
