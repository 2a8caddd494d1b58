package group

import (
	"bytes"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/gregorhq/gregor/internal/cli/internal/golden"
	"github.com/gregorhq/gregor/internal/cli/out"
)

// testLags is one group with two members and three partitions: one with a
// commit and a member, one with a member and no commit, one with a commit and
// no member.
func testLags() []kadm.DescribedGroupLag {
	m1 := kadm.DescribedGroupMember{MemberID: "c-1-aaa", ClientID: "c-1", ClientHost: "/127.0.0.1"}
	inst := "i-2"
	m2 := kadm.DescribedGroupMember{MemberID: "c-2-bbb", InstanceID: &inst, ClientID: "c-2", ClientHost: "/127.0.0.2"}
	lag := kadm.GroupLag{"orders": {
		0: {Member: &m1, Topic: "orders", Partition: 0, Commit: kadm.Offset{Topic: "orders", Partition: 0, At: 5}, End: kadm.ListedOffset{Offset: 9}, Lag: 4},
		1: {Member: &m2, Topic: "orders", Partition: 1, Commit: kadm.Offset{Topic: "orders", Partition: 1, At: -1}, End: kadm.ListedOffset{Offset: 3}, Lag: 3},
		2: {Topic: "orders", Partition: 2, Commit: kadm.Offset{Topic: "orders", Partition: 2, At: 7}, End: kadm.ListedOffset{Offset: 7}, Lag: 0},
	}}
	return []kadm.DescribedGroupLag{{
		Group:       "app",
		Coordinator: kadm.BrokerDetail{NodeID: 1, Host: "localhost", Port: 9092},
		State:       "Stable",
		Protocol:    "range",
		Members:     []kadm.DescribedGroupMember{m1, m2},
		Lag:         lag,
	}}
}

func TestDescribeOffsetsText(t *testing.T) {
	var b bytes.Buffer
	if err := writeOffsets(&b, out.Text, offsetRows(testLags())); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "describe_offsets.txt", b.Bytes())
}

func TestDescribeOffsetsJSON(t *testing.T) {
	var b bytes.Buffer
	if err := writeOffsets(&b, out.JSON, offsetRows(testLags())); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "describe_offsets.json", b.Bytes())
}

func TestDescribeMembersAndState(t *testing.T) {
	var b bytes.Buffer
	if err := writeMembers(&b, out.Text, memberRows(testLags(), nil), true); err != nil {
		t.Fatal(err)
	}
	if err := writeStates(&b, out.Text, stateRows(testLags())); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "describe_members_state.txt", b.Bytes())
}

func TestResetSpec(t *testing.T) {
	byTime := kadm.ListedOffsets{"t": {0: {Topic: "t", Partition: 0, Offset: 6}}}
	for _, tc := range []struct {
		name string
		spec resetSpec
		cur  int64
		want int64
		err  bool
	}{
		{"earliest", resetSpec{earliest: true}, 5, 2, false},
		{"latest", resetSpec{latest: true}, 5, 10, false},
		{"current", resetSpec{current: true}, 5, 5, false},
		{"current without commit", resetSpec{current: true}, -1, 0, true},
		{"to-offset", resetSpec{toOffsetSet: true, toOffset: 7}, 5, 7, false},
		{"to-offset below start is clamped", resetSpec{toOffsetSet: true, toOffset: 0}, 5, 2, false},
		{"to-offset past end is clamped", resetSpec{toOffsetSet: true, toOffset: 99}, 5, 10, false},
		{"shift back", resetSpec{shiftBySet: true, shiftBy: -2}, 5, 3, false},
		{"shift back past start", resetSpec{shiftBySet: true, shiftBy: -20}, 5, 2, false},
		{"shift without commit", resetSpec{shiftBySet: true, shiftBy: 1}, -1, 0, true},
		{"to-datetime", resetSpec{toDatetime: "x"}, 5, 6, false},
	} {
		got, err := tc.spec.newOffset(tc.cur, 2, 10, byTime, "t", 0)
		if (err != nil) != tc.err || (!tc.err && got != tc.want) {
			t.Errorf("%s: got %d, %v; want %d (error %v)", tc.name, got, err, tc.want, tc.err)
		}
	}
}

func TestParseDatetime(t *testing.T) {
	for _, s := range []string{"2026-01-02T15:04:05.123Z", "2026-01-02T15:04:05+01:00", "2026-01-02T15:04:05.000", "2026-01-02T15:04:05"} {
		if _, err := parseDatetime(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	got, _ := parseDatetime("2026-01-02T15:04:05.123+01:00")
	if want := time.Date(2026, 1, 2, 14, 4, 5, 123e6, time.UTC); !got.Equal(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := parseDatetime("yesterday"); err == nil {
		t.Error("bad datetime accepted")
	}
}

func TestResetOptionsValidate(t *testing.T) {
	ok := resetOptions{group: "g", topics: []string{"t"}, spec: resetSpec{earliest: true}}
	if err := ok.validate(); err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]resetOptions{
		"no group":          {topics: []string{"t"}, spec: resetSpec{earliest: true}},
		"no scope":          {group: "g", spec: resetSpec{earliest: true}},
		"two scopes":        {group: "g", topics: []string{"t"}, allTopics: true, spec: resetSpec{earliest: true}},
		"no target":         {group: "g", topics: []string{"t"}},
		"two targets":       {group: "g", topics: []string{"t"}, spec: resetSpec{earliest: true, latest: true}},
		"execute + dry run": {group: "g", topics: []string{"t"}, execute: true, dryRun: true, spec: resetSpec{earliest: true}},
		"negative offset":   {group: "g", topics: []string{"t"}, spec: resetSpec{toOffsetSet: true, toOffset: -1}},
		"bad datetime":      {group: "g", topics: []string{"t"}, spec: resetSpec{toDatetime: "soon"}},
	} {
		if err := o.validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParseTopicFlag(t *testing.T) {
	tp, err := parseTopicFlag("orders:0,2")
	if err != nil || tp.topic != "orders" || len(tp.partitions) != 2 || tp.partitions[1] != 2 {
		t.Fatalf("%+v %v", tp, err)
	}
	if tp, err := parseTopicFlag("orders"); err != nil || tp.partitions != nil {
		t.Fatalf("%+v %v", tp, err)
	}
	for _, bad := range []string{":1", "orders:x", "orders:-1"} {
		if _, err := parseTopicFlag(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
