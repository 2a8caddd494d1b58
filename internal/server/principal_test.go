package server_test

import (
	"context"
	"crypto/x509/pkix"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/gregorhq/gregor/internal/auth"
	"github.com/gregorhq/gregor/internal/clustertest"
	"github.com/gregorhq/gregor/internal/server"
	"github.com/gregorhq/gregor/internal/wire"
)

// principalServer serves ApiVersions and a Metadata that reports, through seen, the listener
// and principal its handler finds in its context.
func principalServer(t *testing.T, cfg server.Config, seen chan<- [2]string) *server.Server {
	t.Helper()
	reg := wire.NewRegistry()
	reg.Register(wire.API{Key: kmsg.ApiVersions, MinVersion: 0, MaxVersion: 3, Handle: func(context.Context, *wire.Request) (wire.Reply, error) {
		resp := kmsg.NewPtrApiVersionsResponse()
		resp.ApiKeys = reg.Versions()
		return wire.Reply{Msg: resp}, nil
	}})
	reg.Register(wire.API{Key: kmsg.Metadata, MinVersion: 0, MaxVersion: 12, Handle: func(ctx context.Context, _ *wire.Request) (wire.Reply, error) {
		sess := auth.SessionFrom(ctx)
		seen <- [2]string{sess.Listener, sess.Principal()}
		return wire.Reply{Msg: kmsg.NewPtrMetadataResponse()}, nil
	}})
	reg.Register(wire.API{Key: kmsg.SASLHandshake, MinVersion: 0, MaxVersion: 1, Handle: func(ctx context.Context, r *wire.Request) (wire.Reply, error) {
		resp := kmsg.NewPtrSASLHandshakeResponse()
		if err := auth.SessionFrom(ctx).Handshake(r.Body.(*kmsg.SASLHandshakeRequest).Mechanism, r.Header.APIVersion); err != nil {
			resp.ErrorCode = err.Code
		}
		return wire.Reply{Msg: resp}, nil
	}})
	reg.Register(wire.API{Key: kmsg.SASLAuthenticate, MinVersion: 0, MaxVersion: 2, Handle: func(ctx context.Context, r *wire.Request) (wire.Reply, error) {
		resp := kmsg.NewPtrSASLAuthenticateResponse()
		out, err := auth.SessionFrom(ctx).Authenticate(ctx, r.Body.(*kmsg.SASLAuthenticateRequest).SASLAuthBytes)
		if err != nil {
			resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		}
		resp.SASLAuthBytes = out
		return wire.Reply{Msg: resp}, nil
	}})
	cfg.Addr, cfg.MaxRequestSize, cfg.Registry = "127.0.0.1:0", 1<<20, reg
	s, err := server.Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Serve()
	t.Cleanup(func() { s.Close() })
	return s
}

func askMetadata(t *testing.T, addr string, seen <-chan [2]string, opts ...kgo.Opt) [2]string {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cl.Request(ctx, kmsg.NewPtrMetadataRequest()); err != nil {
		t.Fatal(err)
	}
	return <-seen
}

func TestPrincipalReachesHandlers(t *testing.T) {
	ca := clustertest.NewCA(t, "ca")
	dir := t.TempDir()
	cert, key := ca.Issue(t, pkix.Name{CommonName: "broker"}, true)
	tlsCfg, err := auth.LoadTLS(auth.Props{Listener: "SSL", Raw: map[string]string{
		"ssl.keystore.location":   clustertest.WriteFile(t, dir, "b.pem", append(cert, key...)),
		"ssl.truststore.location": clustertest.WriteFile(t, dir, "ca.pem", ca.CertPEM),
		"ssl.client.auth":         "requested",
	}})
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan [2]string, 1)

	ssl := principalServer(t, server.Config{Listener: "SSL", Protocol: auth.ProtocolSSL, TLS: tlsCfg.ServerConfig()}, seen)
	ccert, ckey := ca.Issue(t, pkix.Name{CommonName: "client", Organization: []string{"Gregor"}}, false)
	if got := askMetadata(t, ssl.Addr().String(), seen, kgo.DialTLSConfig(ca.ClientTLS(t, ccert, ckey))); got != [2]string{"SSL", "User:CN=client,O=Gregor"} {
		t.Fatalf("mTLS: %v", got)
	}
	if got := askMetadata(t, ssl.Addr().String(), seen, kgo.DialTLSConfig(ca.ClientTLS(t, nil, nil))); got != [2]string{"SSL", auth.Anonymous} {
		t.Fatalf("TLS without a client certificate: %v", got)
	}

	// ssl.principal.mapping.rules.
	mapper, err := auth.ParsePrincipalMappingRules(`RULE:^CN=(.*?),O=Gregor$/$1/U,DEFAULT`)
	if err != nil {
		t.Fatal(err)
	}
	mapped := principalServer(t, server.Config{Listener: "SSL", Protocol: auth.ProtocolSSL, TLS: tlsCfg.ServerConfig(), PrincipalMapper: mapper}, seen)
	if got := askMetadata(t, mapped.Addr().String(), seen, kgo.DialTLSConfig(ca.ClientTLS(t, ccert, ckey))); got != [2]string{"SSL", "User:CLIENT"} {
		t.Fatalf("mapped mTLS principal: %v", got)
	}

	saslCfg, err := auth.LoadSASL(auth.Props{Listener: "SASL_PLAINTEXT", Raw: map[string]string{
		"sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="pw";`,
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sasl := principalServer(t, server.Config{Listener: "SASL_PLAINTEXT", Protocol: auth.ProtocolSASLPlaintext, SASL: saslCfg}, seen)
	if got := askMetadata(t, sasl.Addr().String(), seen, kgo.SASL(plain.Auth{User: "alice", Pass: "pw"}.AsMechanism())); got != [2]string{"SASL_PLAINTEXT", "User:alice"} {
		t.Fatalf("SASL: %v", got)
	}

	plaintext := principalServer(t, server.Config{Listener: "PLAINTEXT"}, seen)
	if got := askMetadata(t, plaintext.Addr().String(), seen); got != [2]string{"PLAINTEXT", auth.Anonymous} {
		t.Fatalf("PLAINTEXT: %v", got)
	}

	// A listener whose protocol needs TLS or SASL does not start without it.
	if _, err := server.Listen(server.Config{Addr: "127.0.0.1:0", Protocol: auth.ProtocolSASLSSL, SASL: saslCfg}); err == nil {
		t.Fatal("a SASL_SSL listener started without TLS")
	}
}
