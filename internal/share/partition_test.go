package share

import (
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

var testLimits = Limits{LockDuration: 2 * time.Second, DeliveryCountLimit: 3, MaxRecordLocks: 10}

func TestAcquireAcceptAdvancesStartOffset(t *testing.T) {
	now := time.Unix(0, 0)
	sp := NewSharePartition(5, testLimits)
	got := sp.Acquire(now, "a", 5, 9, false, 100)
	if len(got) != 1 || got[0] != (AcquiredRange{5, 9, 1}) {
		t.Fatalf("acquired %v", got)
	}
	// Nothing more to acquire in that range: all ACQUIRED.
	if again := sp.Acquire(now, "b", 5, 9, false, 100); len(again) != 0 {
		t.Fatalf("acquired twice: %v", again)
	}
	if _, err := sp.Acknowledge(now, "b", 5, 5, []int8{AckAccept}); !errors.Is(err, kerr.InvalidRecordState) {
		t.Fatalf("ack by another member: %v", err)
	}
	if _, err := sp.Acknowledge(now, "a", 6, 7, []int8{AckAccept}); err != nil {
		t.Fatal(err)
	}
	if sp.StartOffset() != 5 {
		t.Fatalf("start moved past an unacknowledged record: %d", sp.StartOffset())
	}
	if _, err := sp.Acknowledge(now, "a", 5, 5, []int8{AckAccept}); err != nil {
		t.Fatal(err)
	}
	if sp.StartOffset() != 8 {
		t.Fatalf("start %d, want 8", sp.StartOffset())
	}
}

func TestLockExpiryRedeliversAndLimitArchives(t *testing.T) {
	now := time.Unix(0, 0)
	sp := NewSharePartition(0, testLimits)
	for i := int16(1); i <= 3; i++ {
		got := sp.Acquire(now, "a", 0, 0, false, 1)
		if len(got) != 1 || got[0].DeliveryCount != i {
			t.Fatalf("delivery %d: %v", i, got)
		}
		if _, changed := sp.ExpireLocks(now.Add(time.Second)); changed {
			t.Fatal("lock expired early")
		}
		now = now.Add(testLimits.LockDuration)
		archived, changed := sp.ExpireLocks(now)
		if !changed {
			t.Fatal("lock did not expire")
		}
		if i < 3 {
			if st, _ := sp.State(0); st != Available || len(archived) != 0 {
				t.Fatalf("after expiry %d: %v %v", i, st, archived)
			}
		} else if len(archived) != 1 || archived[0].Reason != ReasonDeliveryLimit || archived[0].DeliveryCount != 3 {
			t.Fatalf("over the limit: %v", archived)
		}
	}
	if sp.StartOffset() != 1 {
		t.Fatalf("archived record not passed: start %d", sp.StartOffset())
	}
}

func TestReleaseRejectAndRecordLockBound(t *testing.T) {
	now := time.Unix(0, 0)
	sp := NewSharePartition(0, testLimits)
	if got := sp.Acquire(now, "a", 0, 99, false, 1000); len(got) != 1 || got[0].Last != 9 {
		t.Fatalf("max.record.locks not enforced: %v", got)
	}
	archived, err := sp.Acknowledge(now, "a", 0, 2, []int8{AckRelease, AckReject, AckAccept})
	if err != nil || len(archived) != 1 || archived[0] != (Archive{1, 1, ReasonRejected}) {
		t.Fatalf("archived %v err %v", archived, err)
	}
	if st, dc := sp.State(0); st != Available || dc != 1 {
		t.Fatalf("released: %v %d", st, dc)
	}
	if got := sp.Acquire(now, "b", 0, 10, false, 100); len(got) != 1 || got[0] != (AcquiredRange{0, 0, 2}) {
		t.Fatalf("redelivery: %v", got)
	}
	if got := sp.ReleaseMember("a"); len(got) != 0 {
		t.Fatalf("release member: %v", got)
	}
	if st, _ := sp.State(5); st != Available {
		t.Fatalf("member's records not released: %v", st)
	}
	if _, err := sp.Acknowledge(now, "a", 3, 4, []int8{1, 1, 1}); !errors.Is(err, kerr.InvalidRequest) {
		t.Fatalf("malformed batch: %v", err)
	}
}

func TestSnapshotRestore(t *testing.T) {
	now := time.Unix(0, 0)
	sp := NewSharePartition(0, testLimits)
	sp.Acquire(now, "a", 0, 5, false, 100)
	if _, err := sp.Acknowledge(now, "a", 0, 2, []int8{AckAccept}); err != nil {
		t.Fatal(err)
	}
	if _, err := sp.Acknowledge(now, "a", 4, 4, []int8{AckAccept}); err != nil {
		t.Fatal(err)
	}
	start, end, batches := sp.Snapshot()
	r := NewSharePartition(0, testLimits)
	r.Restore(start, end, batches)
	if r.StartOffset() != 3 || r.EndOffset() != 6 {
		t.Fatalf("restored window [%d, %d)", r.StartOffset(), r.EndOffset())
	}
	if st, dc := r.State(3); st != Available || dc != 1 {
		t.Fatalf("acquired record restored as %v/%d", st, dc)
	}
	if st, _ := r.State(4); st != Acknowledged {
		t.Fatalf("acknowledged record restored as %v", st)
	}
	if got := r.Acquire(now, "b", 3, 9, false, 100); len(got) != 3 || got[0] != (AcquiredRange{3, 3, 2}) || got[1] != (AcquiredRange{5, 5, 2}) {
		t.Fatalf("after restore: %v", got)
	}
}
