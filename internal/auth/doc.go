// Package auth authenticates client connections: TLS for the SSL and SASL_SSL listeners
// (PEM or PKCS#12 keystores and truststores, re-read from disk when they change, mutual TLS
// principals), and the SASL mechanisms PLAIN, SCRAM-SHA-256/512 and OAUTHBEARER for the
// SASL_PLAINTEXT and SASL_SSL listeners; and authorizes their requests against ACLs
// (authorizer.go: Kafka's StandardAuthorizer, on when authorizer.class.name is set, with
// super.users and allow.everyone.if.no.acl.found). ACLs live in the cluster metadata
// (AccessControlEntryRecord) and are changed with CreateAcls and DeleteAcls; internal/api
// checks each request where Kafka's KafkaApis does.
//
// Each connection has a Session (reachable from a handler's context with SessionFrom) that
// holds its listener, its security protocol, where its SASL exchange stands and, once known,
// its principal ("User:alice", "User:CN=client,O=Example", or "User:ANONYMOUS").
//
// A SASL exchange, as Kafka runs it:
//
//	client                                 broker
//	ApiVersions (optional)          ->
//	SaslHandshake(mechanism)        ->     enabled mechanisms, or UNSUPPORTED_SASL_MECHANISM
//	v1: SaslAuthenticate(token)     <->    token ... until the mechanism completes
//	v0: raw size-prefixed tokens    <->    raw size-prefixed tokens, no request header
//
// Until it completes, a SASL listener serves only ApiVersions, SaslHandshake and
// SaslAuthenticate; any other request closes the connection. A failure is answered with
// SASL_AUTHENTICATION_FAILED and a generic message after connection.failed.authentication.delay.ms,
// then the connection closes.
//
// SCRAM credentials (salt, stored key, server key, iterations; never the password) live in the
// cluster metadata and are changed with AlterUserScramCredentials; PLAIN users come from the
// listener's JAAS config (user_<name>="<password>"), as in Kafka.
//
// OAUTHBEARER (RFC 7628) takes a JWT, checked against the JSON Web Key Set of
// sasl.oauthbearer.jwks.endpoint.url (a file, re-read when it changes): RS256/384/512,
// PS256/384/512 or ES256/384/512 signatures, exp, iat, nbf, the expected audience and issuer.
// The principal is "User:" and the subject claim. A refused token is answered, as in Kafka,
// with the challenge {"status":"invalid_token"}; the client's %x01 then ends the exchange with
// SASL_AUTHENTICATION_FAILED and the connection closes.
//
// Re-authentication (KIP-368): with connections.max.reauth.ms > 0, SaslAuthenticate v1+ tells
// the client its session lifetime (cut to the token's exp for OAUTHBEARER). Before it ends, the
// client runs SaslHandshake and SaslAuthenticate again on the same connection, between requests,
// with the same mechanism and principal; a request after the end closes the connection.
//
// A client certificate's principal follows ssl.principal.mapping.rules (DEFAULT and
// RULE:pattern/replacement/[LU]).
//
// Not yet there: GSSAPI, http(s) JWKS endpoints, unsecured (unsigned) OAUTHBEARER tokens,
// delegation tokens, JKS keystores, encrypted PKCS#8 PEM keys; ACLs on DELEGATION_TOKEN
// resources are stored but nothing checks them (no delegation tokens); authorized-operations
// bitfields in Metadata and Describe* answers do not follow the ACLs yet.
package auth
