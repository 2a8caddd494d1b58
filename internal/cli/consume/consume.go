// Package consume implements "gregor consume", which prints a topic's
// records one per line, like kafka-console-consumer.
package consume

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
)

// commitTimeout bounds the final offset commit of a group consumer, which
// runs after the command's context may have been cancelled.
const commitTimeout = 10 * time.Second

// options are the command's flags.
type options struct {
	topic         string
	group         string
	shareGroup    string
	partition     int32
	offset        string
	fromBeginning bool
	maxMessages   int
	timeoutMs     int
	props         []string
	// isolationLevel is read_uncommitted (every record) or read_committed
	// (records of committed transactions only, up to the last stable offset).
	isolationLevel string
}

// NewCommand returns the "consume" command.
func NewCommand() *cobra.Command {
	var (
		cf   clientflags.Flags
		opts options
	)
	cmd := &cobra.Command{
		Use:   "consume --topic NAME",
		Short: "Print a topic's records, one a line",
		Long: `Print a topic's records, one a line, like kafka-console-consumer.

Without --group, partitions are read directly and no offsets are committed
(Kafka's tool would join a throwaway console-consumer-* group instead). With
--group, the consumer joins the group and commits the offsets of the records
it printed. With --share-group, the consumer joins that share group (KIP-932)
and acknowledges (ACCEPT) each record it printed; the broker decides which
records it gets, so --partition, --offset and --from-beginning do not apply.

Starts at the end of each partition, so only new records are printed, unless
--from-beginning or --offset says otherwise (or, with --group, the group has
committed offsets). Stops after --max-messages records, after --timeout-ms
without a record, or on interrupt (Ctrl-C).

Properties (--property key=value, as kafka-console-consumer):
  print.key=true        print the key before the value
  print.timestamp=true  print CreateTime:MS or LogAppendTime:MS first
  print.partition=true  print Partition:N
  print.offset=true     print Offset:N
  print.headers=true    print k:v,k:v (or NO_HEADERS)
  print.value=false     leave out the value
  key.separator=SEP     between fields; default a tab
  line.separator=SEP    after each record; default a newline
  headers.separator=SEP between headers; default ","
  null.literal=STR      printed for a null key or value; default "null"`,
		Example: `  gregor consume --topic quickstart-events --from-beginning
  gregor consume --topic orders --property print.key=true --property key.separator=: --max-messages 10
  gregor consume --topic orders --partition 0 --offset 42 --timeout-ms 5000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := newFormatter(opts.props)
			if err != nil {
				return err
			}
			clientOpts, err := opts.clientOpts(cmd.Flags().Changed("offset"))
			if err != nil {
				return err
			}
			cmd.SilenceUsage = true

			cl, err := cf.NewClient(clientOpts...)
			if err != nil {
				return err
			}
			defer cl.Close()
			ctx := clientflags.Context(cmd)
			ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
			defer stop()
			warnMissingTopic(ctx, cl, opts.topic, cmd.ErrOrStderr())
			return run(ctx, cl, f, opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cf.Register(cmd.Flags())
	fl := cmd.Flags()
	fl.StringVar(&opts.topic, "topic", "", "topic to consume")
	fl.StringVar(&opts.group, "group", "", "consumer group to join and commit offsets for")
	fl.StringVar(&opts.shareGroup, "share-group", "", "share group to join; records printed are acknowledged")
	fl.Int32Var(&opts.partition, "partition", -1, "consume only this partition (default: all)")
	fl.StringVar(&opts.offset, "offset", "latest", "where to start in --partition: an offset, earliest or latest")
	fl.BoolVar(&opts.fromBeginning, "from-beginning", false, "start at the earliest record rather than the latest")
	fl.IntVar(&opts.maxMessages, "max-messages", 0, "exit after printing this many records (default: no limit)")
	fl.IntVar(&opts.timeoutMs, "timeout-ms", 0, "exit after this many milliseconds without a record (default: wait forever)")
	fl.StringArrayVar(&opts.props, "property", nil, "formatter property key=value; repeat for more (see above)")
	fl.StringVar(&opts.isolationLevel, "isolation-level", "read_uncommitted", "read_uncommitted (every record) or read_committed (committed transactions only)")
	cmd.MarkFlagRequired("topic")
	return cmd
}

// clientOpts checks the flags together, as kafka-console-consumer does, and
// returns the consumer options they ask for. offsetSet is whether --offset
// was given.
func (o *options) clientOpts(offsetSet bool) ([]kgo.Opt, error) {
	switch {
	case o.maxMessages < 0:
		return nil, fmt.Errorf("--max-messages %d: may not be negative", o.maxMessages)
	case o.timeoutMs < 0:
		return nil, fmt.Errorf("--timeout-ms %d: may not be negative", o.timeoutMs)
	case o.partition < -1:
		return nil, fmt.Errorf("--partition %d: must be a partition number (0 or more)", o.partition)
	case o.shareGroup != "" && o.group != "":
		return nil, errors.New("--group and --share-group cannot be given together")
	case o.shareGroup != "" && (o.partition >= 0 || offsetSet || o.fromBeginning):
		return nil, errors.New("--share-group cannot be given with --partition, --offset or --from-beginning")
	case o.group != "" && o.partition >= 0:
		return nil, errors.New("--group and --partition cannot be given together")
	case o.group != "" && offsetSet:
		return nil, errors.New("--group and --offset cannot be given together")
	case offsetSet && o.partition < 0:
		return nil, errors.New("--offset needs --partition")
	case offsetSet && o.fromBeginning:
		return nil, errors.New("--from-beginning and --offset cannot be given together")
	}
	var isolation []kgo.Opt
	switch o.isolationLevel {
	case "read_uncommitted", "":
	case "read_committed":
		isolation = append(isolation, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	default:
		return nil, fmt.Errorf("--isolation-level %q: want read_uncommitted or read_committed", o.isolationLevel)
	}
	if o.shareGroup != "" {
		return append(isolation, kgo.ConsumeTopics(o.topic), kgo.ShareGroup(o.shareGroup)), nil
	}
	start := kgo.NewOffset().AtEnd()
	if o.fromBeginning {
		start = kgo.NewOffset().AtStart()
	}
	if o.partition >= 0 {
		if offsetSet {
			var err error
			if start, err = parseOffset(o.offset); err != nil {
				return nil, err
			}
		}
		return append(isolation,
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{o.topic: {o.partition: start}}),
		), nil
	}
	opts := append(isolation, kgo.ConsumeTopics(o.topic), kgo.ConsumeResetOffset(start))
	if o.group != "" {
		opts = append(opts, kgo.ConsumerGroup(o.group), kgo.AutoCommitMarks())
	}
	return opts, nil
}

// warnMissingTopic says on errOut when topic does not exist. The consumer still waits for it,
// as Kafka's does (a producer may be about to create it), but the user knows why nothing comes.
func warnMissingTopic(ctx context.Context, cl *kgo.Client, topic string, errOut io.Writer) {
	details, err := kadm.NewClient(cl).ListTopics(ctx, topic)
	if err != nil {
		return // the consumer reports what is wrong with the cluster
	}
	if d, ok := details[topic]; !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
		fmt.Fprintf(errOut, "topic %q does not exist; waiting for it to be created\n", topic)
	}
}

// parseOffset parses --offset: earliest, latest or a non-negative offset.
func parseOffset(s string) (kgo.Offset, error) {
	switch strings.ToLower(s) {
	case "earliest":
		return kgo.NewOffset().AtStart(), nil
	case "latest":
		return kgo.NewOffset().AtEnd(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return kgo.Offset{}, fmt.Errorf("--offset %q: want an offset (0 or more), earliest or latest", s)
	}
	return kgo.NewOffset().At(n), nil
}

// run polls and prints records until --max-messages, --timeout-ms or ctx
// ends it, then commits (with --group) and reports the count on errOut, as
// kafka-console-consumer does.
func run(ctx context.Context, cl *kgo.Client, f *formatter, o options, out, errOut io.Writer) error {
	w := bufio.NewWriter(out)
	var (
		count  int
		buf    []byte
		runErr error
	)
poll:
	for o.maxMessages == 0 || count < o.maxMessages {
		pollCtx, cancel := ctx, context.CancelFunc(func() {})
		if o.timeoutMs > 0 {
			pollCtx, cancel = context.WithTimeout(ctx, time.Duration(o.timeoutMs)*time.Millisecond)
		}
		limit := 0 // everything buffered
		if o.maxMessages > 0 {
			limit = o.maxMessages - count
		}
		fetches := cl.PollRecords(pollCtx, limit)
		cancel()

		records := fetches.Records()
		for _, r := range records {
			buf = f.appendRecord(buf[:0], r)
			if _, err := w.Write(buf); err != nil {
				runErr = fmt.Errorf("writing output: %w", err)
				break poll
			}
			count++
			if o.group != "" {
				cl.MarkCommitRecords(r)
			}
			if o.shareGroup != "" {
				cl.MarkAcks(kgo.AckAccept, r)
			}
		}
		if err := w.Flush(); err != nil {
			runErr = fmt.Errorf("writing output: %w", err)
			break
		}
		for _, fe := range fetches.Errors() {
			switch {
			case errors.Is(fe.Err, context.Canceled), errors.Is(fe.Err, context.DeadlineExceeded):
				// The end of a poll, handled below.
			case kerr.IsRetriable(fe.Err):
				fmt.Fprintf(errOut, "topic %q partition %d: %v (retrying)\n", fe.Topic, fe.Partition, fe.Err)
			default:
				runErr = fmt.Errorf("consuming topic %q partition %d: %w", fe.Topic, fe.Partition, fe.Err)
				break poll
			}
		}
		if ctx.Err() != nil {
			break // interrupted
		}
		if len(records) == 0 && pollCtx.Err() != nil {
			break // --timeout-ms passed without a record
		}
	}
	if o.group != "" {
		commitCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
		defer cancel()
		if err := cl.CommitMarkedOffsets(commitCtx); err != nil {
			runErr = errors.Join(runErr, fmt.Errorf("committing offsets of group %q: %w", o.group, err))
		}
	}
	if o.shareGroup != "" {
		ackCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
		defer cancel()
		if err := cl.FlushAcks(ackCtx); err != nil {
			runErr = errors.Join(runErr, fmt.Errorf("acknowledging records of share group %q: %w", o.shareGroup, err))
		}
	}
	fmt.Fprintf(errOut, "Processed a total of %d messages\n", count)
	return runErr
}
