package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/node"
)

// lockedBuffer is a bytes.Buffer safe for the node's goroutines to log into.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The "gregor started" line carries the console's link, and the link serves the console.
func TestStartedLineLinksTheConsole(t *testing.T) {
	cfg, err := config.Load(map[string]string{
		"listeners":            "PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0",
		"advertised.listeners": "PLAINTEXT://127.0.0.1:0",
		"log.dirs":             t.TempDir(),
		"admin.listeners":      "http://127.0.0.1:0",
	})
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := node.Start(ctx, cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	var link string
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "gregor started" {
			link, _ = rec["console"].(string)
		}
	}
	if want := "http://" + n.AdminAddr().String() + "/"; link != want {
		t.Fatalf("console link %q, want %q in:\n%s", link, want, logs.String())
	}
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET %s: %d %s", link, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
