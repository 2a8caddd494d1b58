// Package quota implements "gregor quota": client quotas by user and client id, and
// connection quotas by IP address, as kafka-configs --entity-type users|clients|ips manages
// them:
//
//	gregor quota set --user alice [--client-id app] --add-config producer_byte_rate=1048576,consumer_byte_rate=2097152
//	gregor quota set --client-default --delete-config producer_byte_rate
//	gregor quota set --ip 192.0.2.7 --add-config connection_creation_rate=10
//	gregor quota describe [--user alice] [--client-id app] [--ip 192.0.2.7 | --ip-default]
//
// Keys: producer_byte_rate, consumer_byte_rate, request_percentage for users and client ids;
// connection_creation_rate for IP addresses (an IP entity stands alone: Kafka's rule, which
// the broker enforces too).
package quota

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
	"github.com/gregorhq/gregor/internal/cli/out"
)

// NewCommand returns the "quota" command and its verbs.
func NewCommand() *cobra.Command {
	var cf clientflags.Flags
	cmd := &cobra.Command{
		Use:   "quota",
		Short: "Set and describe client quotas (by user and client id) and connection quotas (by IP)",
	}
	cf.Register(cmd.PersistentFlags())
	cmd.AddCommand(newSetCommand(&cf), newDescribeCommand(&cf))
	return cmd
}

// entityFlags name a quota entity.
type entityFlags struct {
	user, clientID, ip                    string
	userDefault, clientDefault, ipDefault bool
}

func (e *entityFlags) register(f *pflag.FlagSet) {
	f.StringVar(&e.user, "user", "", "user name")
	f.StringVar(&e.clientID, "client-id", "", "client id")
	f.BoolVar(&e.userDefault, "user-default", false, "the default of every user")
	f.BoolVar(&e.clientDefault, "client-default", false, "the default of every client id")
	f.StringVar(&e.ip, "ip", "", "IP address (connection_creation_rate)")
	f.BoolVar(&e.ipDefault, "ip-default", false, "the default of every IP address")
}

// check rejects flags that contradict each other, and an IP that is not one.
func (e *entityFlags) check() error {
	switch {
	case e.user != "" && e.userDefault:
		return errors.New("--user and --user-default exclude each other")
	case e.clientID != "" && e.clientDefault:
		return errors.New("--client-id and --client-default exclude each other")
	case e.ip != "" && e.ipDefault:
		return errors.New("--ip and --ip-default exclude each other")
	case (e.ip != "" || e.ipDefault) && (e.user != "" || e.userDefault || e.clientID != "" || e.clientDefault):
		return errors.New("an IP quota stands alone: --ip and --ip-default exclude --user and --client-id")
	case e.ip != "" && net.ParseIP(e.ip) == nil:
		return fmt.Errorf("--ip %q: not an IP address", e.ip)
	}
	return nil
}

func (e *entityFlags) entity() (kadm.ClientQuotaEntity, error) {
	var ent kadm.ClientQuotaEntity
	if err := e.check(); err != nil {
		return nil, err
	}
	if e.user != "" || e.userDefault {
		c := kadm.ClientQuotaEntityComponent{Type: "user"}
		if e.user != "" {
			c.Name = &e.user
		}
		ent = append(ent, c)
	}
	if e.clientID != "" || e.clientDefault {
		c := kadm.ClientQuotaEntityComponent{Type: "client-id"}
		if e.clientID != "" {
			c.Name = &e.clientID
		}
		ent = append(ent, c)
	}
	if e.ip != "" || e.ipDefault {
		c := kadm.ClientQuotaEntityComponent{Type: "ip"}
		if e.ip != "" {
			c.Name = &e.ip
		}
		ent = append(ent, c)
	}
	return ent, nil
}

func newSetCommand(cf *clientflags.Flags) *cobra.Command {
	var e entityFlags
	var add, del string
	cmd := &cobra.Command{
		Use:   "set",
		Short: "Set (--add-config k=v,...) or remove (--delete-config k,...) quotas of a user and/or client id, or of an IP",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ent, err := e.entity()
			if err != nil {
				return err
			}
			if len(ent) == 0 {
				return errors.New("name an entity: --user, --user-default, --client-id, --client-default, --ip or --ip-default")
			}
			ops, err := ParseOps(add, del)
			if err != nil {
				return err
			}
			if len(ops) == 0 {
				return errors.New("nothing to change: give --add-config or --delete-config")
			}
			adm, err := cf.NewAdmin()
			if err != nil {
				return err
			}
			defer adm.Close()
			res, err := adm.AlterClientQuotas(clientflags.Context(cmd), []kadm.AlterClientQuotaEntry{{Entity: ent, Ops: ops}})
			if err != nil {
				return err
			}
			for _, r := range res {
				if r.Err != nil {
					err := r.Err
					if r.ErrMessage != "" {
						err = fmt.Errorf("%w: %s", err, r.ErrMessage) // the broker's reason
					}
					return fmt.Errorf("setting quotas of %s: %w", r.Entity, err)
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Updated quotas of %s.\n", ent)
			return nil
		},
	}
	e.register(cmd.Flags())
	cmd.Flags().StringVar(&add, "add-config", "", "quotas to set: producer_byte_rate=N,consumer_byte_rate=N,... (an IP: connection_creation_rate=N)")
	cmd.Flags().StringVar(&del, "delete-config", "", "quotas to remove: producer_byte_rate,...")
	return cmd
}

// ParseOps parses kafka-configs' --add-config k=v,... and --delete-config k,... for quotas.
func ParseOps(add, del string) ([]kadm.AlterClientQuotaOp, error) {
	var ops []kadm.AlterClientQuotaOp
	for _, kv := range splitList(add) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("--add-config %q: want key=value", kv)
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return nil, fmt.Errorf("--add-config %s: %q is not a number", k, v)
		}
		ops = append(ops, kadm.AlterClientQuotaOp{Key: strings.TrimSpace(k), Value: f})
	}
	for _, k := range splitList(del) {
		ops = append(ops, kadm.AlterClientQuotaOp{Key: k, Remove: true})
	}
	return ops, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Described is one entity's quotas as describe prints them.
type Described struct {
	Entity string             `json:"entity"`
	Quotas map[string]float64 `json:"quotas"`
}

func newDescribeCommand(cf *clientflags.Flags) *cobra.Command {
	var e entityFlags
	var format out.Format
	cmd := &cobra.Command{
		Use:   "describe",
		Short: "Describe client quotas (all, or those of the user and/or client id, or the IP, given)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := e.check(); err != nil {
				return err
			}
			var comps []kadm.DescribeClientQuotaComponent
			add := func(typ, name string, def bool) {
				switch {
				case name != "":
					comps = append(comps, kadm.DescribeClientQuotaComponent{Type: typ, MatchType: 0, MatchName: &name})
				case def:
					comps = append(comps, kadm.DescribeClientQuotaComponent{Type: typ, MatchType: 1})
				}
			}
			add("user", e.user, e.userDefault)
			add("client-id", e.clientID, e.clientDefault)
			add("ip", e.ip, e.ipDefault)
			adm, err := cf.NewAdmin()
			if err != nil {
				return err
			}
			defer adm.Close()
			described, err := adm.DescribeClientQuotas(clientflags.Context(cmd), false, comps)
			if err != nil {
				return err
			}
			list := []Described{}
			for _, d := range described {
				q := map[string]float64{}
				for _, v := range d.Values {
					q[v.Key] = v.Value
				}
				list = append(list, Described{Entity: entityString(d.Entity), Quotas: q})
			}
			return printQuotas(cmd.OutOrStdout(), format, list)
		},
	}
	e.register(cmd.Flags())
	out.AddFormatFlag(cmd.Flags(), &format)
	return cmd
}

// entityString prints an entity as kafka-configs does: user=alice,client-id=<default>.
func entityString(ent kadm.ClientQuotaEntity) string {
	parts := make([]string, 0, len(ent))
	for _, c := range ent {
		name := "<default>"
		if c.Name != nil {
			name = *c.Name
		}
		parts = append(parts, c.Type+"="+name)
	}
	return strings.Join(parts, ",")
}

func printQuotas(w io.Writer, format out.Format, list []Described) error {
	if format == out.JSON {
		return out.WriteJSON(w, list)
	}
	t := out.NewTable(w, "ENTITY", "QUOTA", "VALUE")
	for _, d := range list {
		for _, k := range []string{"producer_byte_rate", "consumer_byte_rate", "request_percentage", "connection_creation_rate"} {
			if v, ok := d.Quotas[k]; ok {
				t.Row(d.Entity, k, strconv.FormatFloat(v, 'f', -1, 64))
			}
		}
	}
	return t.Flush()
}
