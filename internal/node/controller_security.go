package node

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/controller"
)

// controllerSecurity sets the security of the controller links in cc from the first of
// controller.listener.names and its protocol in listener.security.protocol.map, as Kafka's
// nodes do: the controller listener serves with it, and every node dials the controllers (and
// the active controller dials the other voters and a broker-only node's Raft listener) with it.
//
//	PLAINTEXT                   no security
//	SSL, SASL_SSL               TLS with the listener's keystore and truststore
//	                            (listener.name.<l>.ssl.* or ssl.*); the dialling side presents
//	                            its keystore when ssl.client.auth=required
//	SASL_PLAINTEXT, SASL_SSL    sasl.mechanism.controller.protocol, PLAIN by default (Kafka's
//	                            default, GSSAPI, is not supported) and PLAIN only: SCRAM is
//	                            refused, since its credentials live in the metadata log the
//	                            controllers serve. The node authenticates as the username and
//	                            password of the listener's JAAS config
//	                            (listener.name.<l>.plain.sasl.jaas.config, ...) and accepts
//	                            its user_<name> entries; the listener's sasl.enabled.mechanisms
//	                            defaults to that one mechanism
//
// With an authorizer (authorizer.class.name), a SASL controller listener admits only this
// node's own principal and the principals allowed CLUSTER_ACTION (super.users, ACLs).
func (n *Node) controllerSecurity(cc *controller.Config) error {
	if len(n.cfg.ControllerListenerNames) == 0 {
		return nil
	}
	l := n.cfg.ControllerListenerNames[0]
	proto := n.cfg.ListenerSecurityProtocolMap[l]
	props := auth.Props{Raw: n.cfg.Raw, Listener: l}
	switch proto {
	case "", auth.ProtocolPlaintext, auth.ProtocolSSL, auth.ProtocolSASLPlaintext, auth.ProtocolSASLSSL:
	default:
		return fmt.Errorf("controller listener %s: security protocol %s is not supported on the controller listener", l, proto)
	}
	if proto == auth.ProtocolSSL || proto == auth.ProtocolSASLSSL {
		t, err := auth.LoadTLS(props)
		if err != nil {
			return fmt.Errorf("controller listener %s: %w", l, err)
		}
		cc.ListenerTLS, cc.DialTLS = t.ServerConfig(), t.ClientConfig
	}
	if proto == auth.ProtocolSASLPlaintext || proto == auth.ProtocolSASLSSL {
		if err := n.controllerSASL(cc, props); err != nil {
			return fmt.Errorf("controller listener %s (%s): %w", l, proto, err)
		}
	}
	return nil
}

// controllerSASL sets the SASL of the controller links in cc (see controllerSecurity).
func (n *Node) controllerSASL(cc *controller.Config, props auth.Props) error {
	name := auth.MechanismPlain
	if v, ok := props.Get("sasl.mechanism.controller.protocol"); ok && v != "" {
		name = strings.ToUpper(v)
	}
	if err := controllerMechanismOK("sasl.mechanism.controller.protocol", name); err != nil {
		return err
	}
	mech, user, err := clientSASL(props, "sasl.mechanism.controller.protocol", name)
	if err != nil {
		return err
	}
	// No SCRAM lookup: SCRAM is refused here, and the metadata image is not there yet.
	sc, err := auth.LoadSASL(props, nil)
	if err != nil {
		return err
	}
	if _, set := props.Get("sasl.enabled.mechanisms"); set {
		for _, m := range sc.Mechanisms {
			if err := controllerMechanismOK("sasl.enabled.mechanisms", m); err != nil {
				return err
			}
		}
		if !slices.Contains(sc.Mechanisms, name) {
			return fmt.Errorf("sasl.mechanism.controller.protocol %s is not in the listener's sasl.enabled.mechanisms %s", name, strings.Join(sc.Mechanisms, ","))
		}
	} else {
		sc.Mechanisms = []string{name}
	}
	// Controller connections are long-lived peers: no KIP-368 session lifetime.
	sc.MaxReauth = nil
	cc.ListenerSASL, cc.DialSASL = sc, mech
	cc.ListenerName = props.Listener
	if ac, ok := auth.AuthorizerConfigFromProps(n.cfg.Raw); ok {
		cc.PeerAuthorization = &ac
		cc.PeerPrincipal = "User:" + user
	}
	return nil
}

// controllerMechanismOK refuses the mechanisms the controller listener cannot use.
func controllerMechanismOK(key, name string) error {
	switch name {
	case auth.MechanismPlain:
		return nil
	case auth.MechanismScramSHA256, auth.MechanismScramSHA512:
		return fmt.Errorf("%s: %s is not supported on the controller listener: SCRAM credentials live in the metadata log, which a controller must read before it could verify them (use PLAIN)", key, name)
	}
	return fmt.Errorf("%s: %s is not supported on the controller listener (PLAIN)", key, name)
}
