package node

import (
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/gregorhq/gregor/internal/auth"
)

// interBrokerClientOpts are the kgo options with which this broker connects to the other
// brokers' inter-broker listener (follower fetchers, transaction markers, KIP-890
// verification), from that listener's own security settings, as Kafka's brokers do:
//
//	SSL, SASL_SSL              TLS with the listener's truststore (listener.name.<l>.ssl.*
//	                           or ssl.*), and its keystore when ssl.client.auth=required
//	SASL_PLAINTEXT, SASL_SSL   sasl.mechanism.inter.broker.protocol (PLAIN by default: GSSAPI,
//	                           Kafka's default, is not supported), authenticating as the
//	                           username and password of the listener's JAAS config
//	                           (listener.name.<l>.<mechanism>.sasl.jaas.config, then
//	                           <mechanism>.sasl.jaas.config, then sasl.jaas.config)
func (n *Node) interBrokerClientOpts() ([]kgo.Opt, error) {
	l := n.cfg.InterBrokerListenerName
	proto := n.cfg.ListenerSecurityProtocolMap[l]
	props := auth.Props{Raw: n.cfg.Raw, Listener: l}
	var opts []kgo.Opt
	if proto == auth.ProtocolSSL || proto == auth.ProtocolSASLSSL {
		t, err := auth.LoadTLS(props)
		if err != nil {
			return nil, fmt.Errorf("inter-broker listener %s: %w", l, err)
		}
		opts = append(opts, kgo.DialTLSConfig(t.ClientConfig()))
	}
	if proto == auth.ProtocolSASLPlaintext || proto == auth.ProtocolSASLSSL {
		mech, err := interBrokerSASL(props)
		if err != nil {
			return nil, fmt.Errorf("inter-broker listener %s: %w", l, err)
		}
		opts = append(opts, kgo.SASL(mech))
	}
	return opts, nil
}

// interBrokerSASL is the SASL mechanism, with this broker's credentials, for the listener.
func interBrokerSASL(props auth.Props) (sasl.Mechanism, error) {
	name := "PLAIN"
	if v, ok := props.Get("sasl.mechanism.inter.broker.protocol"); ok && v != "" {
		name = strings.ToUpper(v)
	}
	mech, _, err := clientSASL(props, "sasl.mechanism.inter.broker.protocol", name)
	return mech, err
}

// clientSASL is the client side of SASL mechanism name (chosen by configKey) with this
// node's credentials: the username and password of the listener's JAAS config
// (<mechanism>.sasl.jaas.config, then sasl.jaas.config, each listener-prefixed first). It
// returns the username too.
func clientSASL(props auth.Props, configKey, name string) (sasl.Mechanism, string, error) {
	var jaas string
	found := false
	for _, key := range []string{strings.ToLower(name) + ".sasl.jaas.config", "sasl.jaas.config"} {
		if jaas, found = props.Get(key); found {
			break
		}
	}
	if !found {
		return nil, "", fmt.Errorf("%s %s: the listener has no sasl.jaas.config with this node's username and password", configKey, name)
	}
	opts, err := auth.ParseJAAS(jaas)
	if err != nil {
		return nil, "", fmt.Errorf("sasl.jaas.config: %w", err)
	}
	user, pass := opts["username"], opts["password"]
	if user == "" {
		return nil, "", fmt.Errorf("sasl.jaas.config of mechanism %s has no username for this node's own connections", name)
	}
	switch name {
	case "PLAIN":
		return plain.Auth{User: user, Pass: pass}.AsMechanism(), user, nil
	case "SCRAM-SHA-256":
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism(), user, nil
	case "SCRAM-SHA-512":
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism(), user, nil
	}
	return nil, "", fmt.Errorf("%s: %s is not supported (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)", configKey, name)
}
