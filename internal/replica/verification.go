package replica

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/records"
)

// Transaction verification (KIP-890 part 1, Kafka's VerificationGuard): before the first
// transactional batch of a producer's transaction is appended to a partition, the broker asks
// the transaction coordinator whether the partition is in the producer's ongoing transaction,
// so that a late or stray batch cannot open a transaction the coordinator knows nothing of
// (a "hanging" transaction that would hold the last stable offset back for ever).
//
//	StartTxnVerification   nil when the producer already has its transaction open here with
//	                       that epoch (the producer state is the cache: only the first batch
//	                       of a transaction per partition asks); else a new guard
//	(the caller asks the coordinator, without locks)
//	AppendVerified         appends if the transaction is open here, or the guard is still the
//	                       producer's; INVALID_TXN_STATE otherwise
//
// A marker for the producer drops its guard: a transaction that ended while its partition was
// being verified does not get a batch appended after its marker.

// VerificationGuard stands for one verification of a producer's transaction in a partition,
// between StartTxnVerification and AppendVerified.
type VerificationGuard struct {
	producerID int64
	epoch      int16
}

// StartTxnVerification starts verifying a transactional batch of the producer at epoch: it
// returns nil when no verification is needed (the producer's transaction is already open in
// this partition at that epoch), else a guard to pass to AppendVerified once the coordinator
// has confirmed the partition (or to AbandonTxnVerification when it has not).
func (p *Partition) StartTxnVerification(producerID int64, epoch int16) *VerificationGuard {
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	if p.txnOpenLocked(producerID, epoch) {
		return nil
	}
	g := &VerificationGuard{producerID: producerID, epoch: epoch}
	if p.verifying == nil {
		p.verifying = map[int64]*VerificationGuard{}
	}
	p.verifying[producerID] = g
	return g
}

// AbandonTxnVerification drops a guard whose verification failed.
func (p *Partition) AbandonTxnVerification(g *VerificationGuard) {
	if g == nil {
		return
	}
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	if p.verifying[g.producerID] == g {
		delete(p.verifying, g.producerID)
	}
}

// AppendVerified is Append for a batch whose transaction was verified: g is what
// StartTxnVerification returned. A transactional batch is appended only if the producer's
// transaction is open in this partition at the batch's epoch, or g is still the producer's
// guard (no marker came in between); otherwise INVALID_TXN_STATE.
func (p *Partition) AppendVerified(batch []byte, h records.Header, g *VerificationGuard) (AppendResult, error) {
	return p.append(batch, h, true, g)
}

// checkVerifiedLocked is AppendVerified's check of a transactional batch. The caller holds
// appendMu.
func (p *Partition) checkVerifiedLocked(h records.Header, g *VerificationGuard) error {
	if !h.Transactional() || p.txnOpenLocked(h.ProducerID, h.ProducerEpoch) {
		return nil
	}
	if g != nil && p.verifying[h.ProducerID] == g && g.epoch == h.ProducerEpoch {
		return nil
	}
	return fmt.Errorf("the transaction of producer %d epoch %d is not open in %s-%d (it ended while the partition was verified): %w",
		h.ProducerID, h.ProducerEpoch, p.TP.Topic, p.TP.Partition, kerr.InvalidTxnState)
}

// txnOpenLocked reports whether the producer has a transaction open in this partition at
// epoch. The caller holds appendMu.
func (p *Partition) txnOpenLocked(producerID int64, epoch int16) bool {
	e := p.producers.producers[producerID]
	return e != nil && e.CurrentTxnFirstOffset >= 0 && e.Epoch == epoch
}
