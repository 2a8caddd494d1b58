package dropin

import (
	"encoding/json"
	"fmt"

	"github.com/gregorhq/gregor/internal/cli/group"
)

// kafka-share-groups (KIP-932): --list, --describe, --delete, --reset-offsets and
// --delete-offsets, on the "gregor group" verbs, which know share groups. --describe
// --offsets (the default) prints Kafka's share-group columns: GROUP TOPIC PARTITION
// START-OFFSET LAG, the start offset being the share-partition start offset.
func init() {
	register(&tool{
		name: "kafka-share-groups",
		opts: options{
			optBootstrapServer,
			{"list", noValue, "list share groups"},
			{"describe", noValue, "describe share groups: start offsets and lag (default), --members or --state"},
			{"delete", noValue, "delete share groups"},
			{"reset-offsets", noValue, "reset an empty share group's start offsets"},
			{"delete-offsets", noValue, "delete a share group's state for topics"},
			{"group", requiredValue, "the share group; repeat for more"},
			{"all-groups", noValue, "every share group"},
			{"members", noValue, "with --describe: the members"},
			{"offsets", noValue, "with --describe: start offsets and lag (the default)"},
			{"state", optionalValue, "with --describe: the state"},
			{"verbose", noValue, "with --describe --members: each member's assignment"},
			{"topic", requiredValue, "a topic (TOPIC:P1,P2 with --reset-offsets); repeat for more"},
			{"all-topics", noValue, "every topic the share group has state for"},
			{"to-earliest", noValue, "reset to the earliest offset"},
			{"to-latest", noValue, "reset to the latest offset"},
			{"to-offset", requiredValue, "reset to this offset"},
			{"to-datetime", requiredValue, "reset to the first offset at or after YYYY-MM-DDTHH:mm:SS.sss"},
			{"dry-run", noValue, "only print the new offsets"},
			{"execute", noValue, "apply the new offsets"},
		},
		run: runShareGroups,
	})
}

func runShareGroups(e *env, p *parsed) error {
	action, err := p.oneOf("list", "describe", "delete", "reset-offsets", "delete-offsets")
	if err != nil {
		return err
	}
	bs, err := bootstrap(p)
	if err != nil {
		return err
	}
	args := []string{action, "--bootstrap-server", bs}
	if action != "list" && !p.has("group") && !(p.has("all-groups") && action == "describe") {
		return fmt.Errorf("Missing required argument \"[group]\"")
	}
	var pass []string
	switch action {
	case "list":
		args = append(args, "--type", "share")
	case "describe":
		pass = []string{"group", "all-groups", "members", "verbose"}
		if p.has("state") {
			if p.get("state") != "" {
				return fmt.Errorf("option --state takes no value with --describe")
			}
			args = append(args, "--state")
		}
	case "delete":
		pass = []string{"group"}
	case "reset-offsets":
		pass = []string{"group", "topic", "all-topics", "to-earliest", "to-latest", "to-offset", "to-datetime", "dry-run", "execute"}
	case "delete-offsets":
		pass = []string{"group", "topic"}
	}
	for _, o := range pass {
		args = p.pass(args, o, o)
	}
	for name := range p.vals {
		if !contains(pass, name) && name != "bootstrap-server" && name != action &&
			!(action == "describe" && (name == "state" || name == "offsets")) {
			return fmt.Errorf("Option \"[%s]\" can't be used with \"[%s]\"", name, action)
		}
	}
	if action != "describe" || p.has("members") || p.has("state") {
		return runModern(e, group.NewCommand(), e.stdout, args)
	}
	raw, err := runModernJSON(e, group.NewCommand(), args)
	var rows []struct {
		Group         string `json:"group"`
		Topic         string `json:"topic"`
		Partition     int32  `json:"partition"`
		CurrentOffset *int64 `json:"current_offset"`
		Lag           *int64 `json:"lag"`
	}
	if jerr := json.Unmarshal(raw, &rows); jerr != nil {
		if err != nil {
			return err
		}
		return jerr
	}
	table := [][]string{{"GROUP", "TOPIC", "PARTITION", "START-OFFSET", "LAG"}}
	for _, r := range rows {
		table = append(table, []string{r.Group, r.Topic, fmt.Sprint(r.Partition), optOffset(r.CurrentOffset), optOffset(r.Lag)})
	}
	fmt.Fprintln(e.stdout)
	if perr := printKafkaTable(e, table); perr != nil {
		return perr
	}
	return err
}

// optOffset prints an absent offset as Kafka's share tool does.
func optOffset(v *int64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprint(*v)
}
