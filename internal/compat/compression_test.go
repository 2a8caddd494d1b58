package compat

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/clustertest"
)

// kafkaCodecs are the codec names kcat's -z and kafka-python's compression_type take, with
// the batch attribute Kafka gives each.
var kafkaCodecs = []struct {
	name string
	attr uint8
}{{"gzip", 1}, {"snappy", 2}, {"lz4", 3}, {"zstd", 4}}

// storedCodecs reads n records of partition 0 of topic with franz-go and returns the codecs
// of the batches they were stored in.
func storedCodecs(t *testing.T, addr, topic string, n int) map[uint8]int {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := map[uint8]int{}
	for read := 0; read < n; {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %d of %d records: %v", read, n, err)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch: %v", err) })
		fs.EachRecord(func(r *kgo.Record) { got[r.Attrs.CompressionType()]++; read++ })
	}
	return got
}

// TestKcatCompressedRoundTrip produces with kcat -z for every codec, consumes with kcat, and
// checks with franz-go that the broker stored the batches as librdkafka compressed them.
func TestKcatCompressedRoundTrip(t *testing.T) {
	kcat := need(t, "kcat")
	n := clustertest.StartNode(t)
	const count = 200
	// librdkafka sends a batch uncompressed when compressing does not make it smaller, as a
	// batch of one short record may be: the padding makes every batch shrink.
	pad := strings.Repeat("abc", 40)
	var in strings.Builder
	for i := 0; i < count; i++ {
		fmt.Fprintf(&in, "key%d:value%d value%d value%d %s\n", i, i, i, i, pad)
	}
	for _, c := range kafkaCodecs {
		t.Run(c.name, func(t *testing.T) {
			topic := "kcat-" + c.name
			createTopic(t, n.Addr(), topic, 1)
			run(t, in.String(), kcat, "-b", n.Addr(), "-t", topic, "-P", "-K:", "-z", c.name, "-X", "acks=all")
			out := run(t, "", kcat, "-b", n.Addr(), "-t", topic, "-C", "-o", "beginning", "-e", "-f", "%o %k=%s\n")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != count {
				t.Fatalf("kcat consumed %d records, want %d:\n%s", len(lines), count, out)
			}
			for i, l := range lines {
				if want := fmt.Sprintf("%d key%d=value%d value%d value%d %s", i, i, i, i, i, pad); l != want {
					t.Fatalf("record %d: %q, want %q", i, l, want)
				}
			}
			if got := storedCodecs(t, n.Addr(), topic, count); got[c.attr] != count {
				t.Fatalf("stored codecs %v, want all %d", got, c.attr)
			}
		})
	}
}

// pythonCodecModule is the Python module kafka-python needs for a codec ("" for built in).
var pythonCodecModule = map[string]string{"gzip": "", "snappy": "snappy", "lz4": "lz4", "zstd": "zstandard"}

// TestKafkaPythonCompressedRoundTrip produces and consumes with kafka-python for every codec
// whose module is installed. Under CI=true every codec is required: .ci/run installs
// python3-snappy, python3-lz4 and python3-zstandard.
func TestKafkaPythonCompressedRoundTrip(t *testing.T) {
	python := need(t, "/usr/bin/python3")
	if err := exec.Command(python, "-c", "import kafka").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("kafka-python is not installed: %v", err)
		}
		t.Skip("kafka-python is not installed")
	}
	n := clustertest.StartNode(t)
	for _, c := range kafkaCodecs {
		t.Run(c.name, func(t *testing.T) {
			if mod := pythonCodecModule[c.name]; mod != "" {
				if err := exec.Command(python, "-c", "import "+mod).Run(); err != nil {
					if os.Getenv("CI") == "true" {
						t.Fatalf("python module %s is not installed: %v", mod, err)
					}
					t.Skipf("python module %s is not installed", mod)
				}
			}
			topic := "python-" + c.name
			createTopic(t, n.Addr(), topic, 1)
			const count = 100
			out := run(t, "", python, "testdata/roundtrip.py", n.Addr(), topic, fmt.Sprint(count), c.name)
			sc := bufio.NewScanner(strings.NewReader(out))
			i := 0
			for ; sc.Scan(); i++ {
				var rec struct {
					Offset     int64
					Key, Value string
				}
				if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
					t.Fatalf("line %d: %v: %s", i, err, sc.Text())
				}
				// roundtrip.py pads compressed values so that every batch shrinks.
				if rec.Offset != int64(i) || rec.Key != fmt.Sprint("k", i) || rec.Value != fmt.Sprint("v", i, " ", strings.Repeat("x", 200)) {
					t.Fatalf("record %d: %+v", i, rec)
				}
			}
			if i != count {
				t.Fatalf("kafka-python consumed %d records, want %d:\n%s", i, count, out)
			}
			if got := storedCodecs(t, n.Addr(), topic, count); got[c.attr] != count {
				t.Fatalf("stored codecs %v, want all %d", got, c.attr)
			}
		})
	}
}
