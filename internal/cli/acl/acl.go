// Package acl implements "gregor acl": the ACLs the brokers' authorizer checks
// (authorizer.class.name set), as kafka-acls manages them:
//
//	gregor acl create --allow-principal User:alice --operation READ --topic orders [--resource-pattern-type PREFIXED]
//	gregor acl list [--topic orders] [--principal User:alice]
//	gregor acl delete --allow-principal User:alice --operation READ --topic orders
//
// A resource is --topic, --group, --cluster, --transactional-id or --delegation-token; an ACL
// is made for every principal × host × operation × resource given.
package acl

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
)

// NewCommand returns the "acl" command and its verbs.
func NewCommand() *cobra.Command {
	var cf clientflags.Flags
	cmd := &cobra.Command{
		Use:   "acl",
		Short: "Create, list and delete ACLs",
	}
	cf.Register(cmd.PersistentFlags())
	cmd.AddCommand(newCreateCommand(&cf), newListCommand(&cf), newDeleteCommand(&cf))
	return cmd
}

// selection is the flags that name ACLs: resources, principals, hosts, operations.
type selection struct {
	topics, groups, txnIDs, tokens []string
	cluster                        bool
	pattern                        string
	allow, deny                    []string
	allowHosts, denyHosts          []string
	operations                     []string
	principal                      string // list: only this principal's ACLs
}

func (s *selection) register(f *pflag.FlagSet, forList bool) {
	f.StringArrayVar(&s.topics, "topic", nil, "topic name, or * for every topic (repeatable)")
	f.StringArrayVar(&s.groups, "group", nil, "group id, or * (repeatable)")
	f.StringArrayVar(&s.txnIDs, "transactional-id", nil, "transactional id, or * (repeatable)")
	f.StringArrayVar(&s.tokens, "delegation-token", nil, "delegation token id (repeatable)")
	f.BoolVar(&s.cluster, "cluster", false, "the cluster resource")
	def := "LITERAL"
	if forList {
		def = "ANY"
	}
	f.StringVar(&s.pattern, "resource-pattern-type", def, "LITERAL or PREFIXED (list and delete also take ANY and MATCH)")
	if forList {
		f.StringVar(&s.principal, "principal", "", "only ACLs of this principal")
		return
	}
	f.StringArrayVar(&s.allow, "allow-principal", nil, "principal to allow, User:name or User:* (repeatable)")
	f.StringArrayVar(&s.deny, "deny-principal", nil, "principal to deny (repeatable)")
	f.StringArrayVar(&s.allowHosts, "allow-host", nil, "host the allowed principals connect from (default *)")
	f.StringArrayVar(&s.denyHosts, "deny-host", nil, "host the denied principals connect from (default *)")
	f.StringArrayVar(&s.operations, "operation", nil, "READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE or ALL (repeatable)")
}

// errNoResource is the error of create and delete when no resource flag is given.
var errNoResource = errors.New("name a resource: --topic, --group, --cluster, --transactional-id or --delegation-token")

// resource is one resource named on the command line.
type resource struct {
	typ  kmsg.ACLResourceType
	name string
}

func (s *selection) resources() []resource {
	var rs []resource
	add := func(typ kmsg.ACLResourceType, names []string) {
		for _, n := range names {
			rs = append(rs, resource{typ, n})
		}
	}
	add(kmsg.ACLResourceTypeTopic, s.topics)
	add(kmsg.ACLResourceTypeGroup, s.groups)
	add(kmsg.ACLResourceTypeTransactionalId, s.txnIDs)
	add(kmsg.ACLResourceTypeDelegationToken, s.tokens)
	if s.cluster {
		rs = append(rs, resource{kmsg.ACLResourceTypeCluster, "kafka-cluster"})
	}
	return rs
}

// entry is one principal, host and permission.
type entry struct {
	principal, host string
	perm            kmsg.ACLPermissionType
}

func (s *selection) entries() ([]entry, error) {
	var es []entry
	add := func(principals, hosts []string, perm kmsg.ACLPermissionType) error {
		if len(hosts) == 0 {
			hosts = []string{"*"}
		}
		for _, p := range principals {
			if !strings.Contains(p, ":") {
				return fmt.Errorf("principal %q: want Type:name, as User:alice", p)
			}
			for _, h := range hosts {
				es = append(es, entry{p, h, perm})
			}
		}
		return nil
	}
	if err := add(s.allow, s.allowHosts, kmsg.ACLPermissionTypeAllow); err != nil {
		return nil, err
	}
	if err := add(s.deny, s.denyHosts, kmsg.ACLPermissionTypeDeny); err != nil {
		return nil, err
	}
	return es, nil
}

func (s *selection) ops(def kmsg.ACLOperation) ([]kmsg.ACLOperation, error) {
	if len(s.operations) == 0 {
		return []kmsg.ACLOperation{def}, nil
	}
	var ops []kmsg.ACLOperation
	for _, o := range s.operations {
		op, err := kmsg.ParseACLOperation(normalize(o))
		if err != nil || op <= kmsg.ACLOperationAny && def != kmsg.ACLOperationAny {
			return nil, fmt.Errorf("--operation %q: want READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE or ALL", o)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// parseFilter parses the flags that create and delete both take besides the resources: the
// principals and hosts, the operations (def when --operation is not given) and the pattern type.
func (s *selection) parseFilter(def kmsg.ACLOperation) (es []entry, ops []kmsg.ACLOperation, pt kmsg.ACLResourcePatternType, err error) {
	if es, err = s.entries(); err != nil {
		return nil, nil, 0, err
	}
	if ops, err = s.ops(def); err != nil {
		return nil, nil, 0, err
	}
	if pt, err = s.patternType(); err != nil {
		return nil, nil, 0, err
	}
	return es, ops, pt, nil
}

func (s *selection) patternType() (kmsg.ACLResourcePatternType, error) {
	pt, err := kmsg.ParseACLResourcePatternType(normalize(s.pattern))
	if err != nil || pt == kmsg.ACLResourcePatternTypeUnknown {
		return 0, fmt.Errorf("--resource-pattern-type %q: want LITERAL, PREFIXED, ANY or MATCH", s.pattern)
	}
	return pt, nil
}

// normalize turns Kafka's spellings (IdempotentWrite, idempotent-write) into kmsg's.
func normalize(s string) string {
	s = strings.ToLower(strings.ReplaceAll(s, "-", "_"))
	switch s {
	case "idempotentwrite":
		return "idempotent_write"
	case "clusteraction":
		return "cluster_action"
	case "describeconfigs":
		return "describe_configs"
	case "alterconfigs":
		return "alter_configs"
	}
	return s
}

// described is one ACL as list and delete print it.
type described struct {
	ResourceType string `json:"resource_type"`
	ResourceName string `json:"resource_name"`
	PatternType  string `json:"pattern_type"`
	Principal    string `json:"principal"`
	Host         string `json:"host"`
	Operation    string `json:"operation"`
	Permission   string `json:"permission"`
}
