package consume

import (
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorhq/gregor/internal/cli/property"
)

// formatterProperties are the --property keys of Kafka's
// DefaultMessageFormatter that consume understands.
var formatterProperties = []string{
	"print.timestamp", "print.partition", "print.offset", "print.headers", "print.key", "print.value",
	"key.separator", "line.separator", "headers.separator", "null.literal",
}

// formatter prints records as kafka-console-consumer's DefaultMessageFormatter
// does: the enabled fields in the order timestamp, partition, offset,
// headers, key, value, separated by keySeparator, ending with lineSeparator.
type formatter struct {
	printTimestamp, printPartition, printOffset, printHeaders, printKey, printValue bool

	keySeparator     string // between fields; default "\t"
	lineSeparator    string // after each record; default "\n"
	headersSeparator string // between headers; default ","
	nullLiteral      string // printed for a null key, value or header value; default "null"
}

// newFormatter configures a formatter from --property key=value flags.
func newFormatter(props []string) (*formatter, error) {
	m, err := property.Parse("property", props, formatterProperties)
	if err != nil {
		return nil, err
	}
	f := &formatter{
		keySeparator:     property.String(m, "key.separator", "\t"),
		lineSeparator:    property.String(m, "line.separator", "\n"),
		headersSeparator: property.String(m, "headers.separator", ","),
		nullLiteral:      property.String(m, "null.literal", "null"),
	}
	bools := []struct {
		key string
		dst *bool
		def bool
	}{
		{"print.timestamp", &f.printTimestamp, false},
		{"print.partition", &f.printPartition, false},
		{"print.offset", &f.printOffset, false},
		{"print.headers", &f.printHeaders, false},
		{"print.key", &f.printKey, false},
		{"print.value", &f.printValue, true},
	}
	for _, b := range bools {
		if *b.dst, err = property.Bool(m, b.key, b.def); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// appendRecord appends r, formatted, to dst.
func (f *formatter) appendRecord(dst []byte, r *kgo.Record) []byte {
	// sep ends a field: keySeparator when another field follows, else
	// lineSeparator, exactly as Kafka's writeSeparator.
	sep := func(dst []byte, more bool) []byte {
		if more {
			return append(dst, f.keySeparator...)
		}
		return append(dst, f.lineSeparator...)
	}
	if f.printTimestamp {
		switch r.Attrs.TimestampType() {
		case 0:
			dst = append(dst, "CreateTime:"...)
			dst = strconv.AppendInt(dst, r.Timestamp.UnixMilli(), 10)
		case 1:
			dst = append(dst, "LogAppendTime:"...)
			dst = strconv.AppendInt(dst, r.Timestamp.UnixMilli(), 10)
		default:
			dst = append(dst, "NO_TIMESTAMP"...)
		}
		dst = sep(dst, f.printPartition || f.printOffset || f.printHeaders || f.printKey || f.printValue)
	}
	if f.printPartition {
		dst = append(dst, "Partition:"...)
		dst = strconv.AppendInt(dst, int64(r.Partition), 10)
		dst = sep(dst, f.printOffset || f.printHeaders || f.printKey || f.printValue)
	}
	if f.printOffset {
		dst = append(dst, "Offset:"...)
		dst = strconv.AppendInt(dst, r.Offset, 10)
		dst = sep(dst, f.printHeaders || f.printKey || f.printValue)
	}
	if f.printHeaders {
		if len(r.Headers) == 0 {
			dst = append(dst, "NO_HEADERS"...)
		}
		for i, h := range r.Headers {
			if i > 0 {
				dst = append(dst, f.headersSeparator...)
			}
			dst = append(dst, h.Key...)
			dst = append(dst, ':')
			dst = f.appendBytes(dst, h.Value)
		}
		dst = sep(dst, f.printKey || f.printValue)
	}
	if f.printKey {
		dst = f.appendBytes(dst, r.Key)
		dst = sep(dst, f.printValue)
	}
	if f.printValue {
		dst = f.appendBytes(dst, r.Value)
		dst = append(dst, f.lineSeparator...)
	}
	return dst
}

// appendBytes appends b, or the null literal when b is nil (null).
func (f *formatter) appendBytes(dst, b []byte) []byte {
	if b == nil {
		return append(dst, f.nullLiteral...)
	}
	return append(dst, b...)
}
