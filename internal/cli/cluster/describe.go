package cluster

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
	"github.com/gregorhq/gregor/internal/cli/out"
)

// Description is what "gregor cluster describe" reports (also its JSON form).
type Description struct {
	ClusterID  string   `json:"cluster_id"`
	Controller int32    `json:"controller"`
	Brokers    []Broker `json:"brokers"`
	// Partitions counts every partition; UnderReplicated those whose ISR is smaller than their
	// replica set; Offline those without a leader.
	Partitions      int `json:"partitions"`
	UnderReplicated int `json:"under_replicated_partitions"`
	Offline         int `json:"offline_partitions"`
}

// Broker is one broker. A broker that is a replica of some partition but that Metadata does
// not list is fenced (or gone): it has no address.
type Broker struct {
	ID     int32  `json:"id"`
	Host   string `json:"host,omitempty"`
	Port   int32  `json:"port,omitempty"`
	Rack   string `json:"rack,omitempty"`
	Fenced bool   `json:"fenced"`
}

func newDescribeCommand(cf *clientflags.Flags) *cobra.Command {
	var format out.Format
	cmd := &cobra.Command{
		Use:   "describe",
		Short: "Show the brokers (rack, fenced), the active controller and partition health",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			adm, err := cf.NewAdmin()
			if err != nil {
				return err
			}
			defer adm.Close()
			m, err := adm.Metadata(clientflags.Context(cmd))
			if err != nil {
				return fmt.Errorf("metadata: %w", err)
			}
			d := Description{ClusterID: m.Cluster, Controller: m.Controller}
			known := map[int32]bool{}
			for _, b := range m.Brokers {
				br := Broker{ID: b.NodeID, Host: b.Host, Port: b.Port}
				if b.Rack != nil {
					br.Rack = *b.Rack
				}
				d.Brokers = append(d.Brokers, br)
				known[b.NodeID] = true
			}
			for _, t := range m.Topics {
				for _, p := range t.Partitions {
					d.Partitions++
					if len(p.ISR) < len(p.Replicas) {
						d.UnderReplicated++
					}
					if p.Leader < 0 {
						d.Offline++
					}
					for _, r := range slices.Concat(p.Replicas, p.OfflineReplicas) {
						if !known[r] {
							known[r] = true
							d.Brokers = append(d.Brokers, Broker{ID: r, Fenced: true})
						}
					}
				}
			}
			slices.SortFunc(d.Brokers, func(a, b Broker) int { return int(a.ID) - int(b.ID) })
			w := cmd.OutOrStdout()
			if format == out.JSON {
				return out.WriteJSON(w, d)
			}
			fmt.Fprintf(w, "CLUSTER           %s\nCONTROLLER        %d\n\n", d.ClusterID, d.Controller)
			tb := out.NewTable(w, "id", "host", "port", "rack", "status")
			for _, b := range d.Brokers {
				status, host, port := "active", b.Host, fmt.Sprint(b.Port)
				if b.Fenced {
					status, host, port = "fenced", "-", "-"
				}
				if b.ID == d.Controller {
					status += ",controller"
				}
				rack := b.Rack
				if rack == "" {
					rack = "-"
				}
				tb.Row(b.ID, host, port, rack, status)
			}
			if err := tb.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(w, "\nPARTITIONS        %d\nUNDER-REPLICATED  %d\nOFFLINE           %d\n", d.Partitions, d.UnderReplicated, d.Offline)
			return nil
		},
	}
	out.AddFormatFlag(cmd.Flags(), &format)
	return cmd
}
