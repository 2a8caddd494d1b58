package perf

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/cli/property"
	"github.com/gregorhq/gregor/internal/config"
)

// loadProps reads the properties file at path (if any) and then the
// key=value pairs, which win, as --producer.config and --producer-props do in
// Kafka's tool.
func loadProps(flag, path string, pairs []string) (map[string]string, error) {
	m := map[string]string{}
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if m, err = config.ParseProperties(f); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	kv, err := property.Parse(flag, pairs, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range kv {
		m[k] = v
	}
	return m, nil
}

// producerPropsArgs checks the positional arguments of the verbs that take --producer-props:
// Kafka's flag takes several words ("--producer-props acks=1 linger.ms=5"), and the words after
// the first arrive as arguments, so each must be key=value.
func producerPropsArgs(_ *cobra.Command, args []string) error {
	for _, a := range args {
		if !strings.Contains(a, "=") {
			return fmt.Errorf("unexpected argument %q: only producer properties key=value may follow --producer-props", a)
		}
	}
	return nil
}

// producerOptsWarn is producerOpts that tells stderr, in sorted order, which properties
// Gregor's tool (named in the message) ignores.
func producerOptsWarn(props map[string]string, stderr io.Writer, tool string) (opts []kgo.Opt, bootstrap string, err error) {
	opts, bootstrap, ignored, err := producerOpts(props)
	if err != nil {
		return nil, "", err
	}
	sort.Strings(ignored)
	for _, k := range ignored {
		fmt.Fprintf(stderr, "Ignoring producer property %s: not supported by Gregor's %s.\n", k, tool)
	}
	return opts, bootstrap, nil
}

// producerOpts turns Kafka producer properties into client options. It
// returns the bootstrap.servers property separately (it stands in for
// --bootstrap-server, as in Kafka's tool) and the names of the properties it
// does not know, which the caller reports and ignores.
func producerOpts(props map[string]string) (opts []kgo.Opt, bootstrap string, ignored []string, err error) {
	acks := "all"
	idempotent := true
	// Kafka's producer compresses nothing unless compression.type says so; the
	// client library's own default is snappy, which would make every figure
	// (and the broker's and consumer's work) differ from Kafka's tools.
	compression := kgo.NoCompression()
	inflight := 0 // max.in.flight.requests.per.connection; 0: not given
	for k, v := range props {
		switch k {
		case "bootstrap.servers":
			bootstrap = v
		case "acks":
			acks = strings.ToLower(v)
		case "enable.idempotence":
			idempotent = strings.EqualFold(v, "true")
		case "client.id":
			opts = append(opts, kgo.ClientID(v))
		case "linger.ms":
			n, perr := strconv.ParseInt(v, 10, 64)
			if perr != nil || n < 0 {
				return nil, "", nil, fmt.Errorf("producer property linger.ms=%q: want a number of milliseconds", v)
			}
			opts = append(opts, kgo.ProducerLinger(time.Duration(n)*time.Millisecond))
		case "batch.size", "max.request.size":
			n, perr := strconv.ParseInt(v, 10, 32)
			if perr != nil || n <= 0 {
				return nil, "", nil, fmt.Errorf("producer property %s=%q: want a positive number of bytes", k, v)
			}
			if k == "batch.size" {
				opts = append(opts, kgo.ProducerBatchMaxBytes(int32(n)))
			} else {
				opts = append(opts, kgo.BrokerMaxWriteBytes(int32(n)))
			}
		case "compression.type":
			c, cerr := codec(v)
			if cerr != nil {
				return nil, "", nil, cerr
			}
			compression = c
		case "max.in.flight.requests.per.connection":
			n, perr := strconv.Atoi(v)
			if perr != nil || n <= 0 {
				return nil, "", nil, fmt.Errorf("producer property %s=%q: want a positive number", k, v)
			}
			inflight = n
		case "key.serializer", "value.serializer":
			// The tool sends bytes; Kafka's serializers are irrelevant here.
		default:
			ignored = append(ignored, k)
		}
	}
	switch acks {
	case "all", "-1":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "1":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()))
		idempotent = false
	case "0":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()))
		idempotent = false
	default:
		return nil, "", nil, fmt.Errorf("producer property acks=%q: want all, -1, 1 or 0", acks)
	}
	switch {
	case !idempotent:
		opts = append(opts, kgo.DisableIdempotentWrite())
		if inflight > 0 {
			opts = append(opts, kgo.MaxProduceRequestsInflightPerBroker(inflight))
		}
	case inflight > 5:
		// Kafka's producer refuses the same: the broker keeps the last 5 batches of each
		// producer to answer retries, so no more may be in flight.
		return nil, "", nil, fmt.Errorf("producer property max.in.flight.requests.per.connection=%d: must be at most 5 to use the idempotent producer", inflight)
	case inflight > 0 && inflight < 5:
		// The idempotent client always keeps up to 5 requests in flight.
		ignored = append(ignored, "max.in.flight.requests.per.connection")
	}
	opts = append(opts, kgo.ProducerBatchCompression(compression))
	return opts, bootstrap, ignored, nil
}

// codec maps a compression.type value to the client's codec.
func codec(name string) (kgo.CompressionCodec, error) {
	switch strings.ToLower(name) {
	case "none", "uncompressed", "":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("compression.type %q: want none, gzip, snappy, lz4 or zstd", name)
}
