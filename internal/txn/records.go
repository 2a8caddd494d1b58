package txn

import (
	"encoding/binary"
	"errors"
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorhq/gregor/internal/records"
)

// Record versions Gregor writes (see the package comment).
const (
	txnKeyVersion   = 0
	txnValueVersion = 0
)

// txnRecord is the record of a transactional id's state; a nil m is a tombstone.
func txnRecord(id string, m *txnMetadata) records.Record {
	k := kmsg.NewTxnMetadataKey()
	k.Version = txnKeyVersion
	k.TransactionalID = id
	rec := records.Record{Key: k.AppendTo(nil)}
	if m != nil {
		v := m.value()
		rec.Value = v.AppendTo(nil)
	}
	return rec
}

// value is m as the TransactionLogValue Kafka writes: partitions sorted, so the same state
// always encodes to the same bytes.
func (m *txnMetadata) value() kmsg.TxnMetadataValue {
	v := kmsg.NewTxnMetadataValue()
	v.Version = txnValueVersion
	v.ProducerID, v.ProducerEpoch, v.TimeoutMillis = m.producerID, m.epoch, m.timeoutMs
	v.State = m.state
	v.LastUpdateTimestamp, v.StartTimestamp = m.lastUpdateMs, m.startMs
	v.PreviousProducerID = m.prevProducerID
	for _, topic := range sortedKeys(m.partitions) {
		t := kmsg.NewTxnMetadataValueTopic()
		t.Topic = topic
		for p := range m.partitions[topic] {
			t.Partitions = append(t.Partitions, p)
		}
		sort.Slice(t.Partitions, func(i, j int) bool { return t.Partitions[i] < t.Partitions[j] })
		v.Topics = append(v.Topics, t)
	}
	return v
}

// maxTxnState is the highest state Kafka defines (PrepareEpochFence).
const maxTxnState = 7

// decodeTxnRecord decodes a __transaction_state record: the transactional id and its state,
// nil for a tombstone. Bytes that do not decode, or a key or value of a version this
// coordinator does not know, are an error: replay skips the record.
func decodeTxnRecord(key, value []byte) (string, *txnMetadata, error) {
	if len(key) < 2 {
		return "", nil, errors.New("txn: record key shorter than its version")
	}
	if binary.BigEndian.Uint16(key) != txnKeyVersion {
		return "", nil, errors.New("txn: unknown record key version")
	}
	k := kmsg.NewTxnMetadataKey()
	if err := k.ReadFrom(key); err != nil {
		return "", nil, err
	}
	if value == nil {
		return k.TransactionalID, nil, nil
	}
	m, err := decodeTxnLogValue(value)
	if err != nil {
		return "", nil, err
	}
	m.id = k.TransactionalID
	return k.TransactionalID, m, nil
}

// decodeTxnLogValue decodes a TransactionLogValue (version 0 or 1).
func decodeTxnLogValue(value []byte) (*txnMetadata, error) {
	if len(value) < 2 {
		return nil, errors.New("txn: record value shorter than its version")
	}
	if version := int16(binary.BigEndian.Uint16(value)); version < 0 || version > 1 {
		return nil, errors.New("txn: unknown record value version")
	}
	v := kmsg.NewTxnMetadataValue()
	if err := v.ReadFrom(value); err != nil {
		return nil, err
	}
	if v.State < 0 || v.State > maxTxnState {
		return nil, errors.New("txn: unknown transaction state")
	}
	m := &txnMetadata{
		producerID:     v.ProducerID,
		prevProducerID: v.PreviousProducerID,
		epoch:          v.ProducerEpoch,
		lastEpoch:      -1,
		timeoutMs:      v.TimeoutMillis,
		state:          v.State,
		startMs:        v.StartTimestamp,
		lastUpdateMs:   v.LastUpdateTimestamp,
		partitions:     map[string]map[int32]bool{},
	}
	for _, t := range v.Topics {
		for _, p := range t.Partitions {
			m.addPartition(t.Topic, p)
		}
	}
	return m, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
