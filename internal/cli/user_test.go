package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gregorhq/gregor/internal/clustertest"
)

func TestUserScramAndCommandConfig(t *testing.T) {
	n := clustertest.StartNode(t,
		"listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config",
		`org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-secret";`,
		"connection.failed.authentication.delay.ms", "0")
	plain, sasl := n.ListenerAddr("PLAINTEXT"), n.ListenerAddr("SASL_PLAINTEXT")

	out, _ := mustGregor(t, plain, "", "user", "scram", "set", "--user", "alice", "--mechanism", "SCRAM-SHA-256", "--password", "alice-pw")
	if out != "Set SCRAM-SHA-256 credential for user alice.\n" {
		t.Errorf("set: %q", out)
	}
	mustGregor(t, plain, "", "user", "scram", "set", "--user", "alice", "--mechanism", "scram-sha-512", "--password", "pw2", "--iterations", "8192")
	out, _ = mustGregor(t, plain, "", "user", "scram", "describe")
	want := "USER   MECHANISM      ITERATIONS  ERROR\nalice  SCRAM-SHA-256  4096\nalice  SCRAM-SHA-512  8192\n"
	if out != want {
		t.Errorf("describe:\n%s\nwant\n%s", out, want)
	}
	out, _ = mustGregor(t, plain, "", "user", "scram", "describe", "--user", "nobody", "--format", "json")
	var got []map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 1 || !strings.HasPrefix(got[0]["error"].(string), "RESOURCE_NOT_FOUND") {
		t.Errorf("describe nobody: %s (%v)", out, err)
	}
	if _, _, err := gregor(t, plain, "", "user", "scram", "set", "--user", "bob", "--password", "x", "--mechanism", "MD5"); err == nil {
		t.Error("set with an unknown mechanism succeeded")
	}

	// --command-config: every command can reach the SASL listener.
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	scram := write("scram.properties", "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-256\n"+
		`sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="alice-pw";`+"\n")
	plainCfg := write("plain.properties", "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"+
		`sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret";`+"\n")
	wrong := write("wrong.properties", "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-256\n"+
		`sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="nope";`+"\n")

	mustGregor(t, sasl, "", "topic", "create", "--topic", "secured", "--command-config", scram)
	out, _ = mustGregor(t, sasl, "", "topic", "list", "--command-config", plainCfg)
	if !strings.Contains(out, "secured") {
		t.Errorf("topic list over SASL PLAIN: %q", out)
	}
	mustGregor(t, sasl, "", "user", "scram", "delete", "--user", "alice", "--mechanism", "SCRAM-SHA-512", "--command-config", scram)
	if _, _, err := gregor(t, sasl, "", "topic", "list", "--command-config", wrong); err == nil || !strings.Contains(err.Error(), "SASL_AUTHENTICATION_FAILED") {
		t.Errorf("wrong password: %v", err)
	}
	if _, _, err := gregor(t, sasl, "", "topic", "list", "--command-config", filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing --command-config file was accepted")
	}
}
