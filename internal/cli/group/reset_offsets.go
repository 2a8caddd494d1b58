package group

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
	"github.com/gregorhq/gregor/internal/cli/out"
)

// resetRow is one partition in "group reset-offsets": Kafka's GROUP TOPIC
// PARTITION NEW-OFFSET.
type resetRow struct {
	Group     string `json:"group"`
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	NewOffset int64  `json:"new_offset"`
}

// resetSpec is the one --to-... or --shift-by option given.
type resetSpec struct {
	earliest, latest, current bool
	toOffset, shiftBy         int64
	toDatetime                string
	toOffsetSet, shiftBySet   bool
}

// resetOptions are the flags of "group reset-offsets".
type resetOptions struct {
	format    out.Format
	group     string
	topics    []string
	allTopics bool
	execute   bool
	dryRun    bool
	// share is set by plan for a share group: its start offsets are altered
	// (AlterShareGroupOffsets) rather than offsets committed.
	share bool
	spec  resetSpec
}

func newResetOffsetsCommand(cf *clientflags.Flags) *cobra.Command {
	var o resetOptions
	cmd := &cobra.Command{
		Use:   "reset-offsets",
		Short: "Move an inactive group's committed offsets (a dry run unless --execute)",
		Long: `Move an inactive group's committed offsets.

Choose the partitions with --topic TOPIC, --topic TOPIC:P1,P2 or --all-topics
(the topics the group has offsets for), and the new position with exactly one
of --to-earliest, --to-latest, --to-current, --to-offset N, --shift-by N or
--to-datetime YYYY-MM-DDTHH:mm:SS[.sss][zone]. New offsets are kept within each
partition's start and end. Without --execute nothing changes: the plan is
printed (--dry-run, the default).`,
		Example: `  gregor group reset-offsets --group app --topic orders --to-earliest
  gregor group reset-offsets --group app --all-topics --shift-by -10 --execute
  gregor group reset-offsets --group app --topic orders:0 --to-datetime 2026-01-02T15:04:05Z --execute`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SilenceUsage = true
			fl := cmd.Flags()
			o.spec.toOffsetSet, o.spec.shiftBySet = fl.Changed("to-offset"), fl.Changed("shift-by")
			if err := o.validate(); err != nil {
				return err
			}
			adm, err := cf.NewAdmin()
			if err != nil {
				return err
			}
			defer adm.Close()
			rows, err := o.plan(clientflags.Context(cmd), adm)
			if err != nil {
				return err
			}
			if o.execute {
				commit := commitReset
				if o.share {
					commit = alterShareReset
				}
				if err := commit(clientflags.Context(cmd), adm, o.group, rows, cmd.ErrOrStderr()); err != nil {
					return err
				}
			} else if !o.dryRun && o.format != out.JSON {
				fmt.Fprintln(cmd.ErrOrStderr(), "Dry run: nothing was changed; add --execute to apply these offsets.")
			}
			return writeReset(cmd.OutOrStdout(), o.format, rows)
		},
	}
	out.AddFormatFlag(cmd.Flags(), &o.format)
	fl := cmd.Flags()
	fl.StringVar(&o.group, "group", "", "the group whose offsets to reset")
	fl.StringArrayVar(&o.topics, "topic", nil, "TOPIC or TOPIC:P1,P2 (repeatable)")
	fl.BoolVar(&o.allTopics, "all-topics", false, "every topic the group has committed offsets for")
	fl.BoolVar(&o.execute, "execute", false, "apply the new offsets")
	fl.BoolVar(&o.dryRun, "dry-run", false, "only print the new offsets (the default)")
	fl.BoolVar(&o.spec.earliest, "to-earliest", false, "reset to each partition's start")
	fl.BoolVar(&o.spec.latest, "to-latest", false, "reset to each partition's end")
	fl.BoolVar(&o.spec.current, "to-current", false, "reset to the current committed offset")
	fl.Int64Var(&o.spec.toOffset, "to-offset", 0, "reset to this offset")
	fl.Int64Var(&o.spec.shiftBy, "shift-by", 0, "move the committed offset by N (negative: back)")
	fl.StringVar(&o.spec.toDatetime, "to-datetime", "", "reset to the first offset at or after this time (YYYY-MM-DDTHH:mm:SS[.sss][zone])")
	return cmd
}

func (o *resetOptions) validate() error {
	switch {
	case o.group == "":
		return errors.New("--group is required")
	case o.execute && o.dryRun:
		return errors.New("--execute and --dry-run cannot be given together")
	case o.allTopics && len(o.topics) > 0:
		return errors.New("--all-topics and --topic cannot be given together")
	case !o.allTopics && len(o.topics) == 0:
		return errors.New("name the partitions with --topic TOPIC[:P1,P2] or --all-topics")
	}
	s := o.spec
	n := 0
	for _, set := range []bool{s.earliest, s.latest, s.current, s.toOffsetSet, s.shiftBySet, s.toDatetime != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return errors.New("give exactly one of --to-earliest, --to-latest, --to-current, --to-offset, --shift-by, --to-datetime")
	}
	if s.toOffsetSet && s.toOffset < 0 {
		return fmt.Errorf("--to-offset %d: must not be negative", s.toOffset)
	}
	if s.toDatetime != "" {
		if _, err := parseDatetime(s.toDatetime); err != nil {
			return err
		}
	}
	return nil
}

// datetimeLayouts are the forms --to-datetime accepts: Kafka's
// yyyy-MM-dd'T'HH:mm:ss.SSS with an optional zone, and the same without
// milliseconds. A time without zone is local, as in Kafka's tool.
var datetimeLayouts = []string{
	"2006-01-02T15:04:05.000Z07:00", "2006-01-02T15:04:05.000Z0700", "2006-01-02T15:04:05.000",
	"2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05",
}

func parseDatetime(s string) (time.Time, error) {
	for _, layout := range datetimeLayouts {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--to-datetime %q: want YYYY-MM-DDTHH:mm:SS[.sss] with an optional zone such as Z or +01:00", s)
}

// plan computes the new offsets; it refuses a group that has members, as
// Kafka's tool does, since their commits would overwrite the reset. A share
// group's (KIP-932) offsets are its start offsets; it must be empty too, as
// kafka-share-groups requires.
func (o *resetOptions) plan(ctx context.Context, adm *kadm.Client) ([]resetRow, error) {
	described, err := adm.DescribeGroups(ctx, o.group)
	if err != nil {
		return nil, fmt.Errorf("group %q: %w", o.group, err)
	}
	if g, ok := described[o.group]; ok {
		if g.Err != nil {
			return nil, fmt.Errorf("group %q: %w", o.group, g.Err)
		}
		if g.State != "Empty" && g.State != "Dead" {
			return nil, fmt.Errorf("assignments can only be reset if the group '%s' is inactive, but the current state is %s", o.group, g.State)
		}
	}
	committed, err := o.committed(ctx, adm)
	if err != nil {
		return nil, err
	}
	var set kadm.TopicsSet
	if o.allTopics {
		set = make(kadm.TopicsSet)
		for t, ps := range committed {
			for p, at := range ps {
				if at >= 0 {
					set.Add(t, p)
				}
			}
		}
	} else if set, err = resolveTopics(ctx, adm, o.topics); err != nil {
		return nil, err
	}
	topics := set.Topics()
	if len(topics) == 0 {
		return nil, nil
	}
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("listing start offsets: %w", err)
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("listing end offsets: %w", err)
	}
	var byTime kadm.ListedOffsets
	if o.spec.toDatetime != "" {
		t, _ := parseDatetime(o.spec.toDatetime)
		if byTime, err = adm.ListOffsetsAfterMilli(ctx, t.UnixMilli(), topics...); err != nil {
			return nil, fmt.Errorf("listing offsets by time: %w", err)
		}
	}
	var rows []resetRow
	for _, tp := range sortedPartitions(set) {
		for _, p := range tp.Partitions {
			start, ok1 := starts.Lookup(tp.Topic, p)
			end, ok2 := ends.Lookup(tp.Topic, p)
			if !ok1 || !ok2 || start.Err != nil || end.Err != nil {
				return nil, fmt.Errorf("topic %q partition %d: %w", tp.Topic, p, errors.Join(start.Err, end.Err, errIfMissing(ok1 && ok2)))
			}
			cur, ok := committed[tp.Topic][p]
			if !ok {
				cur = -1
			}
			next, err := o.spec.newOffset(cur, start.Offset, end.Offset, byTime, tp.Topic, p)
			if err != nil {
				return nil, err
			}
			rows = append(rows, resetRow{Group: o.group, Topic: tp.Topic, Partition: p, NewOffset: next})
		}
	}
	return rows, nil
}

// committed returns the group's committed offsets (-1 where there is none), or
// a share group's start offsets; it sets o.share for a share group, which must
// then be empty.
func (o *resetOptions) committed(ctx context.Context, adm *kadm.Client) (map[string]map[int32]int64, error) {
	out := map[string]map[int32]int64{}
	add := func(t string, p int32, at int64) {
		if out[t] == nil {
			out[t] = map[int32]int64{}
		}
		out[t][p] = at
	}
	if sg, err := adm.DescribeShareGroups(ctx, o.group); err == nil && sg[o.group].Err == nil && sg[o.group].GroupID == o.group {
		if st := sg[o.group].GroupState; st != "Empty" {
			return nil, fmt.Errorf("share group '%s' is not empty (state %s): its start offsets can only be reset without members", o.group, st)
		}
		o.share = true
		d, err := adm.DescribeShareGroupOffsets(ctx, o.group)
		if err == nil {
			err = d[o.group].Err
		}
		if err != nil {
			return nil, fmt.Errorf("share group %q: describing start offsets: %w", o.group, err)
		}
		d[o.group].Offsets.Each(func(so kadm.ShareOffset) {
			if so.Err == nil {
				add(so.Topic, so.Partition, so.StartOffset)
			}
		})
		return out, nil
	}
	committed, err := adm.FetchOffsets(ctx, o.group)
	if err != nil {
		return nil, fmt.Errorf("group %q: fetching committed offsets: %w", o.group, err)
	}
	committed.Each(func(r kadm.OffsetResponse) {
		if r.Err == nil {
			add(r.Topic, r.Partition, r.At)
		}
	})
	return out, nil
}

func errIfMissing(ok bool) error {
	if ok {
		return nil
	}
	return errors.New("partition not found")
}

// newOffset applies the spec to one partition whose committed offset is cur
// (-1: none) and whose log spans [start, end]; the result is clamped into it.
func (s resetSpec) newOffset(cur, start, end int64, byTime kadm.ListedOffsets, topic string, p int32) (int64, error) {
	var next int64
	switch {
	case s.earliest:
		next = start
	case s.latest:
		next = end
	case s.current:
		if cur < 0 {
			return 0, fmt.Errorf("topic %q partition %d: the group has no committed offset to keep", topic, p)
		}
		next = cur
	case s.toOffsetSet:
		next = s.toOffset
	case s.shiftBySet:
		if cur < 0 {
			return 0, fmt.Errorf("topic %q partition %d: the group has no committed offset to shift", topic, p)
		}
		next = cur + s.shiftBy
	default:
		o, ok := byTime.Lookup(topic, p)
		if !ok || o.Err != nil || o.Offset < 0 {
			next = end
		} else {
			next = o.Offset
		}
	}
	return min(max(next, start), end), nil
}

// commitChunk is how many partitions' offsets one OffsetCommit carries: a reset of many
// partitions goes in several, with a progress line between them on a terminal.
const commitChunk = 1000

// commitReset commits the rows' offsets; progress goes to w when it is a terminal.
func commitReset(ctx context.Context, adm *kadm.Client, group string, rows []resetRow, w io.Writer) error {
	p := out.NewProgress(w, "committing offsets:", int64(len(rows)))
	defer p.Done()
	for len(rows) > 0 {
		n := min(len(rows), commitChunk)
		offsets := make(kadm.Offsets)
		for _, r := range rows[:n] {
			offsets.AddOffset(r.Topic, r.Partition, r.NewOffset, -1)
		}
		if err := adm.CommitAllOffsets(ctx, group, offsets); err != nil {
			return fmt.Errorf("group %q: committing the new offsets: %w", group, err)
		}
		p.Add(int64(n))
		rows = rows[n:]
	}
	return nil
}

// alterShareReset sets a share group's start offsets to the rows' offsets.
func alterShareReset(ctx context.Context, adm *kadm.Client, group string, rows []resetRow, _ io.Writer) error {
	if len(rows) == 0 {
		return nil
	}
	offsets := make(kadm.Offsets)
	for _, r := range rows {
		offsets.AddOffset(r.Topic, r.Partition, r.NewOffset, -1)
	}
	res, err := adm.AlterShareGroupOffsets(ctx, group, offsets)
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		return fmt.Errorf("share group %q: altering the start offsets: %w", group, err)
	}
	return nil
}

func writeReset(w io.Writer, format out.Format, rows []resetRow) error {
	if format == out.JSON {
		if rows == nil {
			rows = []resetRow{}
		}
		return out.WriteJSON(w, rows)
	}
	t := out.NewTable(w, "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET")
	for _, r := range rows {
		t.Row(r.Group, r.Topic, r.Partition, r.NewOffset)
	}
	return t.Flush()
}
