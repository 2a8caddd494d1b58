package topic

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
)

func newReassignGenerateCommand(cf *clientflags.Flags) *cobra.Command {
	var topicsFile, brokerList string
	cmd := &cobra.Command{
		Use:   "generate --topics-to-move-json-file F --broker-list 1,2,3",
		Short: "Propose an assignment of the given topics' partitions to the given brokers",
		Example: `  echo '{"version":1,"topics":[{"topic":"orders"}]}' > move.json
  gregor topic reassign generate --topics-to-move-json-file move.json --broker-list 2,3,4`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if topicsFile == "" || brokerList == "" {
				return errors.New("generate needs --topics-to-move-json-file and --broker-list")
			}
			cmd.SilenceUsage = true
			data, err := os.ReadFile(topicsFile)
			if err != nil {
				return err
			}
			var move topicsToMoveFile
			if err := json.Unmarshal(data, &move); err != nil {
				return fmt.Errorf("parsing %s: %w", topicsFile, err)
			}
			brokers, err := parseBrokerList(brokerList)
			if err != nil {
				return err
			}
			var names []string
			for _, t := range move.Topics {
				if !slices.Contains(names, t.Topic) {
					names = append(names, t.Topic)
				}
			}
			if len(names) == 0 {
				return errors.New("no topics in " + topicsFile)
			}
			adm, err := cf.NewAdmin()
			if err != nil {
				return err
			}
			defer adm.Close()
			md, err := adm.Metadata(clientflags.Context(cmd), names...)
			if err != nil {
				return err
			}
			for _, id := range brokers {
				if !slices.ContainsFunc(md.Brokers, func(b kadm.BrokerDetail) bool { return b.NodeID == id }) {
					return fmt.Errorf("The following brokers are not registered: %d", id)
				}
			}
			var current, proposed []Reassignment
			for _, name := range names {
				t, ok := md.Topics[name]
				if !ok || t.Err != nil {
					return fmt.Errorf("Topic %s not found", name)
				}
				parts := t.Partitions.Sorted()
				if len(parts) == 0 {
					continue
				}
				rf := len(parts[0].Replicas)
				plan, err := assignReplicas(len(parts), rf, brokers)
				if err != nil {
					return err
				}
				for i, p := range parts {
					current = append(current, Reassignment{Topic: name, Partition: p.Partition, Replicas: p.Replicas})
					proposed = append(proposed, Reassignment{Topic: name, Partition: p.Partition, Replicas: plan[i]})
				}
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Current partition replica assignment\n%s\n\n", formatReassignment(current))
			fmt.Fprintf(w, "Proposed partition reassignment configuration\n%s\n", formatReassignment(proposed))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&topicsFile, "topics-to-move-json-file", "", `JSON file of the topics to move: {"version":1,"topics":[{"topic":"foo"}]}`)
	f.StringVar(&brokerList, "broker-list", "", "the brokers to move the partitions to, as 1,2,3")
	return cmd
}

// assignReplicas spreads partitions replicas over brokers the way Kafka's rack-unaware
// assignment does, from a fixed start (Kafka picks a random one; a plan that is the same
// every time is easier to review): partition p's first replica is brokers[p mod n], and the
// others follow it at a distance that shifts by one after every n partitions, so that
// followers spread too.
func assignReplicas(partitions, rf int, brokers []int32) ([][]int32, error) {
	sorted := slices.Sorted(slices.Values(brokers))
	n := len(sorted)
	if rf <= 0 {
		return nil, fmt.Errorf("Replication factor must be larger than 0")
	}
	if rf > n {
		return nil, fmt.Errorf("Replication factor: %d larger than available brokers: %d.", rf, n)
	}
	out := make([][]int32, partitions)
	shift := 0
	for p := range partitions {
		if p > 0 && p%n == 0 {
			shift++
		}
		first := p % n
		replicas := []int32{sorted[first]}
		for j := range rf - 1 {
			replicas = append(replicas, sorted[(first+1+(shift+j)%(n-1))%n])
		}
		out[p] = replicas
	}
	return out, nil
}
