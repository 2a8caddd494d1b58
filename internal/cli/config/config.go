// Package config implements "gregor config": describe and alter the dynamic
// configs of topics and brokers, with kafka-configs' flag names
// (--entity-type, --entity-name, --entity-default, --add-config,
// --delete-config, --all). One file per verb.
package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
)

// NewCommand returns the "config" command and its verbs.
func NewCommand() *cobra.Command {
	var cf clientflags.Flags
	cmd := &cobra.Command{
		Use:     "config",
		Aliases: []string{"configs"},
		Short:   "Describe and alter topic and broker configs",
		Long: `Describe and alter topic and broker configs.

The flags follow kafka-configs.sh: --entity-type topics|brokers,
--entity-name NAME (or --entity-default for the cluster-wide broker default),
--add-config k=v,k2=[a,b] and --delete-config k,k2.`,
	}
	cf.Register(cmd.PersistentFlags())
	cmd.AddCommand(
		newDescribeCommand(&cf),
		newAlterCommand(&cf),
	)
	return cmd
}

// entity is the resource a verb acts on.
type entity struct {
	Type    string // "topics" or "brokers"
	Name    string // topic name or broker id; "" with Default
	Default bool   // the cluster-wide broker default
}

// registerEntity adds --entity-type, --entity-name and --entity-default.
func (e *entity) register(fs *pflag.FlagSet) {
	fs.StringVar(&e.Type, "entity-type", "", "topics or brokers")
	fs.StringVar(&e.Name, "entity-name", "", "the topic name or broker id")
	fs.BoolVar(&e.Default, "entity-default", false, "the cluster-wide default of brokers (instead of --entity-name)")
}

// check validates the flags; it returns the broker id for brokers (-1 for the default).
func (e *entity) check() (int32, error) {
	switch e.Type {
	case "topic":
		e.Type = "topics"
	case "broker":
		e.Type = "brokers"
	}
	switch {
	case e.Type != "topics" && e.Type != "brokers":
		return 0, fmt.Errorf("--entity-type %q: want topics or brokers", e.Type)
	case e.Default && e.Type != "brokers":
		return 0, errors.New("--entity-default is for --entity-type brokers only")
	case e.Default && e.Name != "":
		return 0, errors.New("give --entity-name or --entity-default, not both")
	case e.Default:
		return -1, nil
	case e.Name == "":
		return 0, errors.New("no entity: use --entity-name NAME (or --entity-default for brokers)")
	case e.Type == "brokers":
		id, err := strconv.ParseInt(e.Name, 10, 32)
		if err != nil || id < 0 {
			return 0, fmt.Errorf("--entity-name %q: a broker is named by its id", e.Name)
		}
		return int32(id), nil
	}
	return 0, nil
}

// String names the entity as kafka-configs does in its messages.
func (e *entity) String() string {
	switch {
	case e.Default:
		return "the default broker config"
	case e.Type == "topics":
		return "topic " + e.Name
	}
	return "broker " + e.Name
}

// explain says plainly that a topic does not exist (see clientflags.Explain), and otherwise
// wraps err with what was being done to the entity.
func (e *entity) explain(doing string, err error) error {
	if e.Type == "topics" && errors.Is(err, kerr.UnknownTopicOrPartition) {
		return clientflags.Explain("topic", e.Name, err)
	}
	return fmt.Errorf("%s %s: %w", doing, e.String(), err)
}

// brokerError is an error the broker returned for a resource, with its message.
func brokerError(err error, msg string) error {
	var ke *kerr.Error
	if msg != "" && errors.As(err, &ke) {
		return fmt.Errorf("%w: %s", err, msg)
	}
	return err
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
