package node

import (
	"fmt"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/controller"
)

// controllerSecurity sets the security of the controller links in cc from the first of
// controller.listener.names and its protocol in listener.security.protocol.map, as Kafka's
// nodes do: the controller listener serves with it, and every node dials the controllers (and
// the active controller dials the other voters and a broker-only node's Raft listener) with it.
//
//	PLAINTEXT                   no security
//	SSL                         TLS with the listener's keystore and truststore
//	                            (listener.name.<l>.ssl.* or ssl.*); the dialling side presents
//	                            its keystore when ssl.client.auth=required
//	SASL_PLAINTEXT, SASL_SSL    not supported: the node refuses to start rather than fall
//	                            back to a weaker protocol
func (n *Node) controllerSecurity(cc *controller.Config) error {
	if len(n.cfg.ControllerListenerNames) == 0 {
		return nil
	}
	l := n.cfg.ControllerListenerNames[0]
	proto := n.cfg.ListenerSecurityProtocolMap[l]
	switch proto {
	case "", auth.ProtocolPlaintext:
		return nil
	case auth.ProtocolSSL:
		t, err := auth.LoadTLS(auth.Props{Raw: n.cfg.Raw, Listener: l})
		if err != nil {
			return fmt.Errorf("controller listener %s: %w", l, err)
		}
		cc.ListenerTLS, cc.DialTLS = t.ServerConfig(), t.ClientConfig
		return nil
	}
	return fmt.Errorf("controller listener %s: security protocol %s is not supported on the controller listener (PLAINTEXT or SSL)", l, proto)
}
