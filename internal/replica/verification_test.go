package replica

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/storage"
)

// TestTxnVerificationGuard: only the first batch of a transaction in a partition needs
// verifying; a marker that ends the transaction while its partition is being verified makes
// the verified batch INVALID_TXN_STATE instead of opening a transaction nobody will end.
func TestTxnVerificationGuard(t *testing.T) {
	_, p := testManager(t, storage.NewMemFS(), nil)

	g := p.StartTxnVerification(1, 0)
	if g == nil {
		t.Fatal("the first batch of a transaction needs no verification")
	}
	raw, h := txnBatch(1, 0, 0, 2)
	if _, err := p.AppendVerified(raw, h, g); err != nil {
		t.Fatalf("verified append: %v", err)
	}
	if g := p.StartTxnVerification(1, 0); g != nil {
		t.Fatal("a second batch of an open transaction asks the coordinator again")
	}
	raw, h = txnBatch(1, 0, 2, 1)
	if _, err := p.AppendVerified(raw, h, nil); err != nil {
		t.Fatalf("append to the open transaction: %v", err)
	}
	if g := p.StartTxnVerification(1, 1); g == nil {
		t.Fatal("a newer epoch needs verifying")
	}

	// The transaction ends; a batch that arrives after, without verification, is refused.
	writeMarker(t, p, 1, 0, true)
	raw, h = txnBatch(1, 0, 3, 1)
	if _, err := p.AppendVerified(raw, h, nil); !errors.Is(err, kerr.InvalidTxnState) {
		t.Fatalf("unverified batch after the marker: %v, want INVALID_TXN_STATE", err)
	}

	// A marker lands between the verification and the append.
	g = p.StartTxnVerification(1, 0)
	writeMarker(t, p, 1, 0, false)
	end := p.LogEndOffset()
	if _, err := p.AppendVerified(raw, h, g); !errors.Is(err, kerr.InvalidTxnState) {
		t.Fatalf("batch verified before a marker: %v, want INVALID_TXN_STATE", err)
	}
	if p.LogEndOffset() != end || p.LastStableOffset() != p.HighWatermark() {
		t.Fatal("a refused batch was appended or opened a transaction")
	}

	// An abandoned verification leaves nothing behind.
	g = p.StartTxnVerification(2, 0)
	p.AbandonTxnVerification(g)
	raw, h = txnBatch(2, 0, 0, 1)
	if _, err := p.AppendVerified(raw, h, g); !errors.Is(err, kerr.InvalidTxnState) {
		t.Fatalf("append with an abandoned guard: %v", err)
	}
}
