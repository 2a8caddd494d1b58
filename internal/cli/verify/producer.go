package verify

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
)

// The producer's events.
type (
	sendSuccess struct {
		header
		Key       *string `json:"key"`
		Value     string  `json:"value"`
		Topic     string  `json:"topic"`
		Partition int32   `json:"partition"`
		Offset    int64   `json:"offset"`
	}
	sendError struct {
		header
		Key       *string `json:"key"`
		Value     string  `json:"value"`
		Topic     string  `json:"topic"`
		Exception string  `json:"exception"`
		Message   string  `json:"message"`
	}
	toolData struct {
		header
		Sent             int64   `json:"sent"`
		Acked            int64   `json:"acked"`
		TargetThroughput int64   `json:"target_throughput"`
		AvgThroughput    float64 `json:"avg_throughput"`
	}
)

// producerOptions are "verify producer"'s flags.
type producerOptions struct {
	cf            clientflags.Flags
	topic         string
	maxMessages   int64
	throughput    int64
	acks          int
	valuePrefix   int
	repeatingKeys int
	createTime    int64
}

func newProducerCommand() *cobra.Command {
	var o producerOptions
	cmd := &cobra.Command{
		Use:   "producer --topic NAME [--max-messages N]",
		Short: "Produce numbered values and print every acknowledgement as JSON (kafka-verifiable-producer)",
		Long: `Produce the values 0, 1, 2, ... (or PREFIX.0, PREFIX.1, ... with
--value-prefix) to --topic, without retries, printing one JSON event per line:
startup_complete, producer_send_success or producer_send_error per record,
then shutdown_complete and tool_data. Runs until --max-messages are sent (-1:
until interrupted).`,
		Example: `  gregor verify producer --topic t --max-messages 1000 --acks -1`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SilenceUsage = true
			return o.run(clientflags.Context(cmd), cmd.OutOrStdout(), time.Now)
		},
	}
	o.cf.Register(cmd.Flags())
	f := cmd.Flags()
	f.StringVar(&o.topic, "topic", "", "topic to produce to")
	f.Int64Var(&o.maxMessages, "max-messages", -1, "records to produce; -1 until interrupted")
	f.Int64Var(&o.throughput, "throughput", -1, "maximum records/sec; -1 for no limit")
	f.IntVar(&o.acks, "acks", -1, "acks: -1 (all), 1 or 0")
	f.IntVar(&o.valuePrefix, "value-prefix", -1, "prefix values with this number and a dot")
	f.IntVar(&o.repeatingKeys, "repeating-keys", 0, "key records 0, 1, ... N-1 repeating; 0 for null keys")
	f.Int64Var(&o.createTime, "message-create-time", -1, "timestamp (ms) of the first record, advancing with the clock; -1 for now")
	cmd.MarkFlagRequired("topic")
	return cmd
}

// value returns the i'th value: "i", or "prefix.i".
func (o *producerOptions) value(i int64) string {
	if o.valuePrefix >= 0 {
		return fmt.Sprintf("%d.%d", o.valuePrefix, i)
	}
	return strconv.FormatInt(i, 10)
}

// key returns the i'th key: i modulo --repeating-keys, or null.
func (o *producerOptions) key(i int64) *string {
	if o.repeatingKeys <= 0 {
		return nil
	}
	k := strconv.FormatInt(i%int64(o.repeatingKeys), 10)
	return &k
}

func (o *producerOptions) run(ctx context.Context, stdout io.Writer, now func() time.Time) error {
	var acks kgo.Acks
	switch o.acks {
	case -1:
		acks = kgo.AllISRAcks()
	case 1:
		acks = kgo.LeaderAck()
	case 0:
		acks = kgo.NoAck()
	default:
		return fmt.Errorf("--acks %d: want -1, 1 or 0", o.acks)
	}
	opts := []kgo.Opt{
		kgo.ClientID("verifiable-producer"),
		kgo.RequiredAcks(acks),
		kgo.AllowAutoTopicCreation(),
		// Kafka's tool sets retries=0, which turns idempotence off: a failed
		// send is reported, never silently retried.
		kgo.RecordRetries(0),
		kgo.DisableIdempotentWrite(),
	}
	cl, err := o.cf.NewClient(opts...)
	if err != nil {
		return err
	}
	ev := &eventWriter{now: now, w: stdout}
	ev.print(ev.header("startup_complete"))

	var (
		mu    sync.Mutex // guards acked
		acked int64
		sent  int64
	)
	start := now()
	pace := newPacer(o.throughput, now)
	for i := int64(0); o.maxMessages < 0 || i < o.maxMessages; i++ {
		if pace(ctx) != nil {
			break
		}
		key, value := o.key(i), o.value(i)
		r := &kgo.Record{Topic: o.topic, Value: []byte(value)}
		if key != nil {
			r.Key = []byte(*key)
		}
		if o.createTime >= 0 {
			r.Timestamp = time.UnixMilli(o.createTime + now().Sub(start).Milliseconds())
		}
		sent++
		cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			if err != nil {
				ev.print(sendError{header: ev.header("producer_send_error"), Key: key, Value: value,
					Topic: o.topic, Exception: fmt.Sprintf("%T", err), Message: err.Error()})
				return
			}
			mu.Lock()
			acked++
			mu.Unlock()
			ev.print(sendSuccess{header: ev.header("producer_send_success"), Key: key, Value: value,
				Topic: r.Topic, Partition: r.Partition, Offset: r.Offset})
		})
	}
	// Flush what was sent even when interrupted, as Kafka's shutdown hook closes the producer.
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	cl.Flush(flushCtx)
	cl.Close()
	ev.print(ev.header("shutdown_complete"))
	mu.Lock()
	defer mu.Unlock()
	elapsed := now().Sub(start).Seconds()
	avg := 0.0
	if elapsed > 0 {
		avg = float64(acked) / elapsed
	}
	ev.print(toolData{header: ev.header("tool_data"), Sent: sent, Acked: acked,
		TargetThroughput: o.throughput, AvgThroughput: avg})
	return nil
}

// newPacer returns a function that waits so that calls happen at most rate
// times a second (no limit when rate <= 0), as Kafka's ThroughputThrottler.
func newPacer(rate int64, now func() time.Time) func(context.Context) error {
	start := now()
	var n int64
	return func(ctx context.Context) error {
		if rate <= 0 {
			return ctx.Err()
		}
		due := start.Add(time.Duration(n) * time.Second / time.Duration(rate))
		n++
		if d := due.Sub(now()); d > 0 {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return ctx.Err()
	}
}
