package eos_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/clustertest"
)

const (
	// copierAddrEnv, set to a broker address, makes the test binary a copier (TestMain).
	copierAddrEnv = "EOS_COPIER_ADDR"
	copierTxnID   = "eos-copier"
	copierGroup   = "eos-copy"
	// copyBatch is the most records one transaction of the copier copies.
	copyBatch = 2000
)

// runCopier is the copier child process: a consume-transform-produce loop on a
// GroupTransactSession that copies each record of "in" to the same partition of "out", with
// its source partition/offset in a header. After producing a transaction's records (they are
// in the log, uncommitted) it prints "produced N" and waits for a line on stdin before ending
// the transaction, so that the test can kill it with a transaction open; after End it prints
// "committed N" or "aborted N". It returns the process's exit code.
func runCopier(addr string) int {
	ctx := context.Background()
	sess, err := kgo.NewGroupTransactSession(
		kgo.SeedBrokers(addr),
		kgo.TransactionalID(copierTxnID),
		kgo.TransactionTimeout(30*time.Second),
		kgo.ConsumerGroup(copierGroup),
		kgo.InstanceID("copier"), // a restarted copier takes the killed one's place at once
		kgo.SessionTimeout(6*time.Second),
		kgo.ConsumeTopics("in"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequireStableFetchOffsets(),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "copier:", err)
		return 2
	}
	defer sess.Close()
	in := bufio.NewScanner(os.Stdin)
	for {
		fs := sess.PollRecords(ctx, copyBatch)
		fs.EachError(func(topic string, p int32, err error) {
			fmt.Fprintf(os.Stderr, "copier: fetch %s/%d: %v\n", topic, p, err)
		})
		recs := fs.Records()
		if len(recs) == 0 {
			continue
		}
		if err := sess.Begin(); err != nil {
			fmt.Fprintln(os.Stderr, "copier: begin:", err)
			return 2
		}
		out := make([]*kgo.Record, len(recs))
		for i, r := range recs {
			out[i] = &kgo.Record{Topic: "out", Partition: r.Partition, Key: r.Key, Value: r.Value,
				Headers: []kgo.RecordHeader{{Key: "src", Value: fmt.Appendf(nil, "%d/%d", r.Partition, r.Offset)}}}
		}
		commit := kgo.TryCommit
		if err := sess.ProduceSync(ctx, out...).FirstErr(); err != nil {
			fmt.Fprintln(os.Stderr, "copier: produce:", err)
			commit = kgo.TryAbort
		} else {
			fmt.Printf("produced %d\n", len(out))
			if !in.Scan() {
				return 0
			}
		}
		committed, err := sess.End(ctx, commit)
		if err != nil {
			fmt.Fprintln(os.Stderr, "copier: end:", err)
			return 2
		}
		if committed {
			fmt.Printf("committed %d\n", len(out))
		} else {
			fmt.Printf("aborted %d\n", len(out))
		}
	}
}

// copier is a running copier child process.
type copier struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // its stdout, closed when it ends
	stderr *bytes.Buffer
}

func startCopier(t *testing.T, addr string) *copier {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), copierAddrEnv+"="+addr)
	c := &copier{cmd: cmd, lines: make(chan string, 16), stderr: &bytes.Buffer{}}
	cmd.Stderr = c.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	t.Cleanup(c.kill)
	return c
}

// kill ends the copier with SIGKILL: whatever transaction it has open stays open until the
// coordinator aborts it.
func (c *copier) kill() {
	if c.cmd.ProcessState != nil {
		return
	}
	c.cmd.Process.Kill()
	for range c.lines {
	}
	c.cmd.Wait()
}

// TestExactlyOnceCopyThroughKills is acceptance 4: a consume-transform-produce copier on
// kgo.GroupTransactSession copies 100,000 keyed records from "in" (3 partitions) to "out"
// while it is killed with SIGKILL three times, each time with a transaction open whose
// records are in "out" (after about 20%, 45% and 70% of the copy is committed), and restarted
// with the same transactional id. Afterwards "out" read read_committed equals "in" partition
// by partition (no loss, no duplicate, same order), while read_uncommitted also shows the
// killed copiers' records, which the restarted copier's InitProducerId aborted.
func TestExactlyOnceCopyThroughKills(t *testing.T) {
	const (
		total      = 100_000
		partitions = 3
	)
	n := clustertest.StartNode(t,
		"transaction.state.log.num.partitions", "1",
		"offsets.topic.num.partitions", "1",
		"group.initial.rebalance.delay.ms", "0")
	ctx := testContext(t, 3*time.Minute)
	createTopic(t, n.Addr(), "in", partitions)
	createTopic(t, n.Addr(), "out", partitions)

	// The input: keyed records, partitioned by key hash.
	producer := newClient(t, n.Addr(), kgo.ProducerLinger(5*time.Millisecond))
	recs := make([]*kgo.Record, total)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: "in", Key: fmt.Appendf(nil, "k%d", i%997), Value: fmt.Appendf(nil, "v%06d", i)}
	}
	if err := producer.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("producing the input: %v", err)
	}
	want := map[int32][]string{}
	slices.SortFunc(recs, func(a, b *kgo.Record) int {
		if a.Partition != b.Partition {
			return int(a.Partition - b.Partition)
		}
		return int(a.Offset - b.Offset)
	})
	for _, r := range recs {
		want[r.Partition] = append(want[r.Partition], string(r.Value))
	}

	// The copy, killed at these numbers of committed records.
	killAt := []int{total * 20 / 100, total * 45 / 100, total * 70 / 100}
	kills, committed, sessionAborted := 0, 0, 0
	c := startCopier(t, n.Addr())
	for committed < total {
		var line string
		select {
		case l, ok := <-c.lines:
			if !ok {
				c.cmd.Wait()
				t.Fatalf("copier exited (%v) after %d committed records; stderr:\n%s", c.cmd.ProcessState, committed, c.stderr)
			}
			line = l
		case <-ctx.Done():
			t.Fatalf("copy stalled at %d committed records; copier stderr:\n%s", committed, c.stderr)
		}
		verb, num, _ := strings.Cut(line, " ")
		count, err := strconv.Atoi(num)
		if err != nil {
			t.Fatalf("copier said %q", line)
		}
		switch verb {
		case "produced":
			if kills < len(killAt) && committed >= killAt[kills] {
				c.kill()
				kills++
				t.Logf("killed copier %d with %d records in its open transaction, %d committed", kills, count, committed)
				c = startCopier(t, n.Addr())
				continue
			}
			if _, err := io.WriteString(c.stdin, "\n"); err != nil {
				t.Fatalf("telling the copier to go on: %v", err)
			}
		case "committed":
			committed += count
		case "aborted":
			sessionAborted += count
		default:
			t.Fatalf("copier said %q", line)
		}
	}
	if kills != len(killAt) {
		t.Fatalf("copier killed %d times, want %d", kills, len(killAt))
	}

	// The group's committed offsets reach the end of the input once the last commit's markers
	// are in __consumer_offsets; then the copier has nothing left to do.
	adm := kadm.NewClient(newClient(t, n.Addr()))
	waitFor(ctx, t, "group offsets at the end of the input", func() (bool, string) {
		offsets, err := adm.FetchOffsets(ctx, copierGroup)
		if err != nil {
			return false, err.Error()
		}
		for p := range int32(partitions) {
			o, ok := offsets.Lookup("in", p)
			if !ok || o.At != int64(len(want[p])) {
				return false, fmt.Sprintf("partition %d at %+v, want %d", p, o, len(want[p]))
			}
		}
		return true, ""
	})
	c.kill()

	appendSentinels(ctx, t, n.Addr(), "out", partitions)
	got := readUntilSentinel(ctx, t, n.Addr(), "out", partitions, kgo.ReadCommitted())
	all := readUntilSentinel(ctx, t, n.Addr(), "out", partitions, kgo.ReadUncommitted())
	outCommitted, outAll := 0, 0
	for p := range int32(partitions) {
		outCommitted += len(got[p])
		outAll += len(all[p])
		values := make([]string, len(got[p]))
		for i, r := range got[p] {
			values[i] = string(r.Value)
			if src := fmt.Sprintf("%d/%d", p, i); len(r.Headers) != 1 || string(r.Headers[0].Value) != src {
				t.Fatalf("out/%d record %d (%s) has source %v, want %s", p, i, r.Value, r.Headers, src)
			}
		}
		if !slices.Equal(values, want[p]) {
			first := 0
			for first < min(len(values), len(want[p])) && values[first] == want[p][first] {
				first++
			}
			t.Fatalf("out/%d read_committed has %d records, in/%d has %d; first difference at %d", p, len(values), p, len(want[p]), first)
		}
	}
	aborted := outAll - outCommitted
	t.Logf("in %d, out committed %d, out uncommitted %d, aborted %d (by fencing after %d kills; %d more aborted by the copier itself)",
		total, outCommitted, outAll, aborted, kills, sessionAborted)
	if aborted < kills {
		t.Fatalf("read_uncommitted shows %d aborted records; each of the %d killed copiers left an open transaction with records", aborted, kills)
	}
}
