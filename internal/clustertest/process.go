package clustertest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds cmd/gregor once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gregor-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "gregor")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/gregorhq/gregor/cmd/gregor").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("clustertest: %v", buildErr)
	}
	return binPath
}

// Process is a `gregor serve` child process.
type Process struct {
	// Dir is the data directory, kept across restarts.
	Dir  string
	t    testing.TB
	args []string
	cmd  *exec.Cmd
	addr string
	// exited is closed when the process has been waited for.
	exited chan struct{}
	// paused is whether Pause stopped the process and nothing resumed it since.
	paused atomic.Bool
	log    *strings.Builder
	logMu  sync.Mutex
}

// StartProcess runs `gregor serve` on dir (a new temporary directory when empty) with free
// loopback ports and the given --override key=value pairs, and waits until it serves.
func StartProcess(t testing.TB, dir string, overrides ...string) *Process {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	args := []string{"serve",
		"--override", "listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0",
		"--override", "advertised.listeners=PLAINTEXT://127.0.0.1:0",
		"--override", "log.dirs=" + dir,
		"--override", "admin.listeners=http://127.0.0.1:0",
	}
	for _, o := range overrides {
		args = append(args, "--override", o)
	}
	p := &Process{Dir: dir, t: t, args: args, log: &strings.Builder{}}
	p.start()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("gregor process log:\n%s", p.Log())
		}
	})
	return p
}

func (p *Process) start() {
	p.t.Helper()
	if err := p.launch(); err != nil {
		p.t.Fatalf("clustertest: %v", err)
	}
}

// launch runs the process and waits until it serves; unlike start it may run in any
// goroutine.
func (p *Process) launch() error {
	cmd := exec.Command(Binary(p.t), p.args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		return err
	}
	p.cmd, p.exited, p.addr = cmd, make(chan struct{}), ""
	addrCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.logMu.Lock()
			p.log.WriteString(line + "\n")
			p.logMu.Unlock()
			if strings.Contains(line, `msg="gregor started"`) {
				for _, f := range strings.Fields(line) {
					if a, ok := strings.CutPrefix(f, "addr="); ok {
						addrCh <- a
					}
				}
			}
		}
		cmd.Wait()
		close(p.exited)
	}()
	select {
	case p.addr = <-addrCh:
		return nil
	case <-p.exited:
		return fmt.Errorf("gregor exited before serving:\n%s", p.Log())
	case <-time.After(60 * time.Second):
		return fmt.Errorf("gregor did not start in 60s:\n%s", p.Log())
	}
}

// Addr is the process's client address.
func (p *Process) Addr() string { return p.addr }

// Log is what the process has written to stderr.
func (p *Process) Log() string {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	return p.log.String()
}

// Kill sends SIGKILL and waits for the process to be gone: nothing is flushed or closed. A
// paused process dies as well (SIGKILL needs no SIGCONT).
func (p *Process) Kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Kill()
	<-p.exited
	p.paused.Store(false)
}

// Stop sends SIGTERM and waits for a clean exit, returning the exit error, if any. A paused
// process is resumed too: a stopped process keeps SIGTERM pending, and Stop would wait forever.
func (p *Process) Stop() error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	if p.paused.Load() {
		p.Resume()
	}
	<-p.exited
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		return fmt.Errorf("gregor exited with status %d", code)
	}
	return nil
}

// Pause sends SIGSTOP: the process stays alive but does nothing (no heartbeats, no
// answers), as a broker stuck in a long pause would. Requests to it hang rather than fail,
// so a Pause of a running process registers a cleanup that resumes it: cleanups run last
// registered first, so the process runs again before the clients and producers the test made
// earlier are closed or flushed (which could otherwise wait on it until the test's timeout),
// whatever the test's outcome.
func (p *Process) Pause() {
	p.cmd.Process.Signal(syscall.SIGSTOP)
	if !p.paused.Swap(true) {
		p.t.Cleanup(func() {
			if p.paused.Load() {
				p.Resume()
			}
		})
	}
}

// Resume sends SIGCONT to a paused process (to a running one it does nothing).
func (p *Process) Resume() {
	p.paused.Store(false)
	p.cmd.Process.Signal(syscall.SIGCONT)
}

// Restart starts the process again on the same data directory (on new ports).
func (p *Process) Restart() {
	p.t.Helper()
	p.start()
}

// Replacement starts another process with p's settings (its node.id among them) on a new data
// directory, as an operator does who starts a broker's replacement on another machine while
// the old one is believed dead (it may only be paused). p is left as it is.
func (p *Process) Replacement() *Process {
	p.t.Helper()
	dir := p.t.TempDir()
	args := slices.Clone(p.args)
	for i, a := range args {
		if strings.HasPrefix(a, "log.dirs=") {
			args[i] = "log.dirs=" + dir
		}
	}
	r := &Process{Dir: dir, t: p.t, args: args, log: &strings.Builder{}}
	r.start()
	p.t.Cleanup(func() {
		r.Kill()
		if p.t.Failed() {
			p.t.Logf("gregor replacement process log:\n%s", r.Log())
		}
	})
	return r
}

// Exited is closed once the process has exited (and been waited for).
func (p *Process) Exited() <-chan struct{} { return p.exited }

// ExitCode is the exit status of a process that has exited (-1 while it runs).
func (p *Process) ExitCode() int {
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	default:
		return -1
	}
}
