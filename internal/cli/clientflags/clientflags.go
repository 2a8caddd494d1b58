// Package clientflags holds the connection flags every client command shares,
// with Kafka's names (--bootstrap-server, --command-config), and turns them
// into a franz-go client.
package clientflags

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultBootstrapServer is where commands connect when --bootstrap-server is
// not given, as in Kafka's tools.
const DefaultBootstrapServer = "localhost:9092"

// ClientID is the client.id the commands send, so broker logs show them.
const ClientID = "gregor-cli"

// Flags are the connection flags.
type Flags struct {
	// BootstrapServer is a comma-separated list of host:port to bootstrap
	// from, as in Kafka's --bootstrap-server.
	BootstrapServer string
	// CommandConfig is a Kafka client properties file (security.protocol,
	// sasl.*, ssl.*), as in Kafka's --command-config; "" for none.
	CommandConfig string
}

// Register adds the flags to fs. Nouns with several verbs register them on
// their persistent flag set so every verb accepts them.
func (f *Flags) Register(fs *pflag.FlagSet) {
	fs.StringVar(&f.BootstrapServer, "bootstrap-server", DefaultBootstrapServer,
		"comma-separated host:port list of brokers to bootstrap from")
	fs.StringVar(&f.CommandConfig, "command-config", "",
		"Kafka client properties file: security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, ssl.keystore.location, ...")
}

// Brokers returns the bootstrap addresses, or an error if there are none.
func (f *Flags) Brokers() ([]string, error) {
	var brokers []string
	for _, b := range strings.Split(f.BootstrapServer, ",") {
		if b = strings.TrimSpace(b); b != "" {
			brokers = append(brokers, b)
		}
	}
	if len(brokers) == 0 {
		return nil, fmt.Errorf("--bootstrap-server: no broker address given")
	}
	return brokers, nil
}

// NewClient returns a franz-go client for the flags plus extra options.
// The caller closes it.
func (f *Flags) NewClient(extra ...kgo.Opt) (*kgo.Client, error) {
	brokers, err := f.Brokers()
	if err != nil {
		return nil, err
	}
	opts := []kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ClientID(ClientID)}
	if f.CommandConfig != "" {
		props, err := ReadCommandConfig(f.CommandConfig)
		if err != nil {
			return nil, err
		}
		sec, err := SecurityOpts(props)
		if err != nil {
			return nil, fmt.Errorf("--command-config %s: %w", f.CommandConfig, err)
		}
		opts = append(opts, sec...)
	}
	opts = append(opts, extra...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("creating client: %w", err)
	}
	return cl, nil
}

// NewAdmin returns an admin client for the flags. Closing it closes the
// underlying client.
func (f *Flags) NewAdmin() (*kadm.Client, error) {
	cl, err := f.NewClient()
	if err != nil {
		return nil, err
	}
	return kadm.NewClient(cl), nil
}

// Context returns the command's context, or Background when it has none (a command run
// outside Execute, as in some tests).
func Context(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}
