package share_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// shareOffset describes one share-partition's offsets of group.
func shareOffset(t *testing.T, adm *kadm.Client, group, topic string, partition int32) (kadm.ShareOffset, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := adm.DescribeShareGroupOffsets(ctx, group)
	if err != nil {
		t.Fatalf("describe share group offsets: %v", err)
	}
	if d[group].Err != nil {
		t.Fatalf("describe share group offsets of %s: %v", group, d[group].Err)
	}
	return d[group].Offsets.Lookup(topic, partition)
}

// waitStartOffset waits until the group's start offset of topic's partition 0 is want.
func waitStartOffset(t *testing.T, adm *kadm.Client, group, topic string, want int64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("start offset %d", want), 20*time.Second, func() bool {
		o, ok := shareOffset(t, adm, group, topic, 0)
		return ok && o.StartOffset == want
	})
}

// waitEmpty waits until the share group has no members.
func waitEmpty(t *testing.T, adm *kadm.Client, group string) {
	t.Helper()
	waitFor(t, group+" empty", 20*time.Second, func() bool {
		d, err := adm.DescribeShareGroups(context.Background(), group)
		return err == nil && d[group].Err == nil && d[group].GroupState == "Empty"
	})
}

// consumeAll polls cl, accepting every record, until it received want records; it returns
// the values in the order received.
func consumeAll(t *testing.T, cl *kgo.Client, want int) []int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got []int
	for len(got) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("received %v, want %d records", got, want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			v, _ := strconv.Atoi(string(r.Value))
			got = append(got, v)
		})
		cl.MarkAcks(kgo.AckAccept, fs.Records()...)
	}
	if err := cl.FlushAcks(ctx); err != nil {
		t.Fatal(err)
	}
	return got
}

// DescribeShareGroupOffsets shows the start offset and lag; AlterShareGroupOffsets is refused
// while the group has members and, once it is empty, restarts consumption at the new offset;
// DeleteShareGroupOffsets drops the share-partition's state.
func TestShareGroupOffsetsAdmin(t *testing.T) {
	n := shareNode(t)
	createTopic(t, n.Addr(), "reset", 1)
	prod := client(t, n.Addr())
	produce(t, prod, "reset", 0, 10)
	adm := kadm.NewClient(client(t, n.Addr()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	c1 := shareConsumer(t, n.Addr(), "rg", "reset")
	consumeAll(t, c1, 10)
	waitStartOffset(t, adm, "rg", "reset", 10)
	if o, _ := shareOffset(t, adm, "rg", "reset", 0); o.Lag != 0 || o.Err != nil {
		t.Fatalf("after consuming everything: %+v", o)
	}

	to3 := kadm.Offsets{}
	to3.Add(kadm.Offset{Topic: "reset", Partition: 0, At: 3})
	if _, err := adm.AlterShareGroupOffsets(ctx, "rg", to3); !errors.Is(err, kerr.NonEmptyGroup) {
		t.Fatalf("alter with a member: %v, want NON_EMPTY_GROUP", err)
	}
	if _, err := adm.DeleteShareGroupOffsets(ctx, "rg", "reset"); !errors.Is(err, kerr.NonEmptyGroup) {
		t.Fatalf("delete with a member: %v, want NON_EMPTY_GROUP", err)
	}
	c1.Close()
	waitEmpty(t, adm, "rg")

	res, err := adm.AlterShareGroupOffsets(ctx, "rg", to3)
	if err != nil || res.Error() != nil {
		t.Fatalf("alter: %v %v", err, res.Error())
	}
	if o, ok := shareOffset(t, adm, "rg", "reset", 0); !ok || o.StartOffset != 3 || o.Lag != 7 {
		t.Fatalf("after alter to 3: %+v", o)
	}
	gone := kadm.Offsets{}
	gone.Add(kadm.Offset{Topic: "nope", Partition: 0, At: 0})
	res, err = adm.AlterShareGroupOffsets(ctx, "rg", gone)
	if e, _ := res.Lookup("nope", 0); err != nil || !errors.Is(e, kerr.UnknownTopicOrPartition) {
		t.Fatalf("alter of an unknown topic: %v %v", err, e)
	}

	c2 := shareConsumer(t, n.Addr(), "rg", "reset")
	got := consumeAll(t, c2, 7)
	for _, v := range got {
		if v < 3 {
			t.Fatalf("after alter to 3, received %v", got)
		}
	}
	waitStartOffset(t, adm, "rg", "reset", 10)
	c2.Close()
	waitEmpty(t, adm, "rg")

	dres, err := adm.DeleteShareGroupOffsets(ctx, "rg", "reset")
	if err != nil || dres.Error() != nil {
		t.Fatalf("delete: %v %v", err, dres.Error())
	}
	if o, ok := shareOffset(t, adm, "rg", "reset", 0); ok {
		t.Fatalf("after delete: %+v", o)
	}
	// A partition named explicitly without state answers start offset -1.
	req := kmsg.NewPtrDescribeShareGroupOffsetsRequest()
	rg := kmsg.NewDescribeShareGroupOffsetsRequestGroup()
	rg.GroupID = "rg"
	rt := kmsg.NewDescribeShareGroupOffsetsRequestGroupTopic()
	rt.Topic, rt.Partitions = "reset", []int32{0}
	rg.Topics = append(rg.Topics, rt)
	req.Groups = append(req.Groups, rg)
	resp, err := req.RequestWith(ctx, client(t, n.Addr()))
	if err != nil || len(resp.Groups) != 1 || len(resp.Groups[0].Topics) != 1 || resp.Groups[0].Topics[0].Partitions[0].StartOffset != -1 {
		t.Fatalf("describe of a partition without state: %v %+v", err, resp)
	}

	d, err := adm.DescribeShareGroupOffsets(ctx, "nobody")
	if err != nil || !errors.Is(d["nobody"].Err, kerr.GroupIDNotFound) {
		t.Fatalf("describe of an unknown group: %v %+v", err, d)
	}
	if _, err := adm.AlterShareGroupOffsets(ctx, "nobody", to3); !errors.Is(err, kerr.GroupIDNotFound) {
		t.Fatalf("alter of an unknown group: %v", err)
	}
}

// getJSON GETs url and decodes its JSON body into v.
func getJSON(t *testing.T, url string, v any) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v %s", url, resp.StatusCode, err, body)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v in %s", url, err, body)
		}
	}
	return string(body)
}

// A share group holding unacknowledged records has lag: the high watermark minus its start
// offset, in /metrics, the Burrow API, Gregor's lag API and the console.
func TestShareGroupLag(t *testing.T) {
	n := shareNode(t)
	createTopic(t, n.Addr(), "lagt", 1)
	prod := client(t, n.Addr())
	produce(t, prod, "lagt", 0, 10)
	adm := kadm.NewClient(client(t, n.Addr()))

	// Accept records 0-4; records 5-9 are received but never acknowledged.
	cl := shareConsumer(t, n.Addr(), "lagging", "lagt")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	accepted := 0
	for accepted < 5 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("timed out consuming")
		}
		fs.EachRecord(func(r *kgo.Record) {
			if v, _ := strconv.Atoi(string(r.Value)); v < 5 {
				cl.MarkAcks(kgo.AckAccept, r)
				accepted++
			}
		})
	}
	if err := cl.FlushAcks(ctx); err != nil {
		t.Fatal(err)
	}
	waitStartOffset(t, adm, "lagging", "lagt", 5)
	if o, _ := shareOffset(t, adm, "lagging", "lagt", 0); o.Lag != 5 {
		t.Fatalf("describe lag: %+v", o)
	}

	metric := `kafka_consumergroup_lag{consumergroup="lagging",partition="0",topic="lagt"} 5`
	waitFor(t, "lag in /metrics", 10*time.Second, func() bool {
		return strings.Contains(getJSON(t, n.AdminURL()+"/metrics", nil), metric)
	})
	var burrow struct {
		Status struct {
			Group    string `json:"group"`
			TotalLag uint64 `json:"totallag"`
		} `json:"status"`
	}
	getJSON(t, n.AdminURL()+"/v3/kafka/local/consumer/lagging/lag", &burrow)
	if burrow.Status.Group != "lagging" || burrow.Status.TotalLag != 5 {
		t.Fatalf("Burrow lag: %+v", burrow)
	}
	var own struct {
		TotalLag   uint64 `json:"total_lag"`
		Partitions []struct {
			Topic string `json:"topic"`
			Lag   uint64 `json:"lag"`
		} `json:"partitions"`
	}
	getJSON(t, n.AdminURL()+"/api/v1/groups/lagging/lag", &own)
	if own.TotalLag != 5 || len(own.Partitions) != 1 || own.Partitions[0].Topic != "lagt" {
		t.Fatalf("Gregor lag: %+v", own)
	}
	var page struct {
		Type    string `json:"type"`
		State   string `json:"state"`
		Members []struct {
			Assignment []struct {
				Topic string `json:"topic"`
			} `json:"assignment"`
		} `json:"members"`
		Lag *struct {
			TotalLag uint64 `json:"total_lag"`
		} `json:"lag"`
	}
	getJSON(t, n.AdminURL()+"/api/v1/groups/lagging", &page)
	if page.Type != "share" || page.State != "Stable" || len(page.Members) != 1 || len(page.Members[0].Assignment) != 1 ||
		page.Lag == nil || page.Lag.TotalLag != 5 {
		t.Fatalf("console group page: %+v", page)
	}
}

// A share group survives a restart: it is listed and described, empty, at an epoch no
// smaller than before, with its start offsets; a member joining again moves the epoch
// forward.
func TestShareGroupAfterRestart(t *testing.T) {
	n := shareNode(t)
	createTopic(t, n.Addr(), "kept", 1)
	produce(t, client(t, n.Addr()), "kept", 0, 4)
	c1 := shareConsumer(t, n.Addr(), "stay", "kept")
	consumeAll(t, c1, 4)
	adm := kadm.NewClient(client(t, n.Addr()))
	waitStartOffset(t, adm, "stay", "kept", 4)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := adm.DescribeShareGroups(ctx, "stay")
	if err != nil || d["stay"].Err != nil {
		t.Fatalf("describe: %v %+v", err, d)
	}
	before := d["stay"].GroupEpoch
	c1.Close()
	waitEmpty(t, adm, "stay")

	n.Restart()
	adm = kadm.NewClient(client(t, n.Addr()))
	var listed kadm.ListedGroups
	waitFor(t, "the share group listed after the restart", 20*time.Second, func() bool {
		listed, err = adm.ListGroupsByType(ctx, []string{"share"})
		_, ok := listed["stay"]
		return err == nil && ok
	})
	d, err = adm.DescribeShareGroups(ctx, "stay")
	if err != nil || d["stay"].Err != nil || d["stay"].GroupState != "Empty" || d["stay"].GroupEpoch < before {
		t.Fatalf("after restart: %v %+v, epoch before %d", err, d["stay"], before)
	}
	restored := d["stay"].GroupEpoch
	if o, ok := shareOffset(t, adm, "stay", "kept", 0); !ok || o.StartOffset != 4 {
		t.Fatalf("start offset after restart: %+v %v", o, ok)
	}
	c2 := shareConsumer(t, n.Addr(), "stay", "kept")
	produce(t, client(t, n.Addr()), "kept", 4, 1)
	if got := consumeAll(t, c2, 1); got[0] != 4 {
		t.Fatalf("after restart, received %v", got)
	}
	d, err = adm.DescribeShareGroups(ctx, "stay")
	if err != nil || d["stay"].GroupEpoch <= restored {
		t.Fatalf("epoch after a join: %v %+v, restored %d", err, d["stay"], restored)
	}

	// A deleted share group stays deleted after a restart.
	c2.Close()
	waitEmpty(t, adm, "stay")
	if r, err := adm.DeleteGroup(ctx, "stay"); err != nil || r.Err != nil {
		t.Fatalf("delete group: %v %v", err, r.Err)
	}
	n.Restart()
	adm = kadm.NewClient(client(t, n.Addr()))
	waitFor(t, "groups listed after the second restart", 20*time.Second, func() bool {
		listed, err = adm.ListGroups(ctx)
		return err == nil
	})
	if _, ok := listed["stay"]; ok {
		t.Fatalf("deleted share group listed after a restart: %+v", listed)
	}
	// Its share-partition state went with it: a new group of that name starts afresh, at
	// the log start (group.share.auto.offset.reset=earliest).
	c3 := shareConsumer(t, n.Addr(), "stay", "kept")
	if got := consumeAll(t, c3, 5); len(got) != 5 {
		t.Fatalf("after the group's deletion, received %v", got)
	}
}
