package config

import "strings"

// securityKeys are the listener security keys Gregor implements; internal/auth reads them from
// Raw when it sets a listener up (and reports bad values then), each either plain or with the
// listener.name.<listener>. prefix.
var securityKeys = map[string]bool{
	"ssl.keystore.type": true, "ssl.keystore.location": true, "ssl.keystore.password": true,
	"ssl.key.password": true, "ssl.keystore.certificate.chain": true, "ssl.keystore.key": true,
	"ssl.truststore.type": true, "ssl.truststore.location": true, "ssl.truststore.certificates": true,
	"ssl.truststore.password": true, "ssl.client.auth": true, "ssl.enabled.protocols": true, "ssl.cipher.suites": true,
	"ssl.principal.mapping.rules": true,
	"sasl.enabled.mechanisms":     true, "sasl.jaas.config": true,
	"sasl.mechanism.inter.broker.protocol":      true, // read by internal/node for its inter-broker clients
	"sasl.mechanism.controller.protocol":        true, // read by internal/node for the controller links
	"connection.failed.authentication.delay.ms": true, "connections.max.reauth.ms": true,
	"sasl.oauthbearer.jwks.endpoint.url": true, "sasl.oauthbearer.expected.audience": true,
	"sasl.oauthbearer.expected.issuer": true, "sasl.oauthbearer.sub.claim.name": true,
	"sasl.oauthbearer.scope.claim.name": true, "sasl.oauthbearer.clock.skew.seconds": true,
	"sasl.oauthbearer.jwks.endpoint.refresh.ms": true,
	// Read by auth.AuthorizerFromProps.
	"authorizer.class.name": true, "super.users": true, "allow.everyone.if.no.acl.found": true,
}

// saslMechanismPrefixes are the mechanism prefixes of per-mechanism configs
// (listener.name.<listener>.<mechanism>.sasl.jaas.config, ...connections.max.reauth.ms, and
// ...oauthbearer.sasl.oauthbearer.*).
var saslMechanismPrefixes = []string{"plain.", "scram-sha-256.", "scram-sha-512.", "oauthbearer."}

// isSecurityKey reports whether key is one of securityKeys, plain or listener-prefixed.
func isSecurityKey(key string) bool {
	if securityKeys[key] {
		return true
	}
	rest, ok := strings.CutPrefix(key, "listener.name.")
	if !ok {
		return false
	}
	_, sub, ok := strings.Cut(rest, ".")
	if !ok {
		return false
	}
	for _, p := range saslMechanismPrefixes {
		if m, ok := strings.CutPrefix(sub, p); ok && (m == "sasl.jaas.config" || m == "connections.max.reauth.ms" ||
			p == "oauthbearer." && strings.HasPrefix(m, "sasl.oauthbearer.") && securityKeys[m]) {
			return true
		}
	}
	return securityKeys[sub]
}
