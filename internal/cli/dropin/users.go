package dropin

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/gregorhq/gregor/internal/cli/user"
)

// runUserConfigs is kafka-configs --entity-type users: SCRAM credentials, on "gregor user
// scram". Kafka's forms:
//
//	--alter --add-config 'SCRAM-SHA-256=[iterations=8192,password=alice-secret],SCRAM-SHA-512=[password=alice-secret]' --entity-type users --entity-name alice
//	--alter --delete-config 'SCRAM-SHA-512' --entity-type users --entity-name alice
//	--describe --entity-type users [--entity-name alice]
//
// Kafka's controller refuses two changes of one user in one request, so Kafka's tool fails on
// two mechanisms in one --add-config; this one sends one request per mechanism instead.
func runUserConfigs(e *env, p *parsed, action string, common []string) error {
	name := p.get("entity-name")
	if action == "describe" {
		args := append([]string{"scram", "describe"}, common...)
		if name != "" {
			args = append(args, "--user", name)
		}
		raw, err := runModernJSON(e, user.NewCommand(), args)
		if err != nil {
			return err
		}
		var creds []struct {
			User       string `json:"user"`
			Mechanism  string `json:"mechanism"`
			Iterations int32  `json:"iterations"`
			Error      string `json:"error"`
		}
		if err := json.Unmarshal(raw, &creds); err != nil {
			return fmt.Errorf("reading the credentials: %w", err)
		}
		byUser := map[string][]string{}
		for _, c := range creds {
			if c.Error == "" {
				byUser[c.User] = append(byUser[c.User], fmt.Sprintf("%s=iterations=%d", c.Mechanism, c.Iterations))
			}
		}
		users := make([]string, 0, len(byUser))
		for u := range byUser {
			users = append(users, u)
		}
		sort.Strings(users)
		for _, u := range users {
			fmt.Fprintf(e.stdout, "SCRAM credential configs for user-principal '%s' are %s\n", u, strings.Join(byUser[u], ", "))
		}
		return nil
	}
	if name == "" {
		return fmt.Errorf("an entity name must be specified with --alter of users")
	}
	if p.has("add-config") {
		sets, err := parseScramConfigs(p.get("add-config"))
		if err != nil {
			return err
		}
		for _, s := range sets {
			args := append([]string{"scram", "set", "--user", name, "--mechanism", s.mechanism, "--password", s.password}, common...)
			if s.iterations != "" {
				args = append(args, "--iterations", s.iterations)
			}
			if err := runModern(e, user.NewCommand(), &strings.Builder{}, args); err != nil {
				return err
			}
		}
	}
	if p.has("delete-config") {
		for _, m := range strings.Split(p.get("delete-config"), ",") {
			args := append([]string{"scram", "delete", "--user", name, "--mechanism", strings.TrimSpace(m)}, common...)
			if err := runModern(e, user.NewCommand(), &strings.Builder{}, args); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(e.stdout, "Completed updating config for user %s.\n", name)
	return nil
}

type scramConfig struct{ mechanism, password, iterations string }

// parseScramConfigs parses SCRAM-SHA-256=[iterations=8192,password=x],SCRAM-SHA-512=[password=y].
func parseScramConfigs(s string) ([]scramConfig, error) {
	var out []scramConfig
	for rest := strings.TrimSpace(s); rest != ""; {
		mech, after, ok := strings.Cut(rest, "=")
		if !ok || !strings.HasPrefix(after, "[") {
			return nil, fmt.Errorf("--add-config %q: want SCRAM-SHA-256=[password=...]", s)
		}
		end := strings.IndexByte(after, ']')
		if end < 0 {
			return nil, fmt.Errorf("--add-config %q: missing ']'", s)
		}
		c := scramConfig{mechanism: strings.TrimSpace(mech)}
		for _, kv := range strings.Split(after[1:end], ",") {
			k, v, _ := strings.Cut(kv, "=")
			switch strings.TrimSpace(k) {
			case "password":
				c.password = v
			case "iterations":
				c.iterations = strings.TrimSpace(v)
			default:
				return nil, fmt.Errorf("--add-config: unknown SCRAM setting %q (password, iterations)", k)
			}
		}
		if c.password == "" {
			return nil, fmt.Errorf("--add-config: %s needs a password", c.mechanism)
		}
		out = append(out, c)
		rest = strings.TrimPrefix(strings.TrimSpace(after[end+1:]), ",")
	}
	return out, nil
}
