package dropin

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/gregorhq/gregor/internal/cli/clientflags"
)

// kafka-broker-api-versions and kafka-get-offsets: no modern command does
// these yet, so they talk to the cluster here.
func init() {
	register(&tool{
		name: "kafka-broker-api-versions",
		opts: options{
			optBootstrapServer,
		},
		run: runBrokerAPIVersions,
	})
	register(&tool{
		name: "kafka-get-offsets",
		opts: options{
			optBootstrapServer,
			optBrokerList,
			{"topic", requiredValue, "topics to list, a regular expression (default: all)"},
			{"partitions", requiredValue, "comma-separated partition ids (default: all)"},
			{"time", requiredValue, "-1 or latest (default), -2 or earliest, -3 or max-timestamp, or a timestamp in ms"},
			{"exclude-internal-topics", noValue, "leave out internal topics"},
		},
		run: runGetOffsets,
	})
}

// runBrokerAPIVersions asks every broker for its ApiVersions and prints them
// as Kafka's tool does; "usable" is the highest version this client speaks.
func runBrokerAPIVersions(e *env, p *parsed) error {
	bs, err := bootstrap(p)
	if err != nil {
		return err
	}
	cf := clientflags.Flags{BootstrapServer: bs, CommandConfig: e.commandConfig}
	cl, err := cf.NewClient()
	if err != nil {
		return err
	}
	defer cl.Close()
	meta, err := kadm.NewClient(cl).BrokerMetadata(e.ctx)
	if err != nil {
		return fmt.Errorf("listing brokers: %w", err)
	}
	brokers := append([]kadm.BrokerDetail(nil), meta.Brokers...)
	sort.Slice(brokers, func(i, j int) bool { return brokers[i].NodeID < brokers[j].NodeID })
	ours := kversion.Stable()
	var errs []error
	for _, b := range brokers {
		resp, err := cl.Broker(int(b.NodeID)).Request(e.ctx, kmsg.NewPtrApiVersionsRequest())
		if err == nil {
			err = kerr.ErrorForCode(resp.(*kmsg.ApiVersionsResponse).ErrorCode)
		}
		rack := "null"
		if b.Rack != nil {
			rack = *b.Rack
		}
		node := fmt.Sprintf("%s (id: %d rack: %s)", net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))), b.NodeID, rack)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", node, err))
			continue
		}
		keys := resp.(*kmsg.ApiVersionsResponse).ApiKeys
		sort.Slice(keys, func(i, j int) bool { return keys[i].ApiKey < keys[j].ApiKey })
		lines := make([]string, len(keys))
		for i, k := range keys {
			name := kmsg.NameForKey(k.ApiKey)
			if name == "" {
				name = "UNKNOWN"
			}
			versions := strconv.Itoa(int(k.MinVersion))
			if k.MaxVersion != k.MinVersion {
				versions += " to " + strconv.Itoa(int(k.MaxVersion))
			}
			usable := "NONE"
			if max, ok := ours.LookupMaxKeyVersion(k.ApiKey); ok && max >= k.MinVersion {
				usable = strconv.Itoa(int(min(max, k.MaxVersion)))
			}
			lines[i] = fmt.Sprintf("%s(%d): %s [usable: %s]", name, k.ApiKey, versions, usable)
		}
		fmt.Fprintf(e.stdout, "%s -> (\n\t%s\n)\n", node, strings.Join(lines, ",\n\t"))
	}
	return errors.Join(errs...)
}

// runGetOffsets prints topic:partition:offset for each partition, as
// kafka-get-offsets does.
func runGetOffsets(e *env, p *parsed) error {
	bs, err := bootstrap(p)
	if err != nil {
		return err
	}
	var re *regexp.Regexp
	if t := p.get("topic"); t != "" {
		if re, err = regexp.Compile("^(?:" + t + ")$"); err != nil {
			return fmt.Errorf("option --topic: %q is not a regular expression: %v", t, err)
		}
	}
	var parts map[int32]bool
	if s := p.get("partitions"); s != "" {
		parts = map[int32]bool{}
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 32)
			if err != nil || n < 0 {
				return fmt.Errorf("option --partitions: %q is not a partition id", f)
			}
			parts[int32(n)] = true
		}
	}
	cf := clientflags.Flags{BootstrapServer: bs, CommandConfig: e.commandConfig}
	adm, err := cf.NewAdmin()
	if err != nil {
		return err
	}
	defer adm.Close()
	details, err := adm.ListTopicsWithInternal(e.ctx)
	if err != nil {
		return fmt.Errorf("listing topics: %w", err)
	}
	if p.has("exclude-internal-topics") {
		details.FilterInternal()
	}
	var topics []string
	for _, td := range details {
		if re == nil || re.MatchString(td.Topic) {
			topics = append(topics, td.Topic)
		}
	}
	if len(topics) == 0 {
		return errors.New("Could not match any topic-partitions with the specified filters")
	}
	var listed kadm.ListedOffsets
	switch t := p.get("time"); t {
	case "", "-1", "latest":
		listed, err = adm.ListEndOffsets(e.ctx, topics...)
	case "-2", "earliest":
		listed, err = adm.ListStartOffsets(e.ctx, topics...)
	case "-3", "max-timestamp":
		listed, err = adm.ListMaxTimestampOffsets(e.ctx, topics...)
	default:
		ms, perr := strconv.ParseInt(t, 10, 64)
		if perr != nil || ms < 0 {
			return fmt.Errorf("option --time: %q: want -1, -2, -3, latest, earliest, max-timestamp or a timestamp in ms", t)
		}
		listed, err = adm.ListOffsetsAfterMilli(e.ctx, ms, topics...)
	}
	if err != nil {
		return fmt.Errorf("listing offsets: %w", err)
	}
	var errs []error
	matched := 0
	for _, o := range sortedOffsets(listed) {
		if parts != nil && !parts[o.Partition] {
			continue
		}
		matched++
		if o.Err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", o.Topic, o.Partition, o.Err))
			continue
		}
		fmt.Fprintf(e.stdout, "%s:%d:%d\n", o.Topic, o.Partition, o.Offset)
	}
	if matched == 0 {
		return errors.New("Could not match any topic-partitions with the specified filters")
	}
	return errors.Join(errs...)
}

func sortedOffsets(l kadm.ListedOffsets) []kadm.ListedOffset {
	var all []kadm.ListedOffset
	l.Each(func(o kadm.ListedOffset) { all = append(all, o) })
	sort.Slice(all, func(i, j int) bool {
		if all[i].Topic != all[j].Topic {
			return all[i].Topic < all[j].Topic
		}
		return all[i].Partition < all[j].Partition
	})
	return all
}
