package dev

import (
	"bytes"
	"context"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/cli/cluster"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader in different goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestDevClusterSmoke(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var stdout syncBuffer
	cmd := NewCommand()
	cmd.SetArgs([]string{"cluster", "--nodes", "3", "--base-port", "0", "--dir", t.TempDir()})
	cmd.SetOut(&stdout)
	cmd.SetErr(&stdout)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dev cluster: %v", err)
		}
	}()

	re := regexp.MustCompile(`bootstrap\.servers=(\S+)`)
	var servers string
	deadline := time.Now().Add(30 * time.Second)
	for servers == "" {
		if m := re.FindStringSubmatch(stdout.String()); m != nil {
			servers = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("dev cluster exited: %v\n%s", err, stdout.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no bootstrap servers printed:\n%s", stdout.String())
		}
	}
	addrs := strings.Split(servers, ",")
	if len(addrs) != 3 {
		t.Fatalf("bootstrap servers %q, want 3", servers)
	}

	// Three brokers and a controller, as any Kafka client sees them.
	if kcat, err := exec.LookPath("kcat"); err == nil {
		out, err := exec.Command(kcat, "-L", "-b", addrs[1], "-m", "10").CombinedOutput()
		if err != nil {
			t.Fatalf("kcat -L: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "3 brokers:") || !strings.Contains(string(out), "(controller)") {
			t.Fatalf("kcat -L:\n%s", out)
		}
	} else {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addrs[1]))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		m, err := kadm.NewClient(cl).BrokerMetadata(context.Background())
		if err != nil || len(m.Brokers) != 3 || m.Controller < 1 {
			t.Fatalf("metadata: %+v %v", m, err)
		}
	}

	// gregor cluster describe shows them too.
	var desc bytes.Buffer
	dc := cluster.NewCommand()
	dc.SetArgs([]string{"describe", "--bootstrap-server", servers})
	dc.SetOut(&desc)
	if err := dc.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CONTROLLER", "active,controller", "OFFLINE           0"} {
		if !strings.Contains(desc.String(), want) {
			t.Errorf("cluster describe lacks %q:\n%s", want, desc.String())
		}
	}
	if n := strings.Count(desc.String(), "127.0.0.1"); n != 3 {
		t.Errorf("cluster describe lists %d brokers:\n%s", n, desc.String())
	}
}
