// Package dropin is the drop-in face of Gregor's client commands: invoked as
// kafka-topics, kafka-console-producer, kafka-console-consumer,
// kafka-consumer-groups, kafka-configs, kafka-delete-records,
// kafka-broker-api-versions, kafka-get-offsets, kafka-producer-perf-test,
// kafka-consumer-perf-test, kafka-verifiable-producer, kafka-verifiable-consumer,
// kafka-transactions, kafka-dump-log, kafka-acls, kafka-reassign-partitions,
// kafka-leader-election or kafka-share-groups (argv[0], with or without
// ".sh", through a symlink that "gregor install-aliases" writes), or as
// "gregor kafka-topics ...", the binary parses Kafka's own flags and prints
// what Kafka's tool prints, so scripts written for Kafka keep working.
//
// Each tool translates its Kafka flags into a run of the modern command
// (internal/cli/topic, produce, consume, group, config, records, perf,
// verify, txn, acl, quota) and, where
// Kafka's text differs from the modern table, reads the modern command's
// --format json output and prints Kafka's text from it. Only what has no
// modern command (broker-api-versions, get-offsets, adding partitions) talks
// to the cluster here.
package dropin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
)

// env is what a tool runs with: its streams and context.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// commandConfig is the client properties file the tool was given, "" for none; every
	// command the tool runs connects with it.
	commandConfig string
}

// tool is one Kafka tool: its options and what it does with them.
type tool struct {
	name string
	opts options
	// subcommands are the positional words the tool takes among its options
	// (kafka-transactions list|describe); the one given is recorded as a switch of
	// that name. Tools without them take options only.
	subcommands []string
	run         func(e *env, p *parsed) error
}

// tools are the Kafka tools Gregor answers to, by name without ".sh".
var tools = map[string]*tool{}

func register(t *tool) {
	t.opts = append(t.opts, option{name: securityOption(t.name), kind: requiredValue,
		help: "client properties file: security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, ..."})
	t.opts = append(t.opts, option{name: "help", kind: noValue, help: "print this usage"})
	tools[t.name] = t
}

// securityOption is the option that names a tool's client properties file, as Kafka's tools
// call it: --producer.config and --consumer.config for the console tools, --command-config for
// the others.
func securityOption(tool string) string {
	switch tool {
	case "kafka-console-producer":
		return "producer.config"
	case "kafka-console-consumer":
		return "consumer.config"
	}
	return "command-config"
}

// Names returns the names of the tools, sorted, without ".sh".
func Names() []string {
	names := make([]string, 0, len(tools))
	for n := range tools {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// IsTool reports whether name (a program name: a path's base, with or without
// ".sh") is one of the Kafka tools.
func IsTool(name string) bool {
	_, ok := tools[strings.TrimSuffix(filepath.Base(name), ".sh")]
	return ok
}

// Run runs the tool called name (as IsTool accepts it) with Kafka's arguments.
func Run(ctx context.Context, name string, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	t, ok := tools[strings.TrimSuffix(filepath.Base(name), ".sh")]
	if !ok {
		return fmt.Errorf("%s is not a Kafka tool Gregor knows; it knows %s", name, strings.Join(Names(), ", "))
	}
	sub, args := splitSubcommand(t, args)
	p, err := parse(t.opts, args)
	if err != nil {
		return err
	}
	if sub != "" {
		p.vals[sub] = []string{""}
	}
	if p.has("help") {
		fmt.Fprintf(stdout, "%s: Kafka's %s, served by Gregor. Options:\n", t.name, t.name)
		t.opts.usage(stdout)
		return nil
	}
	return t.run(&env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, commandConfig: p.get(securityOption(t.name))}, p)
}

// splitSubcommand takes the first of t's subcommands out of args, skipping the values of
// options, and returns it ("" when none is given) and the remaining args.
func splitSubcommand(t *tool, args []string) (string, []string) {
	if len(t.subcommands) == 0 {
		return "", args
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "--") {
			name, _, hasEq := strings.Cut(a[2:], "=")
			if o, ok := t.opts.lookup(name); ok && o.kind == requiredValue && !hasEq {
				i++ // its value
			}
			continue
		}
		if contains(t.subcommands, a) {
			rest := append(append([]string(nil), args[:i]...), args[i+1:]...)
			return a, rest
		}
	}
	return "", args
}

// Main runs the tool named by args[0] (the program's own name) with the rest
// of args, on the process's streams, and returns the exit status.
func Main(args []string) int {
	name := strings.TrimSuffix(filepath.Base(args[0]), ".sh")
	if err := Run(context.Background(), name, args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}

// AddCommands adds "gregor kafka-topics ..." and the other tools, which take
// Kafka's flags unparsed, and "gregor install-aliases DIR", to root.
func AddCommands(root *cobra.Command) {
	for _, n := range Names() {
		root.AddCommand(&cobra.Command{
			Use:                n + " [Kafka's options]",
			Short:              "Kafka's " + n + ", with its flags and output",
			DisableFlagParsing: true,
			RunE: func(cmd *cobra.Command, args []string) error {
				cmd.SilenceUsage = true
				return Run(clientflags.Context(cmd), n, args, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
			},
		})
	}
	root.AddCommand(newInstallAliasesCommand())
}

// bootstrap returns the bootstrap servers from --bootstrap-server or, where the
// tool has it, Kafka's older --broker-list.
func bootstrap(p *parsed) (string, error) {
	if s := p.get("bootstrap-server"); s != "" {
		return s, nil
	}
	if s := p.get("broker-list"); s != "" {
		return s, nil
	}
	return "", errors.New("Missing required argument \"[bootstrap-server]\"")
}

// bootstrapAndTopic returns the bootstrap servers and --topic, which the client tools
// require, or the error for the first one missing.
func bootstrapAndTopic(p *parsed) (bs, topic string, err error) {
	if bs, err = bootstrap(p); err != nil {
		return "", "", err
	}
	if topic, err = p.require("topic"); err != nil {
		return "", "", err
	}
	return bs, topic, nil
}

// runModern runs a modern command (a noun's cobra command with the verb
// first in args) on e's streams, with its output going to stdout.
func runModern(e *env, cmd *cobra.Command, stdout io.Writer, args []string) error {
	if e.commandConfig != "" {
		args = append(args, "--command-config", e.commandConfig)
	}
	cmd.SetArgs(args)
	cmd.SetFlagErrorFunc(clientflags.FlagError)
	cmd.SetIn(e.stdin)
	cmd.SetOut(stdout)
	cmd.SetErr(e.stderr)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	return cmd.ExecuteContext(e.ctx)
}

// runModernJSON runs a modern command with --format json and returns its output.
func runModernJSON(e *env, cmd *cobra.Command, args []string) ([]byte, error) {
	var buf bytes.Buffer
	err := runModern(e, cmd, &buf, append(args, "--format", "json"))
	return buf.Bytes(), err
}

func newInstallAliasesCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "install-aliases DIR",
		Short: "Write kafka-topics, kafka-topics.sh and the other Kafka tool names as symlinks to this binary in DIR",
		Long: `Write symlinks named after Kafka's tools (kafka-topics and kafka-topics.sh,
kafka-console-producer, ...) in DIR, pointing at this binary, so that scripts
written for Kafka run Gregor's drop-in tools. Running it again is harmless; a
file of the same name that is not a symlink is left alone and reported.`,
		Example: `  gregor install-aliases ~/bin`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SilenceUsage = true
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("finding this binary: %w", err)
			}
			if exe, err = filepath.EvalSymlinks(exe); err != nil {
				return fmt.Errorf("finding this binary: %w", err)
			}
			return InstallAliases(args[0], exe, cmd.OutOrStdout())
		},
	}
}

// InstallAliases writes a symlink to exe in dir for every tool name, with and
// without ".sh". A symlink already there is replaced when it points elsewhere;
// anything else of that name is an error, and nothing of it is touched.
func InstallAliases(dir, exe string, w io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var errs []error
	for _, n := range Names() {
		for _, name := range []string{n, n + ".sh"} {
			path := filepath.Join(dir, name)
			fi, err := os.Lstat(path)
			switch {
			case err == nil && fi.Mode()&os.ModeSymlink == 0:
				errs = append(errs, fmt.Errorf("%s exists and is not a symlink; left alone", path))
				continue
			case err == nil:
				if target, _ := os.Readlink(path); target == exe {
					continue
				}
				if err := os.Remove(path); err != nil {
					errs = append(errs, err)
					continue
				}
			case !errors.Is(err, os.ErrNotExist):
				errs = append(errs, err)
				continue
			}
			if err := os.Symlink(exe, path); err != nil {
				errs = append(errs, err)
				continue
			}
			fmt.Fprintf(w, "%s -> %s\n", path, exe)
		}
	}
	return errors.Join(errs...)
}
