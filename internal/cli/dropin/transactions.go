package dropin

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/gregorhq/gregor/internal/cli/txn"
)

// kafka-transactions: "list" and "describe --transactional-id ID", on "gregor txn
// list|describe", printed as Kafka's tool prints them: a table whose columns are padded to
// their widest cell, each followed by a tab.
func init() {
	register(&tool{
		name:        "kafka-transactions",
		subcommands: []string{"list", "describe"},
		opts: options{
			optBootstrapServer,
			{"transactional-id", requiredValue, "with describe: the transactional id"},
		},
		run: runTransactions,
	})
}

func runTransactions(e *env, p *parsed) error {
	action, err := p.oneOf("list", "describe")
	if err != nil {
		return fmt.Errorf("name a command: list or describe")
	}
	bs, err := bootstrap(p)
	if err != nil {
		return err
	}
	switch action {
	case "list":
		if p.has("transactional-id") {
			return fmt.Errorf("Option \"[transactional-id]\" can't be used with \"[list]\"")
		}
		data, err := runModernJSON(e, txn.NewCommand(), []string{"list", "--bootstrap-server", bs})
		if err != nil {
			return err
		}
		var listed []struct {
			TransactionalID string `json:"transactional_id"`
			Coordinator     int32  `json:"coordinator"`
			ProducerID      int64  `json:"producer_id"`
			State           string `json:"state"`
		}
		if err := json.Unmarshal(data, &listed); err != nil {
			return err
		}
		rows := [][]string{{"TransactionalId", "Coordinator", "ProducerId", "TransactionState"}}
		for _, l := range listed {
			rows = append(rows, []string{l.TransactionalID, strconv.Itoa(int(l.Coordinator)), strconv.FormatInt(l.ProducerID, 10), l.State})
		}
		return printKafkaTable(e, rows)
	default:
		id, err := p.require("transactional-id")
		if err != nil {
			return err
		}
		data, err := runModernJSON(e, txn.NewCommand(), []string{"describe", id, "--bootstrap-server", bs})
		if err != nil {
			return err
		}
		var descs []txn.Description
		if err := json.Unmarshal(data, &descs); err != nil {
			return err
		}
		rows := [][]string{{"CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch", "TransactionState",
			"TransactionTimeoutMs", "CurrentTransactionStartTimeMs", "TransactionDurationMs", "TopicPartitions"}}
		for _, d := range descs {
			rows = append(rows, []string{strconv.Itoa(int(d.Coordinator)), d.TransactionalID, strconv.FormatInt(d.ProducerID, 10),
				strconv.Itoa(int(d.ProducerEpoch)), d.State, strconv.Itoa(int(d.TimeoutMs)), noneIfNegative(d.StartMs),
				noneIfNegative(d.DurationMs), strings.Join(d.Partitions, ",")})
		}
		return printKafkaTable(e, rows)
	}
}

// printKafkaTable prints rows as Kafka's tools print tables: every cell padded to its
// column's widest, followed by a tab.
func printKafkaTable(e *env, rows [][]string) error {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len(c))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		for i, c := range r {
			fmt.Fprintf(&b, "%-*s\t", widths[i], c)
		}
		b.WriteString("\n")
	}
	_, err := e.stdout.Write([]byte(b.String()))
	return err
}

// noneIfNegative prints an absent time as Kafka's tool does.
func noneIfNegative(v int64) string {
	if v < 0 {
		return "None"
	}
	return strconv.FormatInt(v, 10)
}
