package records

import (
	"errors"

	"github.com/spf13/cobra"
)

func newDumpCommand() *cobra.Command {
	var (
		o             DumpOptions
		offsets, txns bool
	)
	cmd := &cobra.Command{
		Use:   "dump FILE...",
		Short: "Print the batches and records of segment files (.log, .index, .timeindex, .txnindex), offline",
		Long: `Print what segment files hold, read straight from disk with no broker, in the
text of Kafka's kafka-dump-log.sh: a line per batch of a .log file (and with
--deep-iteration or --print-data-log a line per record), the entries of .index,
.timeindex and .txnindex files. --offsets-decoder and --transaction-log-decoder
decode the records of __consumer_offsets and __transaction_state partitions.
Bytes that are not a batch end the dump of a file with a line saying where and
why.`,
		Example: `  gregor records dump /var/lib/gregor/orders-0/00000000000000000000.log --print-data-log
  gregor records dump __consumer_offsets-7/00000000000000000000.log --offsets-decoder`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errors.New("name at least one segment file to dump (FILE...)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SilenceUsage = true
			if offsets && txns {
				return errors.New("--offsets-decoder and --transaction-log-decoder: give one of them, not both")
			}
			if o.MaxBytes < 0 {
				return errors.New("--max-bytes: want a number of bytes above 0")
			}
			switch {
			case offsets:
				o.Decoder = DecodeOffsets
			case txns:
				o.Decoder = DecodeTransactionLog
			}
			return DumpFiles(cmd.OutOrStdout(), cmd.ErrOrStderr(), args, o)
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&o.PrintDataLog, "print-data-log", false, "print each record's key and payload (implies --deep-iteration)")
	fs.BoolVar(&o.DeepIteration, "deep-iteration", false, "print a line for each record, not only for each batch")
	fs.BoolVar(&o.SkipRecordMetadata, "skip-record-metadata", false, "leave offsets, timestamps, sizes and sequences out of record lines")
	fs.BoolVar(&o.VerifyIndexOnly, "verify-index-only", false, "check index entries against the log without printing them")
	fs.Int64Var(&o.MaxBytes, "max-bytes", 0, "read at most this many bytes of each .log file (0: all of it)")
	fs.BoolVar(&offsets, "offsets-decoder", false, "decode records as __consumer_offsets records (implies --print-data-log)")
	fs.BoolVar(&txns, "transaction-log-decoder", false, "decode records as __transaction_state records (implies --print-data-log)")
	return cmd
}
