package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"github.com/gregorhq/gregor/internal/metadata"
)

// SCRAM (RFC 5802, with SHA-256 and SHA-512 as RFC 7677 and Kafka use them). The exchange:
//
//	client-first  n,[a=authzid],n=user,r=cnonce
//	server-first  r=cnonce+snonce,s=base64(salt),i=iterations
//	client-final  c=base64(gs2 header),r=cnonce+snonce,p=base64(ClientProof)
//	server-final  v=base64(ServerSignature)
//
// with SaltedPassword = PBKDF2(password, salt, iterations), ClientKey = HMAC(SaltedPassword,
// "Client Key"), StoredKey = H(ClientKey), ServerKey = HMAC(SaltedPassword, "Server Key"),
// ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage) and ServerSignature =
// HMAC(ServerKey, AuthMessage), AuthMessage being client-first-bare,server-first,client-final
// without its proof. The broker keeps only the salt, StoredKey, ServerKey and iterations.

// Kafka's bounds on SCRAM iterations (ScramMechanism.minIterations/maxIterations).
const (
	ScramMinIterations = 4096
	ScramMaxIterations = 16384
)

// scramMaxMessage bounds a SCRAM client message; real ones are a few hundred bytes.
const scramMaxMessage = 4096

// ScramMechanismByName maps SCRAM-SHA-256 and SCRAM-SHA-512 to their ids.
func ScramMechanismByName(name string) (metadata.ScramMechanism, bool) {
	switch strings.ToUpper(name) {
	case MechanismScramSHA256:
		return metadata.ScramSHA256, true
	case MechanismScramSHA512:
		return metadata.ScramSHA512, true
	}
	return 0, false
}

// ScramMechanismName is the name of a mechanism id, "UNKNOWN" for others.
func ScramMechanismName(m metadata.ScramMechanism) string {
	switch m {
	case metadata.ScramSHA256:
		return MechanismScramSHA256
	case metadata.ScramSHA512:
		return MechanismScramSHA512
	}
	return "UNKNOWN"
}

func scramHash(m metadata.ScramMechanism) func() hash.Hash {
	if m == metadata.ScramSHA512 {
		return sha512.New
	}
	return sha256.New
}

func hmacOf(h func() hash.Hash, key []byte, msg string) []byte {
	mac := hmac.New(h, key)
	mac.Write([]byte(msg))
	return mac.Sum(nil)
}

// ScramCredentialFromSalted builds the stored credential from a salted password, as
// AlterUserScramCredentials sends it.
func ScramCredentialFromSalted(m metadata.ScramMechanism, salt, saltedPassword []byte, iterations int32) metadata.ScramCredential {
	h := scramHash(m)
	clientKey := hmacOf(h, saltedPassword, "Client Key")
	stored := h()
	stored.Write(clientKey)
	return metadata.ScramCredential{
		Salt:       salt,
		StoredKey:  stored.Sum(nil),
		ServerKey:  hmacOf(h, saltedPassword, "Server Key"),
		Iterations: iterations,
	}
}

// SaltPassword is PBKDF2 with the mechanism's hash: the SaltedPassword of RFC 5802.
func SaltPassword(m metadata.ScramMechanism, password string, salt []byte, iterations int) ([]byte, error) {
	h := scramHash(m)
	return pbkdf2.Key(h, password, salt, iterations, h().Size())
}

// fakeSaltKey makes the salt offered for a user that does not exist: stable for a user within
// one process, so that probing twice does not tell an unknown user from a known one.
var fakeSaltKey = func() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}()

// scramExchange is the server side of one SCRAM exchange.
type scramExchange struct {
	mech   metadata.ScramMechanism
	lookup ScramLookup

	stage       int // 0: awaiting client-first; 1: awaiting client-final; 2: over
	user        string
	known       bool
	cred        metadata.ScramCredential
	gs2Header   string
	nonce       string // client nonce + server nonce
	authMessage string // client-first-bare + "," + server-first, completed at the end
}

func newScramExchange(m metadata.ScramMechanism, lookup ScramLookup) *scramExchange {
	return &scramExchange{mech: m, lookup: lookup}
}

var errScramMalformed = errors.New("SCRAM: malformed message")

func (s *scramExchange) step(msg []byte) ([]byte, string, bool, error) {
	if len(msg) > scramMaxMessage {
		s.stage = 2
		return nil, "", false, errScramMalformed
	}
	switch s.stage {
	case 0:
		s.stage = 2 // unless the message is good
		reply, err := s.clientFirst(string(msg))
		if err != nil {
			return nil, "", false, err
		}
		s.stage = 1
		return reply, "", false, nil
	case 1:
		s.stage = 2
		reply, err := s.clientFinal(string(msg))
		if err != nil {
			return nil, "", false, err
		}
		return reply, s.user, true, nil
	}
	return nil, "", false, errScramMalformed
}

func (s *scramExchange) clientFirst(msg string) ([]byte, error) {
	// gs2-header: "n," or "y," (no channel binding on offer), then [a=authzid] ",".
	cb, rest, ok := strings.Cut(msg, ",")
	if !ok || (cb != "n" && cb != "y") {
		return nil, errScramMalformed
	}
	authz, bare, ok := strings.Cut(rest, ",")
	if !ok {
		return nil, errScramMalformed
	}
	s.gs2Header = cb + "," + authz + ","
	attrs := strings.Split(bare, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "n=") || !strings.HasPrefix(attrs[1], "r=") {
		return nil, errScramMalformed
	}
	user, err := scramUnescape(attrs[0][2:])
	if err != nil || user == "" {
		return nil, errScramMalformed
	}
	cnonce := attrs[1][2:]
	if cnonce == "" || !printable(cnonce) {
		return nil, errScramMalformed
	}
	// Extensions (Kafka's tokenauth for delegation tokens) are not supported.
	for _, a := range attrs[2:] {
		if strings.HasPrefix(a, "tokenauth=") && a != "tokenauth=false" {
			return nil, errScramMalformed
		}
	}
	if authz != "" {
		a, err := scramUnescape(strings.TrimPrefix(authz, "a="))
		if !strings.HasPrefix(authz, "a=") || err != nil || a != user {
			return nil, errScramMalformed
		}
	}
	s.user = user
	if s.lookup != nil {
		s.cred, s.known = s.lookup(user, s.mech)
	}
	if !s.known {
		// Go on with a made-up credential: the exchange fails at the proof, as for a wrong
		// password, and the salt does not reveal that the user is unknown.
		salt := hmacOf(sha256.New, fakeSaltKey, user)[:16]
		s.cred = metadata.ScramCredential{Salt: salt, Iterations: ScramMinIterations}
	}
	snonce := make([]byte, 24)
	rand.Read(snonce)
	s.nonce = cnonce + base64.RawStdEncoding.EncodeToString(snonce)
	serverFirst := "r=" + s.nonce + ",s=" + base64.StdEncoding.EncodeToString(s.cred.Salt) +
		",i=" + strconv.Itoa(int(s.cred.Iterations))
	s.authMessage = bare + "," + serverFirst
	return []byte(serverFirst), nil
}

func (s *scramExchange) clientFinal(msg string) ([]byte, error) {
	i := strings.LastIndex(msg, ",p=")
	if i < 0 {
		return nil, errScramMalformed
	}
	withoutProof, proofB64 := msg[:i], msg[i+3:]
	attrs := strings.Split(withoutProof, ",")
	// The nonce must end with the one the server sent, as Kafka checks it: librdkafka sends
	// the client nonce again in front of it, and Kafka accepts that. The proof covers exactly
	// what the client sent, so nothing is weakened.
	if len(attrs) < 2 || attrs[0] != "c="+base64.StdEncoding.EncodeToString([]byte(s.gs2Header)) ||
		!strings.HasPrefix(attrs[1], "r=") || !strings.HasSuffix(attrs[1], s.nonce) {
		return nil, errScramMalformed
	}
	proof, err := base64.StdEncoding.DecodeString(proofB64)
	if err != nil {
		return nil, errScramMalformed
	}
	h := scramHash(s.mech)
	s.authMessage += "," + withoutProof
	clientSig := hmacOf(h, s.cred.StoredKey, s.authMessage)
	if !s.known || len(proof) != len(clientSig) {
		return nil, ErrAuthenticationFailed
	}
	clientKey := make([]byte, len(proof))
	for i := range proof {
		clientKey[i] = proof[i] ^ clientSig[i]
	}
	stored := h()
	stored.Write(clientKey)
	if subtle.ConstantTimeCompare(stored.Sum(nil), s.cred.StoredKey) != 1 {
		return nil, ErrAuthenticationFailed
	}
	serverSig := hmacOf(h, s.cred.ServerKey, s.authMessage)
	return []byte("v=" + base64.StdEncoding.EncodeToString(serverSig)), nil
}

// scramUnescape decodes a saslname: "=2C" is ',' and "=3D" is '='; any other '=' is an error.
func scramUnescape(s string) (string, error) {
	if !strings.Contains(s, "=") {
		return s, nil
	}
	var b bytes.Buffer
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
		default:
			return "", fmt.Errorf("bad escape in %q", s)
		}
		i += 2
	}
	return b.String(), nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e || s[i] == ',' {
			return false
		}
	}
	return true
}
