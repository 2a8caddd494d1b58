package api

// Produce's transaction verification (KIP-890 part 1, transaction.partition.verification.enable):
// the first transactional batch of a producer's transaction in a partition is appended only
// once the transaction coordinator confirms that the partition is in the producer's ongoing
// transaction, which a client adds with AddPartitionsToTxn before producing to it. Later
// batches of the same transaction in that partition are not checked again: the partition's
// producer state, which holds the open transaction, is the cache (replica.StartTxnVerification).
//
// The coordinator's answer becomes the partition's error as Kafka's AddPartitionsToTxnManager
// and ReplicaManager make it:
//
//	partition not in the transaction   INVALID_TXN_STATE; TRANSACTION_ABORTABLE from Produce v11
//	                                   (clients that know it abort and carry on)
//	CONCURRENT_TRANSACTIONS, COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS
//	                                   NOT_ENOUGH_REPLICAS (retriable: the producer retries)
//	PRODUCER_FENCED                    INVALID_PRODUCER_EPOCH
//	INVALID_PRODUCER_ID_MAPPING        as it is
//
// The TxnVerifier finds the coordinator: this broker's own, or in a cluster the broker that
// leads the transactional id's __transaction_state partition, asked with AddPartitionsToTxn
// v4+ verify_only (internal/node). Only when no broker coordinates the id (NOT_COORDINATOR:
// __transaction_state does not exist yet) is the batch appended unchecked, as before KIP-890.

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/records"
	"github.com/gregorhq/gregor/internal/replica"
)

// TxnVerifier is the transaction coordinator's verify-only path (AddPartitionsToTxn with
// verify_only; *txn.Coordinator implements it): for each partition, nil when it is in the
// producer's ongoing transaction, INVALID_TXN_STATE when not; a producer that does not own
// the transactional id, or a coordinator that cannot answer, is one error for all.
type TxnVerifier interface {
	VerifyPartitions(transactionalID string, producerID int64, producerEpoch int16,
		partitions map[string][]int32) (map[string]map[int32]error, error)
}

// hasTransactionalBatch reports whether any partition of a Produce request carries a
// transactional batch (a batch that does not parse is refused later, per partition).
func hasTransactionalBatch(req *kmsg.ProduceRequest) bool {
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			if h, err := records.ParseHeader(p.Records); err == nil && h.Transactional() {
				return true
			}
		}
	}
	return false
}

// appendVerified verifies a transactional batch's partition with the coordinator, unless its
// transaction is already open there, and appends it.
func (h *Handlers) appendVerified(version int16, txnID string, p *replica.Partition, batch []byte, hdr records.Header) (replica.AppendResult, error) {
	g := p.StartTxnVerification(hdr.ProducerID, hdr.ProducerEpoch)
	if g != nil {
		if err := h.verifyTxnPartition(version, txnID, hdr, p.TP.Topic, p.TP.Partition); err != nil {
			p.AbandonTxnVerification(g)
			if errors.Is(err, errNotVerified) {
				return p.Append(batch, hdr)
			}
			return replica.AppendResult{}, err
		}
	}
	return p.AppendVerified(batch, hdr, g)
}

// errNotVerified means the coordinator is not on this broker: the batch goes unchecked.
var errNotVerified = errors.New("transaction coordinator not on this broker")

// verifyTxnPartition asks the coordinator and maps its answer to the Produce error.
func (h *Handlers) verifyTxnPartition(version int16, txnID string, hdr records.Header, topic string, partition int32) error {
	res, err := h.TxnVerifier.VerifyPartitions(txnID, hdr.ProducerID, hdr.ProducerEpoch, map[string][]int32{topic: {partition}})
	if err == nil {
		err = res[topic][partition]
	}
	var ke *kerr.Error
	if err == nil || !errors.As(err, &ke) {
		return err
	}
	switch ke.Code {
	case kerr.NotCoordinator.Code:
		return errNotVerified
	case kerr.InvalidTxnState.Code:
		code := kerr.InvalidTxnState
		if version >= 11 {
			code = kerr.TransactionAbortable
		}
		return &kafkaError{code, fmt.Sprintf("Partition %s-%d was not added to the transaction of producer %d", topic, partition, hdr.ProducerID)}
	case kerr.ConcurrentTransactions.Code, kerr.CoordinatorNotAvailable.Code, kerr.CoordinatorLoadInProgress.Code:
		return &kafkaError{kerr.NotEnoughReplicas, "transaction verification failed: " + ke.Message}
	case kerr.ProducerFenced.Code:
		return kerr.InvalidProducerEpoch
	}
	return err
}
