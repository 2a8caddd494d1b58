package dropin

import (
	"fmt"
	"strings"

	"github.com/gregorhq/gregor/internal/cli/records"
)

// kafka-dump-log: --files a.log,b.index with Kafka's switches, on "gregor records dump". It
// reads files on disk and talks to no broker.
func init() {
	register(&tool{
		name: "kafka-dump-log",
		opts: options{
			{"files", requiredValue, "REQUIRED: the comma-separated .log, .index, .timeindex and .txnindex files to dump"},
			{"print-data-log", noValue, "print each record's key and payload (implies --deep-iteration)"},
			{"deep-iteration", noValue, "print a line for each record, not only for each batch"},
			{"skip-record-metadata", noValue, "leave offsets, timestamps, sizes and sequences out of record lines"},
			{"verify-index-only", noValue, "check index entries against the log without printing them"},
			{"max-bytes", requiredValue, "read at most this many bytes of each .log file"},
			{"offsets-decoder", noValue, "decode records as __consumer_offsets records"},
			{"transaction-log-decoder", noValue, "decode records as __transaction_state records"},
			{"key-decoder-class", requiredValue, "org.apache.kafka.tools.api.StringDecoder (the only decoder Gregor has)"},
			{"value-decoder-class", requiredValue, "org.apache.kafka.tools.api.StringDecoder (the only decoder Gregor has)"},
		},
		run: runDumpLog,
	})
}

// stringDecoders are the names of Kafka's StringDecoder, the one decoder class Gregor has.
var stringDecoders = []string{"org.apache.kafka.tools.api.StringDecoder", "kafka.serializer.StringDecoder"}

func runDumpLog(e *env, p *parsed) error {
	files, err := p.require("files")
	if err != nil {
		return err
	}
	args := []string{"dump"}
	for _, f := range strings.Split(files, ",") {
		if f = strings.TrimSpace(f); f != "" {
			args = append(args, f)
		}
	}
	if len(args) == 1 {
		return fmt.Errorf("option --files: want a comma-separated list of segment files")
	}
	for _, opt := range []string{"key-decoder-class", "value-decoder-class"} {
		if p.has(opt) {
			if !contains(stringDecoders, p.get(opt)) {
				return fmt.Errorf("option --%s: %q is not a decoder Gregor has; it has %s", opt, p.get(opt), stringDecoders[0])
			}
			args = append(args, "--print-data-log")
		}
	}
	if p.has("max-bytes") {
		n, err := p.int("max-bytes", 0)
		if err != nil {
			return err
		}
		if n <= 0 {
			return fmt.Errorf("option --max-bytes: want a number of bytes above 0, got %d", n)
		}
		args = append(args, "--max-bytes", fmt.Sprint(n))
	}
	for _, sw := range []string{"print-data-log", "deep-iteration", "skip-record-metadata", "verify-index-only", "offsets-decoder", "transaction-log-decoder"} {
		args = p.pass(args, sw, sw)
	}
	e.commandConfig = "" // offline: no client properties
	return runModern(e, records.NewCommand(), e.stdout, args)
}
