package dropin

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/gregorhq/gregor/internal/cli/quota"
)

// isQuotaConfigs reports whether kafka-configs' --add-config / --delete-config name client
// quotas (producer_byte_rate, ...) rather than SCRAM credentials.
func isQuotaConfigs(p *parsed) bool {
	for _, s := range []string{p.get("add-config"), p.get("delete-config")} {
		for _, kv := range strings.Split(s, ",") {
			k, _, _ := strings.Cut(strings.TrimSpace(kv), "=")
			switch k {
			case "producer_byte_rate", "consumer_byte_rate", "request_percentage", "connection_creation_rate":
				return true
			}
		}
	}
	return false
}

// runQuotaConfigs is kafka-configs for client quotas, on "gregor quota":
//
//	--alter --entity-type users --entity-name alice --add-config producer_byte_rate=1048576
//	--alter --entity-type clients --entity-default --delete-config consumer_byte_rate
//	--describe --entity-type clients [--entity-name app]
//	--alter --entity-type ips --entity-name 192.0.2.7 --add-config connection_creation_rate=10
//
// entityType is "users", "clients" or "ips".
func runQuotaConfigs(e *env, p *parsed, entityType, action string, common []string) error {
	flag, def, label := "--user", "--user-default", "user-principal"
	switch entityType {
	case "clients":
		flag, def, label = "--client-id", "--client-default", "client-id"
	case "ips":
		flag, def, label = "--ip", "--ip-default", "ip"
	}
	var entity []string
	switch {
	case p.has("entity-name"):
		entity = []string{flag, p.get("entity-name")}
	case p.has("entity-default"):
		entity = []string{def}
	}
	if action == "describe" {
		raw, err := runModernJSON(e, quota.NewCommand(), append(append([]string{"describe"}, entity...), common...))
		if err != nil {
			return err
		}
		var list []quota.Described
		if err := json.Unmarshal(raw, &list); err != nil {
			return fmt.Errorf("reading the quotas: %w", err)
		}
		for _, d := range list {
			if entityType == "ips" && !strings.HasPrefix(d.Entity, "ip=") {
				continue // --entity-type ips lists IP entities alone
			}
			var kvs []string
			for _, k := range []string{"consumer_byte_rate", "connection_creation_rate", "producer_byte_rate", "request_percentage"} {
				if v, ok := d.Quotas[k]; ok {
					kvs = append(kvs, k+"="+strconv.FormatFloat(v, 'f', 1, 64))
				}
			}
			fmt.Fprintf(e.stdout, "Quota configs for %s are %s\n", strings.ReplaceAll(d.Entity, "user=", "user-principal="), strings.Join(kvs, ", "))
		}
		return nil
	}
	if len(entity) == 0 {
		return fmt.Errorf("an entity name or --entity-default must be specified with --alter of %s", entityType)
	}
	args := append([]string{"set"}, entity...)
	args = p.pass(args, "add-config", "add-config")
	args = p.pass(args, "delete-config", "delete-config")
	if err := runModern(e, quota.NewCommand(), &strings.Builder{}, append(args, common...)); err != nil {
		return err
	}
	name := p.get("entity-name")
	if name == "" {
		name = "<default>"
	}
	fmt.Fprintf(e.stdout, "Completed updating config for %s %s.\n", label, name)
	return nil
}
