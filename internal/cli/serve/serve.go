// Package serve is the `gregor serve` command: run a node until SIGINT or SIGTERM.
package serve

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/node"
)

// NewCommand returns the serve command.
func NewCommand() *cobra.Command {
	var (
		configFile string
		overrides  []string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a Gregor node (broker and controller)",
		Long: `Run a Gregor node. With no flags it is a single-node cluster: node id 1, clients on
localhost:9092, the controller on 9093, data in ./gregor-data.

Configuration uses Kafka's names: --config reads a server.properties file, and each
--override key=value (repeatable) takes precedence over it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(configFile, overrides)
			if err != nil {
				return err
			}
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
			for _, w := range cfg.Ignored {
				logger.Warn("Kafka config key accepted but not implemented yet", "key", w)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			n, err := node.Start(ctx, cfg, logger)
			if err != nil {
				return err
			}
			select {
			case <-ctx.Done():
			case <-n.Replaced():
				// Another process registered with this node.id: exit rather than serve
				// as a broker the cluster no longer counts on.
				logger.Error("a newer process of this broker registered; shutting down")
				_ = n.Close()
				return fmt.Errorf("broker %d: replaced by a newer process with the same node.id", cfg.NodeID)
			}
			logger.Info("shutting down")
			if err := n.Close(); err != nil {
				return fmt.Errorf("shutdown: %w", err)
			}
			logger.Info("stopped")
			return nil
		},
	}
	cmd.Flags().StringVar(&configFile, "config", "", "server.properties file (Kafka's key=value format)")
	cmd.Flags().StringArrayVar(&overrides, "override", nil, "a config key=value that overrides the file (repeatable)")
	return cmd
}

// loadConfig reads the properties file, applies the overrides and validates the result.
func loadConfig(file string, overrides []string) (config.Broker, error) {
	props := map[string]string{}
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return config.Broker{}, err
		}
		defer f.Close()
		props, err = config.ParseProperties(f)
		if err != nil {
			return config.Broker{}, fmt.Errorf("%s: %w", file, err)
		}
	}
	for _, o := range overrides {
		k, v, ok := strings.Cut(o, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return config.Broker{}, fmt.Errorf("--override %q: want key=value", o)
		}
		props[strings.TrimSpace(k)] = v
	}
	return config.Load(props)
}
