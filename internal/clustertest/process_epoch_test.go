package clustertest_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// A broker process is paused (SIGSTOP) and a replacement is started with its node.id on
// another data directory. When the old process runs again (SIGCONT), its broker epoch is
// stale: its heartbeat is refused, its attempt to register again is refused because another
// incarnation holds the registration, and it exits with an error, leaving the broker to its
// replacement.
func TestProcessPausedBrokerReplacedExits(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs gregor processes")
	}
	procs := clustertest.StartProcessCluster(t, 4)
	clustertest.WaitFor(t, 20*time.Second, "4 brokers", func() bool {
		m := metadataFrom(t, procs[0].Addr())
		return m != nil && len(m.Brokers) == 4
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(procs[0].Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if res, err := kadm.NewClient(cl).CreateTopic(ctx, 4, 3, nil, "t"); err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}

	old := procs[3]
	old.Pause()
	repl := old.Replacement()
	_, replPort, _ := strings.Cut(repl.Addr(), "127.0.0.1:")
	clustertest.WaitFor(t, 20*time.Second, "broker 4 registered by the replacement", func() bool {
		m := metadataFrom(t, procs[0].Addr())
		if m == nil {
			return false
		}
		i := slices.IndexFunc(m.Brokers, func(b kmsg.MetadataResponseBroker) bool { return b.NodeID == 4 })
		return i >= 0 && strconv.Itoa(int(m.Brokers[i].Port)) == replPort
	})

	old.Resume()
	select {
	case <-old.Exited():
	case <-ctx.Done():
		t.Fatalf("the replaced process did not exit:\n%s", old.Log())
	}
	if code := old.ExitCode(); code == 0 {
		t.Fatalf("the replaced process exited with status 0:\n%s", old.Log())
	}
	if !strings.Contains(old.Log(), "a newer incarnation of this broker registered") {
		t.Fatalf("no word of the replacement in the old process's log:\n%s", old.Log())
	}
	// The replacement keeps the broker: registered, unfenced, at its own address.
	clustertest.WaitFor(t, 20*time.Second, "broker 4 still the replacement's", func() bool {
		m := metadataFrom(t, repl.Addr())
		if m == nil {
			return false
		}
		i := slices.IndexFunc(m.Brokers, func(b kmsg.MetadataResponseBroker) bool { return b.NodeID == 4 })
		return i >= 0 && strconv.Itoa(int(m.Brokers[i].Port)) == replPort
	})
}
