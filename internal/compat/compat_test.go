package compat

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// need returns the path of an external client, skipping the test when it is missing, except
// in CI (CI=true), where .ci/run installs them and a missing one is a failure.
func need(t *testing.T, path string) string {
	t.Helper()
	p, err := exec.LookPath(path)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed: %v", path, err)
		}
		t.Skipf("%s is not installed", path)
	}
	return p
}

// run runs a command with a deadline and returns its stdout.
func run(t *testing.T, stdin string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func createTopic(t *testing.T, addr, topic string, partitions int32) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if r, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, 1, nil, topic); err != nil || r.Err != nil {
		t.Fatalf("create %s: %v %v", topic, err, r.Err)
	}
}

func TestKcatListsBroker(t *testing.T) {
	kcat := need(t, "kcat")
	n := clustertest.StartNode(t)
	createTopic(t, n.Addr(), "listed", 3)
	out := run(t, "", kcat, "-b", n.Addr(), "-L")
	for _, want := range []string{"1 brokers:", "broker 1 at " + n.Addr(), `topic "listed" with 3 partitions`} {
		if !strings.Contains(out, want) {
			t.Fatalf("kcat -L output lacks %q:\n%s", want, out)
		}
	}
}

func TestKcatRoundTripsKeyedRecords(t *testing.T) {
	kcat := need(t, "kcat")
	n := clustertest.StartNode(t)
	createTopic(t, n.Addr(), "kcat", 1)
	var in strings.Builder
	const count = 200
	for i := 0; i < count; i++ {
		fmt.Fprintf(&in, "key%d:value%d\n", i, i)
	}
	run(t, in.String(), kcat, "-b", n.Addr(), "-t", "kcat", "-P", "-K:", "-X", "acks=all")
	out := run(t, "", kcat, "-b", n.Addr(), "-t", "kcat", "-C", "-o", "beginning", "-e", "-f", "%o %k=%s\n")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != count {
		t.Fatalf("kcat consumed %d records, want %d:\n%s", len(lines), count, out)
	}
	for i, l := range lines {
		if want := fmt.Sprintf("%d key%d=value%d", i, i, i); l != want {
			t.Fatalf("record %d: %q, want %q", i, l, want)
		}
	}
}

func TestKafkaPythonRoundTrip(t *testing.T) {
	python := need(t, "/usr/bin/python3")
	if err := exec.Command(python, "-c", "import kafka").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("kafka-python is not installed: %v", err)
		}
		t.Skip("kafka-python is not installed")
	}
	n := clustertest.StartNode(t)
	createTopic(t, n.Addr(), "python", 1)
	const count = 100
	out := run(t, "", python, "testdata/roundtrip.py", n.Addr(), "python", fmt.Sprint(count))
	sc := bufio.NewScanner(strings.NewReader(out))
	i := 0
	for ; sc.Scan(); i++ {
		var rec struct {
			Offset  int64
			Key     string
			Value   string
			Headers [][2]string
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, sc.Text())
		}
		want := fmt.Sprint(i)
		if rec.Offset != int64(i) || rec.Key != "k"+want || rec.Value != "v"+want ||
			len(rec.Headers) != 1 || rec.Headers[0] != [2]string{"h", want} {
			t.Fatalf("record %d: %+v", i, rec)
		}
	}
	if i != count {
		t.Fatalf("kafka-python consumed %d records, want %d:\n%s", i, count, out)
	}
}
