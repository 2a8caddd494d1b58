package auth

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/gregorhq/gregor/internal/metadata"
)

func TestParseJAAS(t *testing.T) {
	cases := []struct {
		in   string
		want map[string]string
		bad  bool
	}{
		{in: `org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="secret";`,
			want: map[string]string{"user_alice": "secret"}},
		{in: "m required\n  username=admin password=\"a b\\\"c\" user_bob=\"x;y\" ;",
			want: map[string]string{"username": "admin", "password": `a b"c`, "user_bob": "x;y"}},
		{in: `m optional;`, want: map[string]string{}},
		{in: `m required user_a="x"`, bad: true},   // no ';'
		{in: `m maybe user_a="x";`, bad: true},     // bad flag
		{in: `m required user_a="x;`, bad: true},   // unterminated quote
		{in: `m required user_a;`, bad: true},      // no '='
		{in: `m required; n required;`, bad: true}, // two modules
		{in: `;`, bad: true},                       // no module
	}
	for _, c := range cases {
		got, err := ParseJAAS(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("%q: parsed as %v", c.in, got)
			}
			continue
		}
		if err != nil || len(got) != len(c.want) {
			t.Errorf("%q: %v, %v; want %v", c.in, got, err, c.want)
			continue
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("%q: %s=%q, want %q", c.in, k, got[k], v)
			}
		}
	}
}

func testSASL(t testing.TB) *SASL {
	t.Helper()
	creds := map[metadata.ScramKey]metadata.ScramCredential{}
	for _, m := range []metadata.ScramMechanism{metadata.ScramSHA256, metadata.ScramSHA512} {
		salted, err := SaltPassword(m, "pw", []byte("salty"), 4096)
		if err != nil {
			t.Fatal(err)
		}
		creds[metadata.ScramKey{User: "alice", Mechanism: m}] = ScramCredentialFromSalted(m, []byte("salty"), salted, 4096)
	}
	return &SASL{
		Mechanisms: DefaultMechanisms,
		PlainUsers: map[string]string{"alice": "pw"},
		Scram: func(user string, m metadata.ScramMechanism) (metadata.ScramCredential, bool) {
			c, ok := creds[metadata.ScramKey{User: user, Mechanism: m}]
			return c, ok
		},
	}
}

// TestScramAgainstFranzGo runs the server side against franz-go's client side.
func TestScramAgainstFranzGo(t *testing.T) {
	cfg := testSASL(t)
	for _, c := range []struct {
		mech string
		auth scram.Auth
		ok   bool
	}{
		{MechanismScramSHA256, scram.Auth{User: "alice", Pass: "pw"}, true},
		{MechanismScramSHA512, scram.Auth{User: "alice", Pass: "pw"}, true},
		{MechanismScramSHA256, scram.Auth{User: "alice", Pass: "nope"}, false},
		{MechanismScramSHA512, scram.Auth{User: "bob", Pass: "pw"}, false},
		{MechanismScramSHA256, scram.Auth{User: "alice", Pass: "pw", Zid: "bob"}, false},
	} {
		m := c.auth.AsSha256Mechanism()
		if c.mech == MechanismScramSHA512 {
			m = c.auth.AsSha512Mechanism()
		}
		sess := NewSession("SASL_PLAINTEXT", ProtocolSASLPlaintext, cfg)
		if err := sess.Handshake(c.mech, 1); err != nil {
			t.Fatal(err)
		}
		client, msg, err := m.Authenticate(context.Background(), "127.0.0.1:9092")
		if err != nil {
			t.Fatal(err)
		}
		var authErr error
		for i := 0; i < 3 && !sess.Authenticated(); i++ {
			var reply []byte
			reply, authErr = sess.Authenticate(context.Background(), msg)
			if authErr != nil {
				break
			}
			var done bool
			done, msg, err = client.Challenge(reply)
			if err != nil {
				t.Fatalf("%s %+v: client refused the server: %v", c.mech, c.auth, err)
			}
			if done {
				break
			}
		}
		if c.ok != sess.Authenticated() || c.ok != (authErr == nil) {
			t.Fatalf("%s %+v: authenticated %v, err %v", c.mech, c.auth, sess.Authenticated(), authErr)
		}
		if c.ok && sess.Principal() != "User:alice" {
			t.Fatalf("principal %q", sess.Principal())
		}
		if !c.ok && (!errors.Is(authErr, ErrAuthenticationFailed) || !sess.CloseAfterReply()) {
			t.Fatalf("failure: %v, close %v", authErr, sess.CloseAfterReply())
		}
	}
}

func TestSessionStates(t *testing.T) {
	plainListener := NewSession("PLAINTEXT", ProtocolPlaintext, nil)
	if !plainListener.Authenticated() || plainListener.Principal() != Anonymous {
		t.Fatal("a plaintext session must start authenticated as ANONYMOUS")
	}
	if err := plainListener.Handshake("PLAIN", 1); err != kerr.IllegalSaslState || plainListener.CloseAfterReply() {
		t.Fatalf("handshake on PLAINTEXT: %v", err)
	}
	plainListener.SetTLSPrincipal("User:CN=x")
	if plainListener.Principal() != "User:CN=x" {
		t.Fatal("TLS principal not kept")
	}

	s := NewSession("SASL_PLAINTEXT", ProtocolSASLPlaintext, testSASL(t))
	if _, err := s.Authenticate(context.Background(), []byte("x")); err != kerr.IllegalSaslState {
		t.Fatalf("authenticate before handshake: %v", err)
	}
	s = NewSession("SASL_PLAINTEXT", ProtocolSASLPlaintext, testSASL(t))
	if err := s.Handshake("PLAIN", 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Handshake("PLAIN", 1); err != kerr.IllegalSaslState {
		t.Fatalf("second handshake: %v", err)
	}
}

func TestCertPrincipal(t *testing.T) {
	c := &x509.Certificate{Subject: pkix.Name{CommonName: "client", Organization: []string{"Gregor"}, Country: []string{"NL"}}}
	if got, want := CertPrincipal(c), "User:CN=client,O=Gregor,C=NL"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestPrincipalMappingRules(t *testing.T) {
	cert := func(cn, ou, o string) *x509.Certificate {
		n := pkix.Name{CommonName: cn, Organization: []string{o}}
		if ou != "" {
			n.OrganizationalUnit = []string{ou}
		}
		return &x509.Certificate{Subject: n}
	}
	rules := `RULE:^CN=(.*?),OU=ServiceUsers,O=.*$/$1/, RULE:^CN=(.*?),OU=(.*?),O=.*$/$1@$2/L,
		RULE:^CN=a\/b,O=(.*)$/slash-$1/U`
	m, err := ParsePrincipalMappingRules(rules)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		cert *x509.Certificate
		want string
	}{
		{cert("svc", "ServiceUsers", "Org"), "User:svc"},
		{cert("Bob", "Eng", "Org"), "User:bob@eng"},
		{cert("a/b", "", "x"), "User:SLASH-X"},
		{cert("nobody", "", "Org"), ""},
	} {
		got, err := m.Principal(c.cert)
		if got != c.want || (c.want == "") != errors.Is(err, ErrNoMatchingRule) {
			t.Errorf("%s: %q, %v; want %q", c.cert.Subject, got, err, c.want)
		}
	}
	if m, err := ParsePrincipalMappingRules(""); err != nil || m.rules[0].isDefault != true {
		t.Errorf("empty rules: %v", err)
	}
	for _, bad := range []string{"RULE:x", "RULE:(/y/", "NOPE", "DEFAULT DEFAULT"} {
		if _, err := ParsePrincipalMappingRules(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// FuzzSASLExchange feeds arbitrary client messages to the server side of every mechanism: it
// must never panic, and must never authenticate without the right credentials.
func FuzzSASLExchange(f *testing.F) {
	f.Add(uint8(0), []byte("\x00alice\x00pw"), []byte(nil))
	f.Add(uint8(1), []byte("n,,n=alice,r=abc"), []byte("c=biws,r=abc,p=AAAA"))
	f.Add(uint8(2), []byte("n,a=alice,n=alice,r=x"), []byte("c=,r=,p="))
	f.Add(uint8(1), []byte("y,,n=al=3Dice=2C,r=x,tokenauth=true"), []byte(",p=!!"))
	cfg := testSASL(f)
	mechs := []string{MechanismPlain, MechanismScramSHA256, MechanismScramSHA512}
	f.Fuzz(func(t *testing.T, which uint8, first, second []byte) {
		mech := mechs[int(which)%len(mechs)]
		s := NewSession("SASL_PLAINTEXT", ProtocolSASLPlaintext, cfg)
		if err := s.Handshake(mech, 1); err != nil {
			t.Fatal(err)
		}
		_, err := s.Authenticate(context.Background(), first)
		if err == nil && !s.Authenticated() {
			_, err = s.Authenticate(context.Background(), second)
		}
		if s.Authenticated() && mech != MechanismPlain {
			t.Fatalf("%s authenticated from fuzzed messages %q %q", mech, first, second)
		}
		if s.Authenticated() && string(first) != "\x00alice\x00pw" && string(first) != "alice\x00alice\x00pw" {
			t.Fatalf("PLAIN authenticated from %q", first)
		}
	})
}

// TestSessionDeny: a session whose principal authenticated but may not use the listener is no
// longer authenticated, and its connection closes after the reply.
func TestSessionDeny(t *testing.T) {
	sess := NewSession("CONTROLLER", ProtocolSASLPlaintext, testSASL(t))
	if err := sess.Handshake(MechanismPlain, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := sess.Authenticate(context.Background(), []byte("\x00alice\x00pw")); err != nil || !sess.Authenticated() {
		t.Fatalf("authenticate: %v, authenticated %v", err, sess.Authenticated())
	}
	sess.Deny()
	if sess.Authenticated() || !sess.CloseAfterReply() {
		t.Fatalf("after Deny: authenticated %v, close after reply %v", sess.Authenticated(), sess.CloseAfterReply())
	}
	if err := sess.Handshake(MechanismPlain, 1); !errors.Is(err, kerr.IllegalSaslState) {
		t.Fatalf("handshake after Deny: %v, want ILLEGAL_SASL_STATE", err)
	}
}
