package dropin

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gregorhq/gregor/internal/cli/acl"
)

// kafka-acls on "gregor acl create|list|delete":
//
//	--add --allow-principal User:alice --operation Read --topic orders [--resource-pattern-type prefixed]
//	--remove --deny-principal User:* --operation Write --topic orders
//	--list [--topic orders] [--principal User:alice]
//
// and prints the ACLs as Kafka's tool does, grouped by resource pattern.
func init() {
	register(&tool{
		name: "kafka-acls",
		opts: options{
			optBootstrapServer,
			{"add", noValue, "add ACLs"},
			{"remove", noValue, "remove ACLs"},
			{"list", noValue, "list ACLs"},
			{"allow-principal", requiredValue, "principal to allow, User:name or User:* (repeatable)"},
			{"deny-principal", requiredValue, "principal to deny (repeatable)"},
			{"allow-host", requiredValue, "host the allowed principals connect from (default *)"},
			{"deny-host", requiredValue, "host the denied principals connect from (default *)"},
			{"principal", requiredValue, "with --list: only this principal's ACLs"},
			{"operation", requiredValue, "Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite or All (repeatable)"},
			{"topic", requiredValue, "topic name, or * (repeatable)"},
			{"group", requiredValue, "group id, or * (repeatable)"},
			{"cluster", noValue, "the cluster resource"},
			{"transactional-id", requiredValue, "transactional id, or * (repeatable)"},
			{"delegation-token", requiredValue, "delegation token id (repeatable)"},
			{"resource-pattern-type", requiredValue, "literal or prefixed (list and remove also take any and match)"},
			{"force", noValue, "do not ask for confirmation (accepted; this tool never asks)"},
		},
		run: runACLs,
	})
}

func runACLs(e *env, p *parsed) error {
	action, err := p.oneOf("add", "remove", "list")
	if err != nil {
		return err
	}
	bs, err := bootstrap(p)
	if err != nil {
		return err
	}
	verb := map[string]string{"add": "create", "remove": "delete", "list": "list"}[action]
	args := []string{verb, "--bootstrap-server", bs}
	resources := []string{"topic", "group", "transactional-id", "delegation-token"}
	for _, o := range resources {
		for _, v := range p.all(o) {
			args = append(args, "--"+o, v)
		}
	}
	if p.has("cluster") {
		args = append(args, "--cluster")
	}
	args = p.pass(args, "resource-pattern-type", "resource-pattern-type")
	if action == "list" {
		args = p.pass(args, "principal", "principal")
	} else {
		for _, o := range []string{"allow-principal", "deny-principal", "allow-host", "deny-host", "operation"} {
			for _, v := range p.all(o) {
				args = append(args, "--"+o, v)
			}
		}
	}
	if action == "add" {
		if err := runModern(e, acl.NewCommand(), &strings.Builder{}, args); err != nil {
			return err
		}
		// Print what is now stored for the resources named, as Kafka's tool does.
		list := []string{"list", "--bootstrap-server", bs, "--resource-pattern-type", "any"}
		for _, o := range resources {
			for _, v := range p.all(o) {
				list = append(list, "--"+o, v)
			}
		}
		if p.has("cluster") {
			list = append(list, "--cluster")
		}
		args = list
	}
	raw, err := runModernJSON(e, acl.NewCommand(), args)
	if err != nil {
		return err
	}
	var acls []struct {
		ResourceType string `json:"resource_type"`
		ResourceName string `json:"resource_name"`
		PatternType  string `json:"pattern_type"`
		Principal    string `json:"principal"`
		Host         string `json:"host"`
		Operation    string `json:"operation"`
		Permission   string `json:"permission"`
	}
	if err := json.Unmarshal(raw, &acls); err != nil {
		return fmt.Errorf("reading the ACLs: %w", err)
	}
	heading := "Current ACLs for resource"
	if action == "remove" {
		heading = "Removed ACLs for resource"
	}
	var order []string
	byPattern := map[string][]string{}
	for _, a := range acls {
		k := fmt.Sprintf("ResourcePattern(resourceType=%s, name=%s, patternType=%s)", a.ResourceType, a.ResourceName, a.PatternType)
		if _, ok := byPattern[k]; !ok {
			order = append(order, k)
		}
		byPattern[k] = append(byPattern[k], fmt.Sprintf("(principal=%s, host=%s, operation=%s, permissionType=%s)",
			a.Principal, a.Host, a.Operation, a.Permission))
	}
	for _, k := range order {
		fmt.Fprintf(e.stdout, "%s `%s`: \n \t%s \n\n", heading, k, strings.Join(byPattern[k], "\n\t"))
	}
	return nil
}
