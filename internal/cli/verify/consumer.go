package verify

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
)

// The consumer's events.
type (
	partitionsEvent struct {
		header
		Partitions []partitionData `json:"partitions"`
	}
	recordSetSummary struct {
		partitionData
		Count     int64 `json:"count"`
		MinOffset int64 `json:"minOffset"`
		MaxOffset int64 `json:"maxOffset"`
	}
	recordsConsumed struct {
		header
		Count      int64              `json:"count"`
		Partitions []recordSetSummary `json:"partitions"`
	}
	recordData struct {
		header
		Key       *string `json:"key"`
		Value     *string `json:"value"`
		Topic     string  `json:"topic"`
		Partition int32   `json:"partition"`
		Offset    int64   `json:"offset"`
	}
	commitData struct {
		partitionData
		Offset int64 `json:"offset"`
	}
	offsetsCommitted struct {
		header
		Offsets []commitData `json:"offsets"`
		Error   string       `json:"error,omitempty"`
		Success bool         `json:"success"`
	}
)

// consumerOptions are "verify consumer"'s flags.
type consumerOptions struct {
	cf             clientflags.Flags
	topic          string
	groupID        string
	instanceID     string
	maxMessages    int64
	autoCommit     bool
	resetPolicy    string
	assignment     string
	groupProtocol  string
	sessionTimeout int64
	verbose        bool
}

func newConsumerCommand() *cobra.Command {
	var o consumerOptions
	cmd := &cobra.Command{
		Use:   "consumer --topic NAME --group-id GROUP [--max-messages N]",
		Short: "Consume as a group member and print rebalances, records and commits as JSON (kafka-verifiable-consumer)",
		Long: `Join --group-id, consume --topic and print one JSON event per line:
startup_complete, partitions_assigned / partitions_revoked, records_consumed per
poll (with per-partition counts and offset ranges), offsets_committed after
each synchronous commit (unless --enable-autocommit), and shutdown_complete.
Runs until --max-messages are consumed (-1: until interrupted).`,
		Example: `  gregor verify consumer --topic t --group-id g --max-messages 1000`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SilenceUsage = true
			return o.run(clientflags.Context(cmd), cmd.OutOrStdout(), time.Now)
		},
	}
	o.cf.Register(cmd.Flags())
	f := cmd.Flags()
	f.StringVar(&o.topic, "topic", "", "topic to consume")
	f.StringVar(&o.groupID, "group-id", "", "consumer group to join")
	f.StringVar(&o.instanceID, "group-instance-id", "", "static member id")
	f.Int64Var(&o.maxMessages, "max-messages", -1, "records to consume; -1 until interrupted")
	f.BoolVar(&o.autoCommit, "enable-autocommit", false, "commit offsets in the background rather than after each poll")
	f.StringVar(&o.resetPolicy, "reset-policy", "earliest", "where to start without a committed offset: earliest or latest")
	f.StringVar(&o.assignment, "assignment-strategy", "org.apache.kafka.clients.consumer.RangeAssignor",
		"classic protocol assignor: RangeAssignor, RoundRobinAssignor, StickyAssignor or CooperativeStickyAssignor (Kafka's class names accepted)")
	f.StringVar(&o.groupProtocol, "group-protocol", "classic", "group protocol: classic or consumer (KIP-848)")
	f.Int64Var(&o.sessionTimeout, "session-timeout", 45000, "session timeout in milliseconds")
	f.BoolVar(&o.verbose, "verbose", false, "print a record_data event per record")
	cmd.MarkFlagRequired("topic")
	cmd.MarkFlagRequired("group-id")
	return cmd
}

// balancer maps Kafka's assignor class names (or their last part) to the
// client's balancers.
func balancer(name string) (kgo.GroupBalancer, error) {
	short := name[strings.LastIndex(name, ".")+1:]
	switch strings.ToLower(short) {
	case "rangeassignor", "range":
		return kgo.RangeBalancer(), nil
	case "roundrobinassignor", "roundrobin":
		return kgo.RoundRobinBalancer(), nil
	case "stickyassignor", "sticky":
		return kgo.StickyBalancer(), nil
	case "cooperativestickyassignor", "cooperative-sticky":
		return kgo.CooperativeStickyBalancer(), nil
	}
	return nil, fmt.Errorf("--assignment-strategy %q: want RangeAssignor, RoundRobinAssignor, StickyAssignor or CooperativeStickyAssignor", name)
}

// sortedPartitions turns a client's assignment map into Kafka's event list, in order.
func sortedPartitions(m map[string][]int32) []partitionData {
	ps := []partitionData{}
	for t, parts := range m {
		for _, p := range parts {
			ps = append(ps, partitionData{Topic: t, Partition: p})
		}
	}
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Topic != ps[j].Topic {
			return ps[i].Topic < ps[j].Topic
		}
		return ps[i].Partition < ps[j].Partition
	})
	return ps
}

func (o *consumerOptions) run(ctx context.Context, stdout io.Writer, now func() time.Time) error {
	ev := &eventWriter{now: now, w: stdout}
	// The client joins the group as soon as it exists: its callbacks wait until
	// startup_complete is out, which Kafka's tool prints first.
	started := make(chan struct{})
	opts := []kgo.Opt{
		kgo.ClientID("verifiable-consumer"),
		kgo.ConsumerGroup(o.groupID),
		kgo.ConsumeTopics(o.topic),
		kgo.SessionTimeout(time.Duration(o.sessionTimeout) * time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			<-started
			ev.print(partitionsEvent{header: ev.header("partitions_assigned"), Partitions: sortedPartitions(m)})
		}),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			<-started
			ev.print(partitionsEvent{header: ev.header("partitions_revoked"), Partitions: sortedPartitions(m)})
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			<-started
			ev.print(partitionsEvent{header: ev.header("partitions_revoked"), Partitions: sortedPartitions(m)})
		}),
	}
	switch strings.ToLower(o.resetPolicy) {
	case "earliest":
		opts = append(opts, kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	case "latest":
		opts = append(opts, kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()))
	default:
		return fmt.Errorf("--reset-policy %q: want earliest or latest", o.resetPolicy)
	}
	b, err := balancer(o.assignment)
	if err != nil {
		return err
	}
	switch strings.ToLower(o.groupProtocol) {
	case "classic":
		opts = append(opts, kgo.Balancers(b))
	case "consumer":
		// The broker assigns; the client names a server-side assignor.
		opts = append(opts, kgo.Balancers(kgo.RangeBalancer()), kgo.ServerSideBalancer())
	default:
		return fmt.Errorf("--group-protocol %q: want classic or consumer", o.groupProtocol)
	}
	if o.instanceID != "" {
		opts = append(opts, kgo.InstanceID(o.instanceID))
	}
	if !o.autoCommit {
		opts = append(opts, kgo.DisableAutoCommit())
	}
	cl, err := o.cf.NewClient(opts...)
	if err != nil {
		return err
	}
	ev.print(ev.header("startup_complete"))
	close(started)
	var consumed int64
	for ctx.Err() == nil && (o.maxMessages < 0 || consumed < o.maxMessages) {
		fs := cl.PollFetches(ctx)
		if fs.IsClientClosed() || ctx.Err() != nil {
			break
		}
		total := int64(fs.NumRecords())
		if total == 0 {
			continue
		}
		var (
			summaries []recordSetSummary
			commit    = map[string]map[int32]kgo.EpochOffset{}
			commitLog []commitData
		)
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			recs := p.Records
			if o.maxMessages >= 0 && consumed+int64(len(recs)) > o.maxMessages {
				recs = recs[:o.maxMessages-consumed]
			}
			if len(recs) == 0 {
				return
			}
			first, last := recs[0], recs[len(recs)-1]
			summaries = append(summaries, recordSetSummary{partitionData: partitionData{Topic: p.Topic, Partition: p.Partition},
				Count: int64(len(recs)), MinOffset: first.Offset, MaxOffset: last.Offset})
			if o.verbose {
				for _, r := range recs {
					ev.print(recordData{header: ev.header("record_data"), Key: str(r.Key), Value: str(r.Value),
						Topic: r.Topic, Partition: r.Partition, Offset: r.Offset})
				}
			}
			if commit[p.Topic] == nil {
				commit[p.Topic] = map[int32]kgo.EpochOffset{}
			}
			commit[p.Topic][p.Partition] = kgo.EpochOffset{Epoch: last.LeaderEpoch, Offset: last.Offset + 1}
			commitLog = append(commitLog, commitData{partitionData: partitionData{Topic: p.Topic, Partition: p.Partition}, Offset: last.Offset + 1})
			consumed += int64(len(recs))
		})
		if summaries == nil {
			summaries = []recordSetSummary{}
		}
		ev.print(recordsConsumed{header: ev.header("records_consumed"), Count: total, Partitions: summaries})
		if !o.autoCommit && len(commitLog) > 0 {
			ce := offsetsCommitted{Offsets: commitLog, Success: true}
			if err := commitSync(ctx, cl, commit); err != nil {
				ce.Success, ce.Error = false, err.Error()
			}
			ce.header = ev.header("offsets_committed")
			ev.print(ce)
		}
	}
	// Close leaves the group (revoking what is assigned) before shutdown_complete, as Kafka's close does.
	cl.Close()
	ev.print(ev.header("shutdown_complete"))
	return nil
}

// commitSync commits offsets and returns the first error, from the request or any partition.
func commitSync(ctx context.Context, cl *kgo.Client, offsets map[string]map[int32]kgo.EpochOffset) error {
	var first error
	// onDone runs before CommitOffsetsSync returns.
	cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			first = err
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if perr := kerr.ErrorForCode(p.ErrorCode); perr != nil && first == nil {
					first = perr
				}
			}
		}
	})
	return first
}

// str returns b as a string pointer, nil for a null key or value.
func str(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}
