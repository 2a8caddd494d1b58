package auth

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// MechanismOAuthBearer is the OAUTHBEARER SASL mechanism (RFC 7628, KIP-255, KIP-768).
const MechanismOAuthBearer = "OAUTHBEARER"

// oauthErrorJSON is the server's challenge when a token is refused (RFC 7628 3.2.2), as Kafka
// sends it; the client answers with a single %x01 and the exchange fails with this message.
const oauthErrorJSON = `{"status":"invalid_token"}`

// OAuthBearerMessage is the client's first (and only) OAUTHBEARER message:
//
//	gs2-header  = "n," [ "a=" authzid ] ","
//	message     = gs2-header %x01 "auth=Bearer " token %x01 *( key "=" value %x01 ) %x01
//
// Keys other than "auth" are SASL extensions (KIP-342): key is ALPHA+, value is printable
// ASCII, space and the CR, LF, TAB controls.
type OAuthBearerMessage struct {
	// AuthzID is the authorization id of the GS2 header, "=2C" and "=3D" decoded.
	AuthzID string
	// Token is the bearer token.
	Token string
	// Extensions are the other key/value pairs.
	Extensions map[string]string
}

// ParseOAuthBearerMessage parses the client's first OAUTHBEARER message.
func ParseOAuthBearerMessage(msg []byte) (OAuthBearerMessage, error) {
	var m OAuthBearerMessage
	s, ok := strings.CutPrefix(string(msg), "n,")
	if !ok {
		return m, errors.New(`OAUTHBEARER: the message must start with "n," (no channel binding)`)
	}
	authz, rest, ok := strings.Cut(s, ",")
	if !ok {
		return m, errors.New("OAUTHBEARER: unterminated GS2 header")
	}
	if authz != "" {
		name, ok := strings.CutPrefix(authz, "a=")
		if !ok || name == "" {
			return m, errors.New("OAUTHBEARER: bad authorization id")
		}
		var err error
		if m.AuthzID, err = decodeSASLName(name); err != nil {
			return m, err
		}
	}
	body, ok := strings.CutPrefix(rest, "\x01")
	if !ok {
		return m, errors.New("OAUTHBEARER: want %x01 after the GS2 header")
	}
	body, ok = strings.CutSuffix(body, "\x01\x01")
	if !ok {
		return m, errors.New("OAUTHBEARER: want %x01%x01 at the end")
	}
	m.Extensions = map[string]string{}
	auth, haveAuth := "", false
	for _, kv := range strings.Split(body, "\x01") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !isSASLExtKey(k) || !isSASLExtValue(v) {
			return m, fmt.Errorf("OAUTHBEARER: bad key/value %q", kv)
		}
		if k == "auth" {
			if haveAuth {
				return m, errors.New("OAUTHBEARER: auth given twice")
			}
			auth, haveAuth = v, true
			continue
		}
		if _, dup := m.Extensions[k]; dup {
			return m, fmt.Errorf("OAUTHBEARER: extension %q given twice", k)
		}
		m.Extensions[k] = v
	}
	scheme, token, ok := strings.Cut(auth, " ")
	token = strings.TrimLeft(token, " ")
	if !haveAuth || !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || !isBearerToken(token) {
		return m, errors.New(`OAUTHBEARER: want "auth=Bearer <token>"`)
	}
	m.Token = token
	return m, nil
}

// decodeSASLName decodes an RFC 5802 saslname: "=2C" is ',' and "=3D" is '='.
func decodeSASLName(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '=' && strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
			i += 2
		case s[i] == '=' && strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
			i += 2
		case s[i] == '=' || s[i] == 0 || s[i] > 0x7f:
			return "", errors.New("OAUTHBEARER: bad authorization id")
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}

func isSASLExtKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func isSASLExtValue(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if (c < 0x21 || c > 0x7e) && c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// isBearerToken reports whether t has only the characters a bearer token may (RFC 6750 b64token
// as Kafka reads it: base64url and '.').
func isBearerToken(t string) bool {
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// oauthExchange is the server side of OAUTHBEARER. A valid token completes the exchange at
// once; a refused one is answered with the error JSON, and the client's %x01 that follows
// ends the exchange with a failure, as RFC 7628 3.2.3 and Kafka do.
type oauthExchange struct {
	validator *JWTValidator
	// refused is set once the error JSON was sent.
	refused bool
	done    bool
	// expiry is the token's "exp", once it is valid.
	expiry time.Time
}

func (o *oauthExchange) step(msg []byte) ([]byte, string, bool, error) {
	switch {
	case o.done:
		return nil, "", false, ErrAuthenticationFailed
	case o.refused:
		o.done = true
		return nil, "", false, &authFailure{msg: oauthErrorJSON}
	}
	m, err := ParseOAuthBearerMessage(msg)
	if err != nil {
		o.done = true
		return nil, "", false, &authFailure{msg: "Authentication failed: " + err.Error()}
	}
	tok, err := o.validator.Validate(m.Token)
	if err != nil {
		o.refused = true
		return []byte(oauthErrorJSON), "", false, nil
	}
	o.done = true
	if m.AuthzID != "" && m.AuthzID != tok.Principal {
		return nil, "", false, &authFailure{msg: fmt.Sprintf(
			"Authentication failed: Client requested an authorization id (%s) that is different from the token's principal name (%s)",
			m.AuthzID, tok.Principal)}
	}
	o.expiry = tok.Expiry
	return []byte{}, tok.Principal, true, nil
}

// credentialExpiry is when the token expires: the session may not outlive it.
func (o *oauthExchange) credentialExpiry() time.Time { return o.expiry }

// authFailure is a failed authentication whose message the client is told (OAUTHBEARER's error
// JSON, a principal changed by re-authentication), where other failures get FailedMessage.
type authFailure struct{ msg string }

func (e *authFailure) Error() string { return e.msg }

// Is makes errors.Is(err, ErrAuthenticationFailed) true for every failed authentication.
func (e *authFailure) Is(target error) bool { return target == ErrAuthenticationFailed }

// FailureMessage is the message a client gets for err, a failed authentication: the mechanism's
// own when it has one the client may see, FailedMessage otherwise.
func FailureMessage(err error) string {
	var f *authFailure
	if errors.As(err, &f) {
		return f.msg
	}
	return FailedMessage
}
