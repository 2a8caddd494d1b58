package metadata

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// On-disk formats.
//
// One Raft log entry holds one batch of records, applied atomically:
//
//	+--------+---------------------------------------------------------------+
//	| format | JSON array of envelopes                                       |
//	| 1 byte | [{"type":"topic","v":0,"data":{"name":"a","topicId":"..."}}, …] |
//	+--------+---------------------------------------------------------------+
//
// format is batchFormatJSON (1). A later, binary encoding would take another format byte, and
// decoders keep reading the old one.
//
// A snapshot is one JSON object: {"format":1,"offset":N,"records":[envelopes]}. Its records,
// applied to Empty(), rebuild the image (as Kafka's snapshots are record batches too).

const batchFormatJSON byte = 1

const snapshotFormat = 1

type envelope struct {
	Type    RecordType      `json:"type"`
	Version int16           `json:"v"`
	Data    json.RawMessage `json:"data"`
}

// recordCodec is what the codec knows about one record type: the newest version it writes and
// reads, and how to decode the data.
type recordCodec struct {
	version int16
	decode  func([]byte) (Record, error)
}

func decodeAs[T Record](b []byte) (Record, error) {
	var r T
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return r, nil
}

var codecs = map[RecordType]recordCodec{
	RecordCluster:         {0, decodeAs[ClusterRecord]},
	RecordLeaderChange:    {0, decodeAs[LeaderChangeRecord]},
	RecordBroker:          {0, decodeAs[BrokerRecord]},
	RecordTopic:           {0, decodeAs[TopicRecord]},
	RecordPartition:       {0, decodeAs[PartitionRecord]},
	RecordPartitionChange: {0, decodeAs[PartitionChangeRecord]},
	RecordConfig:          {0, decodeAs[ConfigRecord]},
	RecordRemoveTopic:     {0, decodeAs[RemoveTopicRecord]},
	RecordProducerIDs:     {0, decodeAs[ProducerIDsRecord]},

	RecordUserScramCredential:       {0, decodeAs[UserScramCredentialRecord]},
	RecordRemoveUserScramCredential: {0, decodeAs[RemoveUserScramCredentialRecord]},

	RecordAccessControlEntry:       {0, decodeAs[AccessControlEntryRecord]},
	RecordRemoveAccessControlEntry: {0, decodeAs[RemoveAccessControlEntryRecord]},
	RecordClientQuota:              {0, decodeAs[ClientQuotaRecord]},
}

func encodeEnvelopes(recs []Record) ([]envelope, error) {
	envs := make([]envelope, len(recs))
	for i, r := range recs {
		if r == nil {
			return nil, errors.New("metadata: nil record")
		}
		c, ok := codecs[r.Type()]
		if !ok {
			return nil, fmt.Errorf("metadata: record type %q has no codec", r.Type())
		}
		data, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("metadata: encoding %s record: %w", r.Type(), err)
		}
		envs[i] = envelope{Type: r.Type(), Version: c.version, Data: data}
	}
	return envs, nil
}

func decodeEnvelopes(envs []envelope) ([]Record, error) {
	recs := make([]Record, len(envs))
	for i, e := range envs {
		c, ok := codecs[e.Type]
		if !ok {
			return nil, fmt.Errorf("metadata: record %d: unknown record type %q", i, e.Type)
		}
		if e.Version < 0 || e.Version > c.version {
			return nil, fmt.Errorf("metadata: record %d: %s record version %d is not supported (newest known: %d)",
				i, e.Type, e.Version, c.version)
		}
		if len(e.Data) == 0 {
			return nil, fmt.Errorf("metadata: record %d: %s record has no data", i, e.Type)
		}
		r, err := c.decode(e.Data)
		if err != nil {
			return nil, fmt.Errorf("metadata: record %d: decoding %s record: %w", i, e.Type, err)
		}
		recs[i] = r
	}
	return recs, nil
}

// EncodeBatch encodes records as one Raft log entry.
func EncodeBatch(recs []Record) ([]byte, error) {
	envs, err := encodeEnvelopes(recs)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(envs)
	if err != nil {
		return nil, err
	}
	return append([]byte{batchFormatJSON}, body...), nil
}

// DecodeBatch decodes a Raft log entry written by EncodeBatch. It returns an error, never
// panics, on bytes it does not understand.
func DecodeBatch(b []byte) ([]Record, error) {
	if len(b) == 0 {
		return nil, errors.New("metadata: empty batch")
	}
	if b[0] != batchFormatJSON {
		return nil, fmt.Errorf("metadata: unknown batch format %d", b[0])
	}
	var envs []envelope
	if err := json.Unmarshal(b[1:], &envs); err != nil {
		return nil, fmt.Errorf("metadata: decoding batch: %w", err)
	}
	return decodeEnvelopes(envs)
}

type snapshotFile struct {
	Format  int        `json:"format"`
	Offset  uint64     `json:"offset"`
	Records []envelope `json:"records"`
}

// WriteSnapshot writes the whole image, as records that rebuild it, to w.
func (img *Image) WriteSnapshot(w io.Writer) error {
	envs, err := encodeEnvelopes(img.Records())
	if err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(snapshotFile{Format: snapshotFormat, Offset: img.Offset, Records: envs})
}

// ReadSnapshot reads what WriteSnapshot writes, checking every invariant Apply checks.
func ReadSnapshot(r io.Reader) (*Image, error) {
	var f snapshotFile
	if err := json.NewDecoder(r).Decode(&f); err != nil {
		return nil, fmt.Errorf("metadata: decoding snapshot: %w", err)
	}
	if f.Format != snapshotFormat {
		return nil, fmt.Errorf("metadata: unknown snapshot format %d", f.Format)
	}
	recs, err := decodeEnvelopes(f.Records)
	if err != nil {
		return nil, err
	}
	// At the snapshot's offset: a broker record of an older snapshot, without an epoch, gets
	// that offset as its epoch.
	img, err := Empty().ApplyAt(recs, f.Offset)
	if err != nil {
		return nil, fmt.Errorf("metadata: replaying snapshot: %w", err)
	}
	return img, nil
}
