package records

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// The decoders of the internal topics' records for kafka-dump-log: --offsets-decoder prints a
// __consumer_offsets record as Kafka's tool does, key and value as one-line JSON documents
// whose fields are the message schema's, in its order, for the record's version:
//
//	key: {"type":"1","data":{"group":"g","topic":"t","partition":0}}
//	payload: {"version":"3","data":{"offset":5,"leaderEpoch":0,"metadata":"","commitTimestamp":1700000000000}}
//
// and --transaction-log-decoder prints a __transaction_state record as Kafka's
// TransactionLog.formatRecordKeyAndValue does. A tombstone's payload is <DELETE>. The bytes
// are decoded with kmsg, the same types the coordinators write them with.

// field is one field of a JSON object whose order matters.
type field struct {
	name  string
	value any
}

// object is a JSON object that keeps its fields in order, as Kafka's JSON converters write
// them.
type object []field

// MarshalJSON implements json.Marshaler.
func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.name)
		b.Write(k)
		b.WriteByte(':')
		v, err := compactJSON(f.value)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// compactJSON is v as one line of JSON, with <, > and & left as they are.
func compactJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// jsonString is v's compact JSON as a string.
func jsonString(v any) string {
	b, err := compactJSON(v)
	if err != nil {
		return fmt.Sprintf("%q", err.Error())
	}
	return string(b)
}

// nullableBytes is bytes as Kafka's JSON converters write them: base64, or null.
func nullableBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return base64.StdEncoding.EncodeToString(b)
}

// offsetsRecord is the key and payload text of a __consumer_offsets record.
func offsetsRecord(offset int64, key, value []byte) (*string, *string) {
	skip := func(err error) (*string, *string) {
		return ptr(fmt.Sprintf("Error at offset %d, skipping. %v", offset, err)), nil
	}
	if key == nil {
		return skip(fmt.Errorf("the record has no key"))
	}
	if len(key) < 2 {
		return skip(fmt.Errorf("the key is %d bytes, shorter than its version", len(key)))
	}
	typ := int16(binary.BigEndian.Uint16(key))
	var k, v any
	switch typ {
	case 0, 1:
		ok := kmsg.NewOffsetCommitKey()
		if err := ok.ReadFrom(key); err != nil {
			return skip(err)
		}
		k = object{{"group", ok.Group}, {"topic", ok.Topic}, {"partition", ok.Partition}}
		if value != nil {
			ov := kmsg.NewOffsetCommitValue()
			if err := ov.ReadFrom(value); err != nil {
				return skip(err)
			}
			v = versioned(ov.Version, offsetCommitValueJSON(&ov))
		}
	case 2:
		gk := kmsg.NewGroupMetadataKey()
		if err := gk.ReadFrom(key); err != nil {
			return skip(err)
		}
		k = object{{"group", gk.Group}}
		if value != nil {
			gv := kmsg.NewGroupMetadataValue()
			if err := gv.ReadFrom(value); err != nil {
				return skip(err)
			}
			v = versioned(gv.Version, groupMetadataValueJSON(&gv))
		}
	default:
		return ptr(fmt.Sprintf("Unknown record type %d at offset %d, skipping.", typ, offset)), nil
	}
	keyText := jsonString(object{{"type", strconv.Itoa(int(typ))}, {"data", k}})
	payload := "<DELETE>"
	if v != nil {
		payload = jsonString(v)
	}
	return &keyText, &payload
}

// versioned wraps a value's JSON with its version, as Kafka's tool prints values.
func versioned(version int16, data object) object {
	return object{{"version", strconv.Itoa(int(version))}, {"data", data}}
}

func offsetCommitValueJSON(v *kmsg.OffsetCommitValue) object {
	o := object{{"offset", v.Offset}}
	if v.Version >= 3 {
		o = append(o, field{"leaderEpoch", v.LeaderEpoch})
	}
	o = append(o, field{"metadata", v.Metadata}, field{"commitTimestamp", v.CommitTimestamp})
	if v.Version == 1 {
		o = append(o, field{"expireTimestamp", v.ExpireTimestamp})
	}
	return o
}

func groupMetadataValueJSON(v *kmsg.GroupMetadataValue) object {
	o := object{{"protocolType", v.ProtocolType}, {"generation", v.Generation}, {"protocol", v.Protocol}, {"leader", v.Leader}}
	if v.Version >= 2 {
		o = append(o, field{"currentStateTimestamp", v.CurrentStateTimestamp})
	}
	members := make([]object, 0, len(v.Members))
	for _, m := range v.Members {
		mo := object{{"memberId", m.MemberID}}
		if v.Version >= 3 {
			mo = append(mo, field{"groupInstanceId", m.InstanceID})
		}
		mo = append(mo, field{"clientId", m.ClientID}, field{"clientHost", m.ClientHost})
		if v.Version >= 1 {
			mo = append(mo, field{"rebalanceTimeout", m.RebalanceTimeoutMillis})
		}
		mo = append(mo, field{"sessionTimeout", m.SessionTimeoutMillis})
		var sub, asg any = nullableBytes(m.Subscription), nullableBytes(m.Assignment)
		// The consumer protocol's subscription and assignment are shown decoded, as Kafka
		// shows them; bytes that do not decode stay base64.
		if v.ProtocolType == "consumer" {
			if s, ok := subscriptionJSON(m.Subscription); ok {
				sub = s
			}
			if a, ok := assignmentJSON(m.Assignment); ok {
				asg = a
			}
		}
		members = append(members, append(mo, field{"subscription", sub}, field{"assignment", asg}))
	}
	return append(o, field{"members", members})
}

func subscriptionJSON(b []byte) (object, bool) {
	var s kmsg.ConsumerMemberMetadata
	if len(b) == 0 || s.ReadFrom(b) != nil {
		return nil, false
	}
	topics := s.Topics
	if topics == nil {
		topics = []string{}
	}
	o := object{{"topics", topics}, {"userData", nullableBytes(s.UserData)}}
	if s.Version >= 1 {
		owned := make([]object, 0, len(s.OwnedPartitions))
		for _, p := range s.OwnedPartitions {
			owned = append(owned, object{{"topic", p.Topic}, {"partitions", int32s(p.Partitions)}})
		}
		o = append(o, field{"ownedPartitions", owned})
	}
	if s.Version >= 2 {
		o = append(o, field{"generationId", s.Generation})
	}
	if s.Version >= 3 {
		o = append(o, field{"rackId", s.Rack})
	}
	return o, true
}

func assignmentJSON(b []byte) (object, bool) {
	var a kmsg.ConsumerMemberAssignment
	if len(b) == 0 || a.ReadFrom(b) != nil {
		return nil, false
	}
	assigned := make([]object, 0, len(a.Topics))
	for _, t := range a.Topics {
		assigned = append(assigned, object{{"topic", t.Topic}, {"partitions", int32s(t.Partitions)}})
	}
	return object{{"assignedPartitions", assigned}, {"userData", nullableBytes(a.UserData)}}, true
}

func int32s(p []int32) []int32 {
	if p == nil {
		return []int32{}
	}
	return p
}

// transactionLogRecord is the key and payload text of a __transaction_state record.
func transactionLogRecord(offset int64, key, value []byte) (*string, *string) {
	skip := func(err error) (*string, *string) {
		return ptr(fmt.Sprintf("Error at offset %d, skipping. %v", offset, err)), nil
	}
	if len(key) < 2 {
		return skip(fmt.Errorf("the key is %d bytes, shorter than its version", len(key)))
	}
	if version := int16(binary.BigEndian.Uint16(key)); version != 0 {
		return ptr(fmt.Sprintf("unknown::version=%d", version)), nil
	}
	k := kmsg.NewTxnMetadataKey()
	if err := k.ReadFrom(key); err != nil {
		return skip(err)
	}
	keyText := "transaction_metadata::transactionalId=" + k.TransactionalID
	if value == nil {
		return &keyText, ptr("<DELETE>")
	}
	v := kmsg.NewTxnMetadataValue()
	if err := v.ReadFrom(value); err != nil {
		return skip(err)
	}
	var parts []string
	for _, t := range v.Topics {
		for _, p := range t.Partitions {
			parts = append(parts, t.Topic+"-"+strconv.Itoa(int(p)))
		}
	}
	payload := fmt.Sprintf("producerId:%d,producerEpoch:%d,state=%s,partitions=[%s],txnLastUpdateTimestamp=%d,txnTimeoutMs=%d",
		v.ProducerID, v.ProducerEpoch, v.State, strings.Join(parts, ","), v.LastUpdateTimestamp, v.TimeoutMillis)
	return &keyText, &payload
}
