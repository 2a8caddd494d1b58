package dropin

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/gregorhq/gregor/internal/cli/group"
)

// kafka-consumer-groups: --list, --describe, --delete, --reset-offsets and
// --delete-offsets, on the modern "gregor group" verbs, whose columns are Kafka's.
func init() {
	register(&tool{
		name: "kafka-consumer-groups",
		opts: options{
			optBootstrapServer,
			{"list", noValue, "list groups"},
			{"describe", noValue, "describe groups: offsets and lag (default), --members or --state"},
			{"delete", noValue, "delete groups"},
			{"reset-offsets", noValue, "reset a group's committed offsets"},
			{"delete-offsets", noValue, "delete a group's committed offsets"},
			{"group", requiredValue, "the group; repeat for more"},
			{"all-groups", noValue, "every group"},
			{"members", noValue, "with --describe: the members"},
			{"offsets", noValue, "with --describe: offsets and lag (the default)"},
			{"state", optionalValue, "with --describe: the state; with --list: only groups in these states"},
			{"verbose", noValue, "with --describe --members: each member's assignment"},
			{"topic", requiredValue, "TOPIC or TOPIC:P1,P2; repeat for more"},
			{"all-topics", noValue, "every topic the group has offsets for"},
			{"to-earliest", noValue, "reset to the earliest offset"},
			{"to-latest", noValue, "reset to the latest offset"},
			{"to-current", noValue, "reset to the current offset"},
			{"to-offset", requiredValue, "reset to this offset"},
			{"shift-by", requiredValue, "move the offsets by N"},
			{"to-datetime", requiredValue, "reset to the first offset at or after YYYY-MM-DDTHH:mm:SS.sss"},
			{"dry-run", noValue, "only print the new offsets"},
			{"execute", noValue, "apply the new offsets"},
		},
		run: runGroups,
	})
}

func runGroups(e *env, p *parsed) error {
	action, err := p.oneOf("list", "describe", "delete", "reset-offsets", "delete-offsets")
	if err != nil {
		return err
	}
	bs, err := bootstrap(p)
	if err != nil {
		return err
	}
	args := []string{action, "--bootstrap-server", bs}
	if action != "list" && !p.has("group") && !(p.has("all-groups") && action != "delete-offsets") {
		return fmt.Errorf("Missing required argument \"[group]\"")
	}
	var pass []string
	switch action {
	case "list":
		pass = []string{"state"}
	case "describe":
		pass = []string{"group", "all-groups", "members", "offsets", "verbose"}
		if p.has("state") {
			if p.get("state") != "" {
				return fmt.Errorf("option --state takes no value with --describe")
			}
			args = append(args, "--state")
		}
	case "delete":
		pass = []string{"group", "all-groups"}
	case "reset-offsets":
		pass = []string{"group", "topic", "all-topics", "to-earliest", "to-latest", "to-current",
			"to-offset", "shift-by", "to-datetime", "dry-run", "execute"}
	case "delete-offsets":
		pass = []string{"group", "topic"}
	}
	for _, o := range pass {
		args = p.pass(args, o, o)
	}
	for name := range p.vals {
		if !contains(pass, name) && name != "bootstrap-server" && name != action && !(name == "state" && action == "describe") {
			return fmt.Errorf("Option \"[%s]\" can't be used with \"[%s]\"", name, action)
		}
	}
	if action != "describe" && action != "reset-offsets" {
		return runModern(e, group.NewCommand(), e.stdout, args)
	}
	// Kafka's tool starts these tables with an empty line, and prints no table at all when
	// the command fails with nothing to show (a group that does not exist).
	var table bytes.Buffer
	err = runModern(e, group.NewCommand(), &table, args)
	if err == nil || strings.Count(table.String(), "\n") > 1 {
		fmt.Fprintln(e.stdout)
		e.stdout.Write(table.Bytes())
	}
	return err
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}
