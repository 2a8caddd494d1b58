package group

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/gregorhq/gregor/internal/admin"
	"github.com/gregorhq/gregor/internal/cli/clientflags"
	"github.com/gregorhq/gregor/internal/cli/out"
)

// defaultAdminURL is admin.listeners' default.
const defaultAdminURL = "http://localhost:9644"

// errNoEvaluation is fetchLag's answer when the broker has seen no commit of the group.
var errNoEvaluation = fmt.Errorf("the broker has no lag evaluation of this group (no commit seen since it started)")

// fetchLag asks a broker's admin endpoint for a group's lag evaluation.
func fetchLag(ctx context.Context, adminURL, group string) (*admin.GroupLag, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, adminURL+"/api/v1/groups/"+url.PathEscape(group)+"/lag", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, errNoEvaluation
	default:
		return nil, fmt.Errorf("%s answered %s", adminURL, resp.Status)
	}
	var gl admin.GroupLag
	if err := json.NewDecoder(resp.Body).Decode(&gl); err != nil {
		return nil, fmt.Errorf("reading %s: %w", adminURL, err)
	}
	return &gl, nil
}

// partitionStatuses maps "topic/partition" to the evaluated status of each partition of the
// groups the admin endpoint knows; nil when the endpoint cannot be reached (then describe
// prints no STATUS column).
func partitionStatuses(ctx context.Context, adminURL string, groups []string) map[string]string {
	statuses := map[string]string{}
	for _, g := range groups {
		gl, err := fetchLag(ctx, adminURL, g)
		if err == errNoEvaluation {
			continue
		}
		if err != nil {
			return nil
		}
		for _, p := range gl.Partitions {
			statuses[statusKey(g, p.Topic, p.Partition)] = p.Status.String()
		}
	}
	return statuses
}

func statusKey(group, topic string, partition int32) string {
	return group + "\x00" + topic + "\x00" + strconv.Itoa(int(partition))
}

func newLagCommand() *cobra.Command {
	var (
		format   out.Format
		adminURL string
		watch    bool
		interval time.Duration
	)
	cmd := &cobra.Command{
		Use:   "lag GROUP",
		Short: "Show a group's lag as the broker evaluates it (Burrow's status, lag in records and seconds)",
		Example: `  gregor group lag orders-app
  gregor group lag orders-app --watch --interval 5s`,
		Args: clientflags.Positional("group", 1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SilenceUsage = true
			ctx := clientflags.Context(cmd)
			w := cmd.OutOrStdout()
			redraw := watch && out.IsTerminal(w) && format != out.JSON
			for {
				gl, err := fetchLag(ctx, adminURL, args[0])
				if err != nil {
					return fmt.Errorf("group %q: %w", args[0], err)
				}
				if redraw {
					io.WriteString(w, "\033[H\033[2J") // home, clear screen
				}
				if err := writeLag(w, format, gl); err != nil {
					return err
				}
				if !watch {
					return nil
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(interval):
				}
				if !redraw {
					fmt.Fprintln(w)
				}
			}
		},
	}
	out.AddFormatFlag(cmd.Flags(), &format)
	cmd.Flags().StringVar(&adminURL, "admin-url", defaultAdminURL, "the broker's admin endpoint (admin.listeners)")
	cmd.Flags().BoolVar(&watch, "watch", false, "print the table again every --interval (redrawn on a terminal)")
	cmd.Flags().DurationVar(&interval, "interval", 2*time.Second, "with --watch: time between tables")
	return cmd
}

// writeLag prints one evaluation: a group line, then one row per partition.
func writeLag(w io.Writer, format out.Format, gl *admin.GroupLag) error {
	if format == out.JSON {
		return out.WriteJSON(w, gl)
	}
	fmt.Fprintf(w, "GROUP %s  STATUS %s  TOTAL-LAG %d  MAX-LAG-SECONDS %.1f\n", gl.Group, gl.Status, gl.TotalLag, gl.MaxLagSeconds)
	t := out.NewTable(w, "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "LAG-SECONDS", "STATUS")
	for _, p := range gl.Partitions {
		leo := "-"
		if p.LogEndOffset >= 0 {
			leo = strconv.FormatInt(p.LogEndOffset, 10)
		}
		t.Row(p.Topic, p.Partition, p.CommittedOffset, leo, p.Lag, strconv.FormatFloat(p.LagSeconds, 'f', 1, 64), p.Status)
	}
	return t.Flush()
}
