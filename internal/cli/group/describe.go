package group

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
	"github.com/gregorhq/gregor/internal/cli/out"
)

// offsetRow is one partition of a group in the default (offsets) view: Kafka's
// GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST
// CLIENT-ID. Unknown values are nil (printed "-").
type offsetRow struct {
	Group         string `json:"group"`
	Topic         string `json:"topic"`
	Partition     int32  `json:"partition"`
	CurrentOffset *int64 `json:"current_offset"`
	LogEndOffset  *int64 `json:"log_end_offset"`
	Lag           *int64 `json:"lag"`
	ConsumerID    string `json:"consumer_id"`
	Host          string `json:"host"`
	ClientID      string `json:"client_id"`
	// Status is the broker's lag evaluation of the partition (Burrow's statuses), when the
	// admin endpoint answered.
	Status string `json:"status,omitempty"`
}

// memberRow is one member in the --members view.
type memberRow struct {
	Group      string   `json:"group"`
	ConsumerID string   `json:"consumer_id"`
	InstanceID string   `json:"group_instance_id,omitempty"`
	Host       string   `json:"host"`
	ClientID   string   `json:"client_id"`
	Partitions int      `json:"partitions"`
	Assignment []string `json:"assignment"`
}

// stateRow is one group in the --state view.
type stateRow struct {
	Group       string `json:"group"`
	Coordinator string `json:"coordinator"`
	Strategy    string `json:"assignment_strategy"`
	State       string `json:"state"`
	Members     int    `json:"members"`
}

func newDescribeCommand(cf *clientflags.Flags) *cobra.Command {
	var (
		format   out.Format
		groups   []string
		all      bool
		members  bool
		state    bool
		verbose  bool
		adminURL string
	)
	cmd := &cobra.Command{
		Use:   "describe [GROUP...]",
		Short: "Show a group's committed offsets and lag, its members (--members) or its state (--state)",
		Example: `  gregor group describe --group orders-app
  gregor group describe orders-app --members --verbose
  gregor group describe --all-groups --state`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SilenceUsage = true
			if members && state {
				return errors.New("--members and --state cannot be given together")
			}
			adm, err := cf.NewAdmin()
			if err != nil {
				return err
			}
			defer adm.Close()
			ctx := clientflags.Context(cmd)
			names, err := groupsFrom(ctx, adm, groups, args, all)
			if err != nil {
				return err
			}
			lags, err := adm.Lag(ctx, names...)
			if err != nil {
				return fmt.Errorf("describing groups: %w", err)
			}
			completeConsumerGroups(ctx, adm, lags)
			shared := completeShareGroups(ctx, adm, lags)
			completeShareOffsets(ctx, adm, lags)
			var errs []error
			var described []kadm.DescribedGroupLag
			for _, name := range names {
				l, ok := lags[name]
				switch {
				case !ok:
					errs = append(errs, fmt.Errorf("group %q: not described", name))
				case l.Error() != nil:
					errs = append(errs, fmt.Errorf("group %q: %w", name, l.Error()))
				case l.State == "Dead":
					errs = append(errs, fmt.Errorf("group %q does not exist", name))
				default:
					described = append(described, l)
				}
			}
			w := cmd.OutOrStdout()
			switch {
			case members:
				err = writeMembers(w, format, memberRows(described, shared), verbose)
			case state:
				err = writeStates(w, format, stateRows(described))
			default:
				for _, l := range described {
					if len(l.Members) == 0 && format != out.JSON {
						fmt.Fprintf(cmd.ErrOrStderr(), "Consumer group '%s' has no active members.\n", l.Group)
					}
				}
				rows := offsetRows(described)
				statuses := partitionStatuses(ctx, adminURL, names)
				for i, r := range rows {
					if statuses != nil {
						rows[i].Status = statuses[statusKey(r.Group, r.Topic, r.Partition)]
						if rows[i].Status == "" {
							rows[i].Status = "-"
						}
					}
				}
				err = writeOffsets(w, format, rows)
			}
			return errors.Join(append(errs, err)...)
		},
	}
	out.AddFormatFlag(cmd.Flags(), &format)
	fl := cmd.Flags()
	fl.StringArrayVar(&groups, "group", nil, "group to describe (repeatable)")
	fl.BoolVar(&all, "all-groups", false, "describe every group")
	fl.BoolVar(&members, "members", false, "show the group's members")
	fl.BoolVar(&state, "state", false, "show the group's state, coordinator and assignment strategy")
	fl.BoolVar(&verbose, "verbose", false, "with --members: show each member's assignment")
	fl.Bool("offsets", true, "show committed offsets and lag (the default view)")
	fl.StringVar(&adminURL, "admin-url", defaultAdminURL, "the broker's admin endpoint; when it answers, a STATUS column shows its lag evaluation")
	return cmd
}

func ptr(v int64) *int64 { return &v }

// offsetRows flattens the groups' lag into rows sorted by group, topic and partition.
func offsetRows(groups []kadm.DescribedGroupLag) []offsetRow {
	var rows []offsetRow
	for _, g := range groups {
		for _, l := range g.Lag.Sorted() {
			r := offsetRow{Group: g.Group, Topic: l.Topic, Partition: l.Partition}
			if l.Commit.At >= 0 {
				r.CurrentOffset = ptr(l.Commit.At)
			}
			if l.End.Err == nil && l.End.Offset >= 0 {
				r.LogEndOffset = ptr(l.End.Offset)
			}
			if r.CurrentOffset != nil && r.LogEndOffset != nil && l.Lag >= 0 {
				r.Lag = ptr(l.Lag)
			}
			if m := l.Member; m != nil {
				r.ConsumerID, r.Host, r.ClientID = m.MemberID, m.ClientHost, m.ClientID
			}
			rows = append(rows, r)
		}
	}
	return rows
}

func memberRows(groups []kadm.DescribedGroupLag, shared shareAssignments) []memberRow {
	var rows []memberRow
	for _, g := range groups {
		for _, m := range g.Members {
			r := memberRow{Group: g.Group, ConsumerID: m.MemberID, Host: m.ClientHost, ClientID: m.ClientID, Assignment: []string{}}
			if m.InstanceID != nil {
				r.InstanceID = *m.InstanceID
			}
			if c, ok := m.Assigned.AsConsumer(); ok {
				for _, t := range c.Topics {
					ps := append([]int32(nil), t.Partitions...)
					sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
					r.Partitions += len(ps)
					r.Assignment = append(r.Assignment, t.Topic+"("+joinInts(ps)+")")
				}
			} else if g.ProtocolType == "share" {
				for _, t := range shared[g.Group][m.MemberID].Sorted() {
					r.Partitions += len(t.Partitions)
					r.Assignment = append(r.Assignment, t.Topic+"("+joinInts(t.Partitions)+")")
				}
			} else if g.ProtocolType == "consumer" {
				for _, t := range assignedFromLag(g.Lag, m.MemberID).Sorted() {
					r.Partitions += len(t.Partitions)
					r.Assignment = append(r.Assignment, t.Topic+"("+joinInts(t.Partitions)+")")
				}
			}
			sort.Strings(r.Assignment)
			rows = append(rows, r)
		}
	}
	return rows
}

func stateRows(groups []kadm.DescribedGroupLag) []stateRow {
	rows := make([]stateRow, 0, len(groups))
	for _, g := range groups {
		c := g.Coordinator
		rows = append(rows, stateRow{
			Group:       g.Group,
			Coordinator: net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))) + " (" + strconv.Itoa(int(c.NodeID)) + ")",
			Strategy:    g.Protocol,
			State:       g.State,
			Members:     len(g.Members),
		})
	}
	return rows
}

func joinInts(ps []int32) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = strconv.Itoa(int(p))
	}
	return strings.Join(s, ",")
}

func optInt(v *int64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatInt(*v, 10)
}

// writeOffsets prints Kafka's offsets table (one table for all groups).
func writeOffsets(w io.Writer, format out.Format, rows []offsetRow) error {
	if format == out.JSON {
		if rows == nil {
			rows = []offsetRow{}
		}
		return out.WriteJSON(w, rows)
	}
	headers := []string{"GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"}
	// The STATUS column is there only when the admin endpoint answered.
	withStatus := len(rows) > 0 && rows[0].Status != ""
	if withStatus {
		headers = append(headers, "STATUS")
	}
	t := out.NewTable(w, headers...)
	for _, r := range rows {
		cells := []any{r.Group, r.Topic, r.Partition, optInt(r.CurrentOffset), optInt(r.LogEndOffset), optInt(r.Lag), dash(r.ConsumerID), dash(r.Host), dash(r.ClientID)}
		if withStatus {
			cells = append(cells, r.Status)
		}
		t.Row(cells...)
	}
	return t.Flush()
}

func writeMembers(w io.Writer, format out.Format, rows []memberRow, verbose bool) error {
	if format == out.JSON {
		if rows == nil {
			rows = []memberRow{}
		}
		return out.WriteJSON(w, rows)
	}
	headers := []string{"GROUP", "CONSUMER-ID", "GROUP-INSTANCE-ID", "HOST", "CLIENT-ID", "#PARTITIONS"}
	if verbose {
		headers = append(headers, "ASSIGNMENT")
	}
	t := out.NewTable(w, headers...)
	for _, r := range rows {
		cells := []any{r.Group, r.ConsumerID, dash(r.InstanceID), dash(r.Host), dash(r.ClientID), r.Partitions}
		if verbose {
			cells = append(cells, dash(strings.Join(r.Assignment, ",")))
		}
		t.Row(cells...)
	}
	return t.Flush()
}

func writeStates(w io.Writer, format out.Format, rows []stateRow) error {
	if format == out.JSON {
		return out.WriteJSON(w, rows)
	}
	t := out.NewTable(w, "GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS")
	for _, r := range rows {
		t.Row(r.Group, r.Coordinator, dash(r.Strategy), r.State, r.Members)
	}
	return t.Flush()
}
