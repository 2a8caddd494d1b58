package topic

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
	"github.com/gregorhq/gregor/internal/cli/out"
)

// The throttle configs kafka-reassign-partitions sets and clears.
const (
	leaderRate       = "leader.replication.throttled.rate"
	followerRate     = "follower.replication.throttled.rate"
	leaderReplicas   = "leader.replication.throttled.replicas"
	followerReplicas = "follower.replication.throttled.replicas"
)

func tpName(topic string, partition int32) string {
	return topic + "-" + strconv.Itoa(int(partition))
}

// currentReplicas returns the replicas of the named partitions, in the files' order; a
// partition that does not exist is an error, as in Kafka.
func currentReplicas(ctx context.Context, adm *kadm.Client, parts []Reassignment) ([]Reassignment, error) {
	md, err := adm.Metadata(ctx, fileTopics(parts)...)
	if err != nil {
		return nil, err
	}
	out := make([]Reassignment, len(parts))
	for i, p := range parts {
		t, ok := md.Topics[p.Topic]
		if !ok || t.Err != nil {
			return nil, fmt.Errorf("Topic %s not found", p.Topic)
		}
		mp, ok := t.Partitions[p.Partition]
		if !ok {
			return nil, fmt.Errorf("Unable to find partition: %s", tpName(p.Topic, p.Partition))
		}
		out[i] = Reassignment{Topic: p.Topic, Partition: p.Partition, Replicas: mp.Replicas}
	}
	return out, nil
}

func newReassignExecuteCommand(cf *clientflags.Flags) *cobra.Command {
	var throttle int64
	cmd := newReassignFileCommand(cf, &cobra.Command{
		Use:     "execute --reassignment-json-file F [--throttle B/s]",
		Short:   "Start the reassignments of a reassignment JSON file",
		Example: `  gregor topic reassign execute --reassignment-json-file plan.json --throttle 10000000`,
	}, func(cmd *cobra.Command, cl *kgo.Client, parts []Reassignment) error {
		return ReassignExecute(clientflags.Context(cmd), cl, parts, throttle, cmd.OutOrStdout())
	})
	cmd.Flags().Int64Var(&throttle, "throttle", -1, "limit replication traffic of the moving partitions to this many bytes/sec")
	return cmd
}

// newReassignFileCommand completes cmd as a verb that acts on the partitions of
// --reassignment-json-file (execute, verify, cancel): it checks the flag, reads the file and
// connects, then hands the partitions and the client to run. The verbs differ only in their
// other flags and in run.
func newReassignFileCommand(cf *clientflags.Flags, cmd *cobra.Command, run func(cmd *cobra.Command, cl *kgo.Client, parts []Reassignment) error) *cobra.Command {
	var file string
	cmd.Args = cobra.NoArgs
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if file == "" {
			return fmt.Errorf("%s needs --reassignment-json-file", cmd.Name())
		}
		cmd.SilenceUsage = true
		parts, err := readReassignmentFile(file)
		if err != nil {
			return err
		}
		cl, err := cf.NewClient()
		if err != nil {
			return err
		}
		defer cl.Close()
		return run(cmd, cl, parts)
	}
	cmd.Flags().StringVar(&file, "reassignment-json-file", "", "the reassignment JSON file")
	return cmd
}

// ReassignExecute starts the reassignments parts (kafka-reassign-partitions --execute),
// first printing the current assignment to roll back to; a throttle >= 0 also sets the
// replication throttles on the brokers and topics involved.
func ReassignExecute(ctx context.Context, cl *kgo.Client, parts []Reassignment, throttle int64, w io.Writer) error {
	adm := kadm.NewClient(cl)
	current, err := currentReplicas(ctx, adm, parts)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Current partition replica assignment\n\n%s\n\nSave this to use as the --reassignment-json-file option during rollback\n",
		formatReassignment(current))
	if throttle >= 0 {
		if err := setThrottles(ctx, adm, current, parts, throttle); err != nil {
			return err
		}
		fmt.Fprintln(w, "Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed.")
		fmt.Fprintf(w, "The inter-broker throttle limit was set to %d B/s\n", throttle)
	}
	req := kadm.AlterPartitionAssignmentsReq{}
	for _, p := range parts {
		req.Assign(p.Topic, p.Partition, p.Replicas)
	}
	res, err := adm.AlterPartitionAssignments(ctx, req)
	if err != nil {
		return err
	}
	var ok, errs []string
	for _, p := range parts {
		r := res[p.Topic][p.Partition]
		if r.Err != nil {
			msg := r.Err.Error()
			if r.ErrMessage != "" {
				msg += ": " + r.ErrMessage
			}
			errs = append(errs, fmt.Sprintf("%s: %s", tpName(p.Topic, p.Partition), msg))
			continue
		}
		ok = append(ok, tpName(p.Topic, p.Partition))
	}
	if len(ok) > 0 {
		fmt.Fprintf(w, "Successfully started partition reassignment%s for %s\n", plural(len(ok)), strings.Join(ok, ","))
	}
	if len(errs) > 0 {
		return fmt.Errorf("Error reassigning partition(s):\n%s", strings.Join(errs, "\n"))
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// setThrottles sets the throttles Kafka's tool sets: the rate on every broker a moving
// partition has or gets, leader-side throttled replicas = the current replicas (any may lead
// and serve the new ones), follower-side = the replicas being added.
func setThrottles(ctx context.Context, adm *kadm.Client, current, target []Reassignment, rate int64) error {
	var brokers []int32
	leaders, followers := map[string][]string{}, map[string][]string{}
	for i, cur := range current {
		tgt := target[i]
		if slices.Equal(cur.Replicas, tgt.Replicas) {
			continue
		}
		for _, id := range append(slices.Clone(cur.Replicas), tgt.Replicas...) {
			if !slices.Contains(brokers, id) {
				brokers = append(brokers, id)
			}
		}
		for _, id := range cur.Replicas {
			leaders[cur.Topic] = append(leaders[cur.Topic], fmt.Sprintf("%d:%d", cur.Partition, id))
		}
		for _, id := range tgt.Replicas {
			if !slices.Contains(cur.Replicas, id) {
				followers[cur.Topic] = append(followers[cur.Topic], fmt.Sprintf("%d:%d", cur.Partition, id))
			}
		}
	}
	if len(brokers) == 0 {
		return nil
	}
	v := strconv.FormatInt(rate, 10)
	res, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: leaderRate, Value: &v},
		{Op: kadm.SetConfig, Name: followerRate, Value: &v},
	}, brokers...)
	if err := alterErr(res, err); err != nil {
		return fmt.Errorf("setting the broker throttles: %w", err)
	}
	for topic, l := range leaders {
		lv, fv := strings.Join(l, ","), strings.Join(followers[topic], ",")
		res, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{
			{Op: kadm.SetConfig, Name: leaderReplicas, Value: &lv},
			{Op: kadm.SetConfig, Name: followerReplicas, Value: &fv},
		}, topic)
		if err := alterErr(res, err); err != nil {
			return fmt.Errorf("setting the throttled replicas of %s: %w", topic, err)
		}
	}
	return nil
}

// alterErr is the error of an AlterBrokerConfigs or AlterTopicConfigs: the request's own
// (err), or else the first resource's, with the broker's message.
func alterErr(res kadm.AlterConfigsResponses, err error) error {
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Err != nil {
			if r.ErrMessage != "" {
				return fmt.Errorf("%w: %s", r.Err, r.ErrMessage)
			}
			return r.Err
		}
	}
	return nil
}

// clearThrottles removes the throttles (kafka-reassign-partitions does it when a --verify or
// --cancel finds nothing left in progress): the rates from every broker, the throttled
// replicas from the topics named.
func clearThrottles(ctx context.Context, adm *kadm.Client, topics []string, w io.Writer) error {
	md, err := adm.BrokerMetadata(ctx)
	if err != nil {
		return err
	}
	var brokers []int32
	for _, b := range md.Brokers {
		brokers = append(brokers, b.NodeID)
	}
	slices.Sort(brokers)
	res, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.DeleteConfig, Name: leaderRate},
		{Op: kadm.DeleteConfig, Name: followerRate},
	}, brokers...)
	if err := alterErr(res, err); err != nil {
		return fmt.Errorf("clearing the broker throttles: %w", err)
	}
	fmt.Fprintf(w, "Clearing broker-level throttles on brokers %s\n", joinIDs(brokers))
	sort.Strings(topics)
	res, err = adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.DeleteConfig, Name: leaderReplicas},
		{Op: kadm.DeleteConfig, Name: followerReplicas},
	}, topics...)
	if err := alterErr(res, err); err != nil {
		return fmt.Errorf("clearing the topic throttles: %w", err)
	}
	fmt.Fprintf(w, "Clearing topic-level throttles on topic%s %s\n", plural(len(topics)), strings.Join(topics, ","))
	return nil
}

// fileTopics returns the topics of parts, each once, in the file's order.
func fileTopics(parts []Reassignment) []string {
	var topics []string
	for _, p := range parts {
		if !slices.Contains(topics, p.Topic) {
			topics = append(topics, p.Topic)
		}
	}
	return topics
}

func newReassignVerifyCommand(cf *clientflags.Flags) *cobra.Command {
	var preserve bool
	cmd := newReassignFileCommand(cf, &cobra.Command{
		Use:   "verify --reassignment-json-file F [--preserve-throttles]",
		Short: "Show whether the reassignments of a file are done; clear the throttles once they all are",
	}, func(cmd *cobra.Command, cl *kgo.Client, parts []Reassignment) error {
		return ReassignVerify(clientflags.Context(cmd), cl, parts, preserve, out.IsTerminal(cmd.OutOrStdout()), cmd.OutOrStdout())
	})
	cmd.Flags().BoolVar(&preserve, "preserve-throttles", false, "do not clear the throttles when the reassignments are done")
	return cmd
}

// ReassignVerify prints the state of every reassignment of parts (kafka-reassign-partitions
// --verify) and, when none is in progress and preserve is false, clears the throttles.
// progress adds, for each partition still moving, how far each adding replica has got (its
// size in bytes against the largest current replica's, from DescribeLogDirs): for people at
// a terminal.
func ReassignVerify(ctx context.Context, cl *kgo.Client, parts []Reassignment, preserve, progress bool, w io.Writer) error {
	adm := kadm.NewClient(cl)
	inProgress, err := listReassignments(ctx, cl)
	if err != nil {
		return err
	}
	current, err := currentReplicas(ctx, adm, parts)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "Status of partition reassignment:")
	done := true
	var moving []kadm.ListPartitionReassignmentsResponse
	for i, p := range parts {
		name := tpName(p.Topic, p.Partition)
		if r, ok := inProgress[p.Topic][p.Partition]; ok {
			done = false
			moving = append(moving, r)
			fmt.Fprintf(w, "Reassignment of partition %s is still in progress.\n", name)
			continue
		}
		if slices.Equal(current[i].Replicas, p.Replicas) {
			fmt.Fprintf(w, "Reassignment of partition %s is completed.\n", name)
		} else {
			fmt.Fprintf(w, "There is no active reassignment of partition %s, but replica set is %s rather than %s.\n",
				name, joinIDs(current[i].Replicas), joinIDs(p.Replicas))
		}
	}
	if progress && len(moving) > 0 {
		printProgress(ctx, adm, moving, w)
	}
	if done && !preserve {
		fmt.Fprintln(w)
		return clearThrottles(ctx, adm, fileTopics(parts), w)
	}
	return nil
}

// printProgress prints a bar per adding replica: its log's size against the largest size
// among the partition's other replicas.
func printProgress(ctx context.Context, adm *kadm.Client, moving []kadm.ListPartitionReassignmentsResponse, w io.Writer) {
	set := kadm.TopicsSet{}
	for _, m := range moving {
		set.Add(m.Topic, m.Partition)
	}
	dirs, err := adm.DescribeAllLogDirs(ctx, set)
	if err != nil {
		return
	}
	sizes := map[string]map[int32]int64{} // "t-p" -> broker -> size
	for _, ds := range dirs {
		ds.EachPartition(func(d kadm.DescribedLogDirPartition) {
			k := tpName(d.Topic, d.Partition)
			if sizes[k] == nil {
				sizes[k] = map[int32]int64{}
			}
			sizes[k][d.Broker] = d.Size
		})
	}
	fmt.Fprintln(w, "\nProgress of the replicas being added:")
	for _, m := range moving {
		k := tpName(m.Topic, m.Partition)
		var full int64
		for id, s := range sizes[k] {
			if !slices.Contains(m.AddingReplicas, id) {
				full = max(full, s)
			}
		}
		for _, id := range m.AddingReplicas {
			got := sizes[k][id]
			pct := 100.0
			if full > 0 {
				pct = min(100, 100*float64(got)/float64(full))
			}
			bar := strings.Repeat("#", int(pct/5)) + strings.Repeat(".", 20-int(pct/5))
			fmt.Fprintf(w, "  %s on broker %d [%s] %5.1f%% (%d of %d bytes)\n", k, id, bar, pct, got, full)
		}
	}
}

func newReassignCancelCommand(cf *clientflags.Flags) *cobra.Command {
	var preserve bool
	cmd := newReassignFileCommand(cf, &cobra.Command{
		Use:   "cancel --reassignment-json-file F [--preserve-throttles]",
		Short: "Cancel the reassignments of a file that are in progress",
	}, func(cmd *cobra.Command, cl *kgo.Client, parts []Reassignment) error {
		return ReassignCancel(clientflags.Context(cmd), cl, parts, preserve, cmd.OutOrStdout())
	})
	cmd.Flags().BoolVar(&preserve, "preserve-throttles", false, "do not clear the throttles")
	return cmd
}

// ReassignCancel cancels those reassignments of parts that are in progress
// (kafka-reassign-partitions --cancel) and clears the throttles unless preserve.
func ReassignCancel(ctx context.Context, cl *kgo.Client, parts []Reassignment, preserve bool, w io.Writer) error {
	adm := kadm.NewClient(cl)
	inProgress, err := listReassignments(ctx, cl)
	if err != nil {
		return err
	}
	req := kadm.AlterPartitionAssignmentsReq{}
	var names []string
	for _, p := range parts {
		if _, ok := inProgress[p.Topic][p.Partition]; ok {
			req.CancelAssign(p.Topic, p.Partition)
			names = append(names, tpName(p.Topic, p.Partition))
		}
	}
	if len(names) > 0 {
		res, err := adm.AlterPartitionAssignments(ctx, req)
		if err != nil {
			return err
		}
		if err := res.Error(); err != nil {
			return fmt.Errorf("Error cancelling partition reassignment(s): %w", err)
		}
		fmt.Fprintf(w, "Successfully cancelled partition reassignment%s for: %s\n", plural(len(names)), strings.Join(names, ","))
	} else {
		fmt.Fprintln(w, "None of the specified partition reassignments are active.")
	}
	if !preserve {
		return clearThrottles(ctx, adm, fileTopics(parts), w)
	}
	return nil
}

func newReassignListCommand(cf *clientflags.Flags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the partition reassignments in progress",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SilenceUsage = true
			cl, err := cf.NewClient()
			if err != nil {
				return err
			}
			defer cl.Close()
			return ReassignList(clientflags.Context(cmd), cl, cmd.OutOrStdout())
		},
	}
}

// ReassignList prints the reassignments in progress (kafka-reassign-partitions --list).
func ReassignList(ctx context.Context, cl *kgo.Client, w io.Writer) error {
	res, err := listReassignments(ctx, cl)
	if err != nil {
		return err
	}
	sorted := res.Sorted()
	if len(sorted) == 0 {
		fmt.Fprintln(w, "No partition reassignments found.")
		return nil
	}
	fmt.Fprintln(w, "Current partition reassignments:")
	for _, r := range sorted {
		fmt.Fprintf(w, "%s: replicas: %s. adding: %s. removing: %s.\n", tpName(r.Topic, r.Partition),
			joinIDs(r.Replicas), joinIDs(r.AddingReplicas), joinIDs(r.RemovingReplicas))
	}
	return nil
}

// listReassignments lists every reassignment in progress: a ListPartitionReassignments with
// a null topic list (kadm's asks only about the partitions it is given).
func listReassignments(ctx context.Context, cl *kgo.Client) (kadm.ListPartitionReassignmentsResponses, error) {
	req := kmsg.NewPtrListPartitionReassignmentsRequest()
	req.TimeoutMillis = 30000
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		if resp.ErrorMessage != nil {
			return nil, fmt.Errorf("%w: %s", err, *resp.ErrorMessage)
		}
		return nil, err
	}
	out := kadm.ListPartitionReassignmentsResponses{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if out[t.Topic] == nil {
				out[t.Topic] = map[int32]kadm.ListPartitionReassignmentsResponse{}
			}
			out[t.Topic][p.Partition] = kadm.ListPartitionReassignmentsResponse{Topic: t.Topic, Partition: p.Partition,
				Replicas: p.Replicas, AddingReplicas: p.AddingReplicas, RemovingReplicas: p.RemovingReplicas}
		}
	}
	return out, nil
}
