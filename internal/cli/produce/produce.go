// Package produce implements "gregor produce", which writes one record per
// line of standard input to a topic, like kafka-console-producer.
package produce

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
)

// deliveryTimeout bounds how long a record may wait to be acknowledged,
// retries included: Kafka's default delivery.timeout.ms.
const deliveryTimeout = 2 * time.Minute

// NewCommand returns the "produce" command.
func NewCommand() *cobra.Command {
	var (
		cf          clientflags.Flags
		topic       string
		props       []string
		acks        string
		partition   int32
		codec       string
		idempotent  bool
		partitioner string
	)
	cmd := &cobra.Command{
		Use:   "produce --topic NAME",
		Short: "Write one record per line of standard input to a topic",
		Long: `Write one record per line of standard input to a topic, like
kafka-console-producer. Records are sent as lines arrive and flushed at end of
input; any record the broker rejects is reported and makes the command fail.

Properties (--property key=value, as kafka-console-producer):
  parse.key=true            each line is key<key.separator>value
  key.separator=SEP         default a tab
  parse.headers=true        each line starts with k:v,k:v<headers.delimiter>
  headers.delimiter=SEP     default a tab
  headers.separator=SEP     default ","
  headers.key.separator=SEP default ":"
  ignore.error=true         a line without a separator is produced as a value
  null.marker=STR           a key, value or header value equal to STR is null`,
		Example: `  gregor produce --topic quickstart-events
  printf 'k1:v1\nk2:v2\n' | gregor produce --topic orders --property parse.key=true --property key.separator=:`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lr, err := newLineReader(props)
			if err != nil {
				return err
			}
			ackOpts, err := acksOpts(acks, idempotent, cmd.Flags().Changed("idempotent"))
			if err != nil {
				return err
			}
			partOpt, err := partitionerOpt(partitioner, partition)
			if err != nil {
				return err
			}
			compression, err := compressionOpt(codec)
			if err != nil {
				return err
			}
			if partition < -1 {
				return fmt.Errorf("--partition %d: must be a partition number (0 or more)", partition)
			}
			cmd.SilenceUsage = true

			opts := append(ackOpts, compression, partOpt,
				kgo.AllowAutoTopicCreation(), // as Kafka's producer: the broker's auto.create.topics.enable decides
				kgo.RecordDeliveryTimeout(deliveryTimeout),
			)
			cl, err := cf.NewClient(opts...)
			if err != nil {
				return err
			}
			defer cl.Close()
			ctx := clientflags.Context(cmd)
			return run(ctx, cl, cmd.InOrStdin(), cmd.ErrOrStderr(), lr, topic, partition)
		},
	}
	cf.Register(cmd.Flags())
	f := cmd.Flags()
	f.StringVar(&topic, "topic", "", "topic to produce to")
	f.StringArrayVar(&props, "property", nil, "line reader property key=value; repeat for more (see above)")
	f.StringVar(&acks, "acks", "all", "acknowledgements to wait for: all (or -1), 1 or 0")
	f.BoolVar(&idempotent, "idempotent", true, "idempotent writes: no duplicates on retry, order kept (needs --acks all; off by default with --acks 1 or 0)")
	f.StringVar(&partitioner, "partitioner", "murmur2", "how records without --partition pick one: murmur2 (key hash; sticky for null keys), round-robin or sticky (ignores keys)")
	f.Int32Var(&partition, "partition", -1, "partition to write to (default: chosen by key hash, or sticky for null keys)")
	f.StringVar(&codec, "compression", "none", "batch compression: none, gzip, snappy, lz4 or zstd")
	// Kafka's console producer spells it --compression-codec. (There the flag alone means gzip;
	// here it needs its value, so that "--compression-codec lz4" parses as it does there.)
	f.StringVar(&codec, "compression-codec", "none", "the same as --compression")
	cmd.MarkFlagRequired("topic")
	return cmd
}

// acksOpts maps --acks and --idempotent to client options. Idempotent writes need acks=all,
// so weaker acks turn them off unless --idempotent was asked for explicitly (set), which is an
// error then, as Kafka's producer refuses enable.idempotence=true with acks other than all.
func acksOpts(acks string, idempotent, set bool) ([]kgo.Opt, error) {
	var opts []kgo.Opt
	weak := true // acks below all
	switch strings.ToLower(acks) {
	case "all", "-1":
		opts, weak = []kgo.Opt{kgo.RequiredAcks(kgo.AllISRAcks())}, false
	case "1":
		opts = []kgo.Opt{kgo.RequiredAcks(kgo.LeaderAck())}
	case "0":
		opts = []kgo.Opt{kgo.RequiredAcks(kgo.NoAck())}
	default:
		return nil, fmt.Errorf("--acks %q: want all, -1, 1 or 0", acks)
	}
	switch {
	case weak && idempotent && set:
		return nil, fmt.Errorf("--idempotent needs --acks all (got --acks %s); add --idempotent=false or use --acks all", acks)
	case weak || !idempotent:
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	return opts, nil
}

// partitionerOpt maps --partitioner (and an explicit --partition) to the client's partitioner.
// murmur2 is Kafka's default: the murmur2 hash of the key, and sticky batches for null keys.
func partitionerOpt(name string, partition int32) (kgo.Opt, error) {
	if partition >= 0 {
		return kgo.RecordPartitioner(kgo.ManualPartitioner()), nil
	}
	switch strings.ToLower(name) {
	case "murmur2", "default", "":
		return kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)), nil
	case "round-robin", "roundrobin":
		return kgo.RecordPartitioner(kgo.RoundRobinPartitioner()), nil
	case "sticky", "uniform-sticky":
		return kgo.RecordPartitioner(kgo.StickyPartitioner()), nil
	}
	return nil, fmt.Errorf("--partitioner %q: want murmur2, round-robin or sticky", name)
}

// compressionOpt maps --compression to the client's batch compression.
func compressionOpt(codec string) (kgo.Opt, error) {
	var c kgo.CompressionCodec
	switch strings.ToLower(codec) {
	case "none", "uncompressed":
		c = kgo.NoCompression()
	case "gzip":
		c = kgo.GzipCompression()
	case "snappy":
		c = kgo.SnappyCompression()
	case "lz4":
		c = kgo.Lz4Compression()
	case "zstd":
		c = kgo.ZstdCompression()
	default:
		return nil, fmt.Errorf("--compression %q: want none, gzip, snappy, lz4 or zstd", codec)
	}
	return kgo.ProducerBatchCompression(c), nil
}

// run produces a record per line of in until EOF, then flushes. Each failed
// record is reported on errOut; the returned error counts them.
func run(ctx context.Context, cl *kgo.Client, in io.Reader, errOut io.Writer, lr *lineReader, topic string, partition int32) error {
	var (
		mu       sync.Mutex
		failed   int
		firstErr error
	)
	var sent int
	var readErr error
	br := bufio.NewReader(in)
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			readErr = fmt.Errorf("reading input: %w", err)
			break
		}
		if line == "" && err != nil { // EOF with no partial line
			break
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		r, perr := lr.record(line, lineNo)
		if perr != nil {
			readErr = perr
			break
		}
		r.Topic = topic
		if partition >= 0 {
			r.Partition = partition
		}
		n := lineNo
		sent++
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err == nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			failed++
			if firstErr == nil {
				firstErr = err
			}
			fmt.Fprintf(errOut, "line %d: %v\n", n, err)
		})
		if err != nil { // EOF after a last line without a newline
			break
		}
		if ctx.Err() != nil {
			break
		}
	}
	flushErr := cl.Flush(ctx)

	mu.Lock()
	defer mu.Unlock()
	var errs []error
	if readErr != nil {
		errs = append(errs, readErr)
	}
	if failed > 0 {
		errs = append(errs, fmt.Errorf("producing to topic %q: %d of %d records failed, first: %w",
			topic, failed, sent, firstErr))
	}
	if flushErr != nil && failed == 0 {
		errs = append(errs, fmt.Errorf("flushing records to topic %q: %w", topic, flushErr))
	}
	return errors.Join(errs...)
}
