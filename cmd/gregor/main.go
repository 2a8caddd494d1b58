// Command gregor is the Gregor broker, controller and command-line tools in one binary.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/gregorhq/gregor/internal/cli"
	"github.com/gregorhq/gregor/internal/cli/dev"
	"github.com/gregorhq/gregor/internal/cli/dropin"
	"github.com/gregorhq/gregor/internal/cli/serve"
)

func main() {
	// Called as kafka-topics (a symlink from "gregor install-aliases"), be that tool.
	if dropin.IsTool(os.Args[0]) {
		os.Exit(dropin.Main(os.Args))
	}
	root := &cobra.Command{
		Use:           "gregor",
		Short:         "Gregor: Kafka-compatible event streaming in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serve.NewCommand(), dev.NewCommand())
	cli.AddCommands(root)
	dropin.AddCommands(root)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "gregor:", err)
		os.Exit(1)
	}
}
