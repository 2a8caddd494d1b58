package clustertest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// StartProcessCluster runs n `gregor serve` processes as one cluster on loopback: the first
// three (or all, when fewer) are controller voters and brokers, the rest broker-only nodes;
// process i (0-based) has node.id i+1 and its own data directory. The overrides (key=value)
// apply to every process, after the defaults (heartbeats every 100ms, a session timeout of
// 1.5s). It returns once every process serves. The processes are killed when the test ends.
func StartProcessCluster(t testing.TB, n int, overrides ...string) []*Process {
	t.Helper()
	voters := min(n, 3)
	ports := freePorts(t, voters)
	var quorum []string
	for i := range voters {
		quorum = append(quorum, fmt.Sprintf("%d@127.0.0.1:%d", i+1, ports[i]))
	}
	procs := make([]*Process, n)
	for i := range n {
		dir := t.TempDir()
		args := []string{"serve",
			"--override", fmt.Sprintf("node.id=%d", i+1),
			"--override", "controller.quorum.voters=" + strings.Join(quorum, ","),
			"--override", "advertised.listeners=PLAINTEXT://127.0.0.1:0",
			"--override", "log.dirs=" + dir,
			"--override", "admin.listeners=",
			"--override", "broker.heartbeat.interval.ms=100",
			"--override", "broker.session.timeout.ms=1500",
		}
		if i < voters {
			args = append(args,
				"--override", "process.roles=broker,controller",
				"--override", fmt.Sprintf("listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:%d", ports[i]))
		} else {
			args = append(args,
				"--override", "process.roles=broker",
				"--override", "listeners=PLAINTEXT://127.0.0.1:0")
		}
		for _, o := range overrides {
			args = append(args, "--override", o)
		}
		p := &Process{Dir: dir, t: t, args: args, log: &strings.Builder{}}
		procs[i] = p
		t.Cleanup(func() {
			p.Kill()
			if t.Failed() {
				t.Logf("gregor process %d log:\n%s", i+1, p.Log())
			}
		})
	}
	Binary(t) // build once, before the goroutines
	errs := make([]error, n)
	var wg sync.WaitGroup
	launch := func(from, to int) {
		for i := from; i < to; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = procs[i].launch() }()
		}
		wg.Wait()
	}
	launch(0, voters)
	launch(voters, n)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("clustertest: process %d: %v", i+1, err)
		}
	}
	return procs
}
