// Package cli holds Gregor's client commands, built on franz-go's kgo and
// kadm, with the flag names of Kafka's own tools. There is one package per
// noun and one file per verb, as in Redpanda's rpk:
//
//	topic/      gregor topic create|list|describe|delete|alter-config (kafka-topics),
//	            gregor topic reassign generate|execute|verify|cancel|list (kafka-reassign-partitions)
//	config/     gregor config describe|alter               (kafka-configs)
//	produce/    gregor produce                             (kafka-console-producer)
//	consume/    gregor consume                             (kafka-console-consumer)
//	group/      gregor group list|describe|delete|reset-offsets|delete-offsets (kafka-consumer-groups)
//	records/    gregor records delete|dump                 (kafka-delete-records, kafka-dump-log)
//	perf/       gregor perf produce|consume|e2e            (kafka-producer-perf-test, kafka-consumer-perf-test)
//	verify/     gregor verify producer|consumer            (kafka-verifiable-producer, kafka-verifiable-consumer)
//	txn/        gregor txn list|describe                   (kafka-transactions)
//	user/       gregor user scram set|describe|delete      (kafka-configs --entity-type users)
//	cluster/    gregor cluster describe|elect-leaders      (kafka-metadata-quorum, kafka-cluster, kafka-leader-election)
//	dev/        gregor dev cluster: a local multi-node cluster in one process
//	dropin/     kafka-topics, kafka-console-producer, ... with Kafka's flags and output, on the above
//	clientflags/ --bootstrap-server and --command-config, shared by every command; plain errors
//	out/        tables for people (human units, colour and progress on a terminal only), --format json for scripts
//	property/   --property and --config key=value parsing
//
// Commands return errors from RunE and never exit; they write to the
// command's configured output streams so tests can capture them.
package cli

import (
	"github.com/spf13/cobra"

	"github.com/gregorhq/gregor/internal/cli/acl"
	"github.com/gregorhq/gregor/internal/cli/clientflags"
	"github.com/gregorhq/gregor/internal/cli/cluster"
	"github.com/gregorhq/gregor/internal/cli/config"
	"github.com/gregorhq/gregor/internal/cli/consume"
	"github.com/gregorhq/gregor/internal/cli/group"
	"github.com/gregorhq/gregor/internal/cli/perf"
	"github.com/gregorhq/gregor/internal/cli/produce"
	"github.com/gregorhq/gregor/internal/cli/quota"
	"github.com/gregorhq/gregor/internal/cli/records"
	"github.com/gregorhq/gregor/internal/cli/topic"
	"github.com/gregorhq/gregor/internal/cli/txn"
	"github.com/gregorhq/gregor/internal/cli/user"
	"github.com/gregorhq/gregor/internal/cli/verify"
)

// AddCommands adds every client command (topic, config, produce, consume, group, records,
// perf, verify, txn, user, cluster, dev) to root.
func AddCommands(root *cobra.Command) {
	// A flag value that does not parse says what the flag wants, not strconv's words.
	root.SetFlagErrorFunc(clientflags.FlagError)
	root.AddCommand(
		topic.NewCommand(),
		config.NewCommand(),
		produce.NewCommand(),
		consume.NewCommand(),
		group.NewCommand(),
		records.NewCommand(),
		perf.NewCommand(),
		verify.NewCommand(),
		txn.NewCommand(),
		user.NewCommand(),
		cluster.NewCommand(),
		acl.NewCommand(),
		quota.NewCommand(),
	)
}
